// The Django app's environment, matching the seeds' settings: one typed spec → (a) the env file
// of non-secret values (read by podman `EnvironmentFile=`), (b) the podman secrets the app gets
// as environment variables (`Secret=name,type=env,target=VAR`).
//
// Secrets are NEVER values here: the spec names which podman secret feeds which variable, and the
// value lives only in podman's secret store. URLs therefore carry no password; the settings module
// reads DB_PASSWORD / REDIS_PASSWORD and combines them (the seeds' settings do the same).
//
// The Celery URLs are SENEX_CELERY_BROKER_URL / SENEX_CELERY_RESULT_BACKEND, never Celery's own
// CELERY_BROKER_URL / CELERY_RESULT_BACKEND: Celery reads those two from the environment before
// its configuration (celery.app.utils.Settings), so a password-less URL there would win over the
// complete one the settings module builds.
//
// The file is read by podman's --env-file parser, which takes every byte after `=` literally (no
// quote removal), while systemd's EnvironmentFile= does strip quotes. A value that would read
// differently in the two parsers (quotes, whitespace, `#`, backslash, `$`) is rejected rather
// than quoted.

import { secretText, type SecretRef } from "./quadlet";

/** Where Redis is reached: one address, or Sentinel (phase 3). */
export type RedisEndpoint =
  | { readonly mode: "direct"; /** Private address of the Redis host. */ readonly host: string }
  | {
      readonly mode: "sentinel";
      /** `address` of every Sentinel (port 26379). */
      readonly sentinels: readonly string[];
      /** Sentinel master name of the broker instance (6379). */
      readonly brokerMaster: string;
      /** Sentinel master name of the cache instance (6380). */
      readonly cacheMaster: string;
    };

/** Where the database is reached. */
export type DatabaseEndpoint =
  /** Phase 1: PostgreSQL directly on 5432. */
  | { readonly mode: "direct"; readonly host: string }
  /** Phases 2–3: through PgBouncer on 6432 (transaction pooling: no server-side cursors). */
  | { readonly mode: "pgbouncer"; readonly host: string };

/** The app's environment. */
export interface AppEnvSpec {
  /** Public domain, e.g. `senextrader.com`; `www.` is allowed too. */
  readonly domain: string;
  /** Django settings module, e.g. `senextrader.settings.production`. */
  readonly settingsModule: string;
  /** Database name and user (the password is the `senex-db-app-password` secret). */
  readonly database: { readonly name: string; readonly user: string; readonly endpoint: DatabaseEndpoint; /** libpq sslmode (default `require`). */ readonly sslmode?: "disable" | "require" | "verify-ca" | "verify-full" };
  /** Redis endpoints (broker 6379: channels DB1, celery DB2, results DB3; cache 6380: DB0). */
  readonly redis: RedisEndpoint;
  /** Directory collectstatic writes to and nginx serves (a shared volume). */
  readonly staticRoot: string;
  /** Directory of uploaded files (MEDIA_ROOT; a volume of the app containers). */
  readonly mediaRoot?: string;
  /** Extra hosts allowed besides the domain and www (e.g. the web host's private address for health checks). */
  readonly extraAllowedHosts?: readonly string[];
  /** Extra non-secret variables (validated like the rest). */
  readonly extra?: Readonly<Record<string, string>>;
}

/** Which podman secret feeds which environment variable. Names are the deployment's fixed secret names. */
export const APP_SECRET_ENV: readonly { readonly name: string; readonly variable: string }[] = [
  { name: "senex-django-secret-key", variable: "SECRET_KEY" },
  { name: "senex-field-encryption-key", variable: "FIELD_ENCRYPTION_KEY" },
  { name: "senex-db-app-password", variable: "DB_PASSWORD" },
  { name: "senex-redis-password", variable: "REDIS_PASSWORD" },
  { name: "senex-tastytrade-client-id", variable: "TASTYTRADE_CLIENT_ID" },
  { name: "senex-tastytrade-client-secret", variable: "TASTYTRADE_CLIENT_SECRET" },
];

/** The `Secret=` references every app container (daphne, celery, migrate, collectstatic) gets. */
export function appSecretRefs(): SecretRef[] {
  return APP_SECRET_ENV.map(({ name, variable }) => ({ name, type: "env", target: variable }));
}

/** The `Secret=` lines as the app's Quadlets carry them (for the plan's display), from the given refs. */
export function renderAppSecretLines(refs: readonly SecretRef[] = appSecretRefs()): string {
  return refs.map((ref) => `Secret=${secretText(ref)}`).join("\n") + "\n";
}

/** Variables Celery takes from the environment over its configuration (celery.app.utils.Settings). */
export const CELERY_ENV_OVERRIDES: ReadonlySet<string> = new Set(["CELERY_BROKER_URL", "CELERY_BROKER_READ_URL", "CELERY_BROKER_WRITE_URL", "CELERY_RESULT_BACKEND"]);

const SAFE_VALUE = /^[A-Za-z0-9_.,:;/@+=\-[\]*%?&!~]*$/;

