// Which podman secret comes from which stack value, and how a file whose content is derived from
// a secret is represented before apply time.
//
// Secret-derived files (PgBouncer's auth_file, the Redis/Sentinel auth includes, the standby's
// passfile, the registry login) are part of a host's file set so the plan shows them and the host
// provider knows their path, owner and mode; but their `content` is only a display form with a
// placeholder `{{secret:<field>[:<transform>]}}` where the value goes, and `fromSecrets` says
// which renderer produces the real content from which secrets. The provider renders the real file
// inside the secret's apply and writes it over SSH stdin; the plaintext never enters a HostFile.
import type { GeneratedSecretName } from "../../config/keys";

/** Stack values a secret can come from that are not generated secrets (`StackConfig` fields). */
export type ConfigSecretField = "tastytradeClientId" | "tastytradeClientSecret" | "alertSlackWebhook" | "alertHeartbeatUrl" | "s3AccessKeyId" | "s3SecretAccessKey" | "registryAuthPassword";

/** A generated secret (`secrets.<field>` / random) or another secret stack value. */
export type SecretField = GeneratedSecretName | ConfigSecretField;

/**
 * Every podman secret the deployment creates, with the stack value it is created from. `generated`
 * fields are `StackConfig.suppliedSecrets[field]` when supplied, else the random secret of that
 * name; the others are the named `StackConfig` values (`tastytrade.clientId`, `tastytrade.clientSecret`,
 * `alerts.slackWebhook`, `alerts.heartbeatUrl`, `s3Credentials.*`; on DigitalOcean the S3 keys come from the Spaces key the
 * bucket component creates).
 */
export const SecretRefs = {
  "senex-django-secret-key": "djangoSecretKey",
  "senex-field-encryption-key": "fieldEncryptionKey",
  "senex-db-app-password": "dbAppPassword",
  "senex-db-replication-password": "dbReplicationPassword",
  "senex-db-pgbouncer-password": "dbPgbouncerPassword",
  "senex-redis-password": "redisPassword",
  "senex-grafana-admin-password": "grafanaAdminPassword",
  "senex-backup-passphrase": "backupPassphrase",
  "senex-s3-access-key-id": "s3AccessKeyId",
  "senex-s3-secret-access-key": "s3SecretAccessKey",
  "senex-tastytrade-client-id": "tastytradeClientId",
  "senex-tastytrade-client-secret": "tastytradeClientSecret",
  "senex-alert-slack-webhook": "alertSlackWebhook",
  "senex-alert-heartbeat-url": "alertHeartbeatUrl",
} as const satisfies Record<string, SecretField>;

/** The shape of {@link SecretRefs}: podman secret name → the stack field its value comes from. */
export type SecretRefs = typeof SecretRefs;

/** A podman secret name the deployment knows. */
export type PodmanSecretName = keyof typeof SecretRefs;

export function isPodmanSecretName(name: string): name is PodmanSecretName {
  return Object.prototype.hasOwnProperty.call(SecretRefs, name);
}

/**
 * How the provider renders a secret-derived file at apply time (each kind names the renderer it
 * calls with the revealed values). Never carries a value.
 */
export type SecretFileSource =
  /** render/redis.ts `renderRedisAuth({ password })`. */
  | { readonly kind: "redis-auth"; readonly password: "redisPassword" }
  /** render/sentinel.ts `renderSentinelAuth(masters, password)`. */
  | { readonly kind: "sentinel-auth"; readonly masters: readonly string[]; readonly password: "redisPassword" }
  /**
   * render/pgbouncer.ts `renderPgBouncerAuthFile` with `scramVerifier(password, salt)` per user; the
   * salt is the one the stack keeps for that role (the same verifier goes to `ALTER ROLE`).
   */
  | { readonly kind: "pgbouncer-auth"; readonly users: ReadonlyArray<{ readonly user: string; readonly password: GeneratedSecretName }> }
  /** render/postgres.ts `renderPgPass` (the standby's replication login). */
  | { readonly kind: "pgpass"; readonly entries: ReadonlyArray<{ readonly host: string; readonly port: number; readonly database: string; readonly user: string; readonly password: GeneratedSecretName }> }
  /** render/pgroles.ts `renderPostgresRolesSql`, each role's verifier from `roleVerifier(name, password)`. */
  | {
      readonly kind: "postgres-roles";
      readonly roles: ReadonlyArray<{ readonly name: string; readonly password: GeneratedSecretName; readonly attributes?: readonly ("REPLICATION" | "CREATEDB")[]; readonly memberOf?: readonly string[] }>;
      /** Roles without a password (PASSWORD NULL), admitted only by peer over the socket (the monitoring role). */
      readonly peerRoles?: ReadonlyArray<{ readonly name: string; readonly memberOf?: readonly string[] }>;
      readonly databases: ReadonlyArray<{ readonly name: string; readonly owner: string; readonly extensions?: readonly string[] }>;
    }
  /** podman's auth.json: `{"auths": {registry: {"auth": base64(username:password)}}}`. */
  | { readonly kind: "registry-auth"; readonly registry: string; readonly username: string; readonly password: "registryAuthPassword" };

/** The placeholder that stands where a secret-derived value goes in a file's display content. */
export function secretPlaceholder(field: SecretField, transform?: string): string {
  return `{{secret:${field}${transform ? `:${transform}` : ""}}}`;
}

/** Every placeholder in a text (for tests and the provider's check that it replaced them all). */
export function secretPlaceholders(text: string): string[] {
  return [...text.matchAll(/\{\{secret:[A-Za-z]+(?::[a-z0-9-]+)?\}\}/g)].map((m) => m[0]);
}