/** The environment as ordered key/value pairs (non-secret only). */
export function appEnvironment(spec: AppEnvSpec): [string, string][] {
  const domain = spec.domain.toLowerCase();
  const hosts = [domain, `www.${domain}`, ...(spec.extraAllowedHosts ?? [])];
  const db = spec.database;
  const dbPort = db.endpoint.mode === "pgbouncer" ? 6432 : 5432;
  const env: [string, string][] = [
    ["DJANGO_SETTINGS_MODULE", spec.settingsModule],
    ["DJANGO_DEBUG", "False"],
    ["ALLOWED_HOSTS", hosts.join(",")],
    ["CSRF_TRUSTED_ORIGINS", [domain, `www.${domain}`].map((h) => `https://${h}`).join(",")],
    // Django sees HTTPS through nginx: it must trust X-Forwarded-Proto only because nginx sets it.
    ["SECURE_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO,https"],
    ["STATIC_ROOT", spec.staticRoot],
    ...(spec.mediaRoot !== undefined ? ([["MEDIA_ROOT", spec.mediaRoot]] as [string, string][]) : []),
    ["DB_HOST", db.endpoint.host],
    ["DB_PORT", String(dbPort)],
    ["DB_NAME", db.name],
    ["DB_USER", db.user],
    ["DB_SSLMODE", db.sslmode ?? "require"],
    // PgBouncer in transaction mode cannot keep server-side cursors or persistent connections.
    ["DB_CONN_MAX_AGE", db.endpoint.mode === "pgbouncer" ? "0" : "60"],
    ["DB_DISABLE_SERVER_SIDE_CURSORS", db.endpoint.mode === "pgbouncer" ? "True" : "False"],
  ];
  switch (spec.redis.mode) {
    case "direct": {
      const h = spec.redis.host;
      env.push(
        ["REDIS_MODE", "direct"],
        ["REDIS_CACHE_URL", `redis://${h}:6380/0`],
        ["CHANNELS_REDIS_URL", `redis://${h}:6379/1`],
        ["SENEX_CELERY_BROKER_URL", `redis://${h}:6379/2`],
        ["SENEX_CELERY_RESULT_BACKEND", `redis://${h}:6379/3`],
      );
      break;
    }
    case "sentinel": {
      const { sentinels, brokerMaster, cacheMaster } = spec.redis;
      if (sentinels.length === 0) throw new Error("`redis.sentinels` must list at least one Sentinel address");
      // Kombu's sentinel transport: `sentinel://h1:26379;sentinel://h2:26379` + master_name option.
      const kombu = (db: number) => sentinels.map((s) => `sentinel://${s}:26379/${db}`).join(";");
      env.push(
        ["REDIS_MODE", "sentinel"],
        ["REDIS_SENTINELS", sentinels.map((s) => `${s}:26379`).join(",")],
        ["REDIS_BROKER_MASTER", brokerMaster],
        ["REDIS_CACHE_MASTER", cacheMaster],
        ["REDIS_CACHE_DB", "0"],
        ["CHANNELS_REDIS_DB", "1"],
        ["SENEX_CELERY_BROKER_URL", kombu(2)],
        ["SENEX_CELERY_RESULT_BACKEND", kombu(3)],
        // Not a variable Celery reads itself (only CELERY_BROKER_URL/_READ_URL/_WRITE_URL and
        // CELERY_RESULT_BACKEND are): the settings module passes it as the transport's master_name.
        ["CELERY_BROKER_MASTER_NAME", brokerMaster],
      );
      break;
    }
    default: {
      const never: never = spec.redis;
      throw new Error(`unknown redis mode ${JSON.stringify(never)}`);
    }
  }
  const secretVars = new Set(APP_SECRET_ENV.map((s) => s.variable));
  for (const [key, value] of Object.entries(spec.extra ?? {})) {
    if (secretVars.has(key)) throw new Error(`\`extra.${key}\` is a secret variable; it comes from podman secret, never from the env file`);
    if (env.some(([k]) => k === key)) throw new Error(`\`extra.${key}\` would override a variable the deployment sets`);
    if (CELERY_ENV_OVERRIDES.has(key)) throw new Error(`\`extra.${key}\`: Celery reads it from the environment before its configuration, so it would replace the URL the settings build (use SENEX_${key})`);
    env.push([key, value]);
  }
  const problems = env.flatMap(([key, value]) => {
    const errs: string[] = [];
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) errs.push(`\`${key}\` is not an environment variable name`);
    if (!SAFE_VALUE.test(value)) errs.push(`\`${key}\`: value ${JSON.stringify(value)} has characters podman and systemd read differently`);
    return errs;
  });
  if (problems.length > 0) throw new Error(problems.join("\n"));
  return env;
}

/** Renders the env file (podman `EnvironmentFile=` / systemd `EnvironmentFile=` format). No secret is in it. */
export function renderAppEnv(spec: AppEnvSpec): string {
  return ["# senex app environment (non-secret values only; secrets come from podman Secret=)", ...appEnvironment(spec).map(([k, v]) => `${k}=${v}`)].join("\n") + "\n";
}
