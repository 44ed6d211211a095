// The Django app's environment file on every host that runs an app container.
import { renderAppEnv, type AppEnvSpec, type DatabaseEndpoint, type RedisEndpoint } from "../../render/appenv";
import { senexFile, type HostFile } from "./file";
import { APP_DATABASE, APP_VOLUMES, SENTINEL_MASTERS, type HostContext } from "./layout";
import { APP_ENV_FILE, unitsOf } from "./quadlets";

/**
 * Where the app reaches PostgreSQL: phase 1 directly on 5432 over loopback (it shares the host);
 * phases 2–3 through PgBouncer (6432) on the primary's private address.
 */
function database(ctx: HostContext): DatabaseEndpoint {
  return ctx.topology.phase === 1 ? { mode: "direct", host: "127.0.0.1" } : { mode: "pgbouncer", host: ctx.addressOf(ctx.topology.dbPrimary) };
}

/** Redis: loopback in phase 1, the cache host in phase 2, Sentinel on every redis host in phase 3. */
function redis(ctx: HostContext): RedisEndpoint {
  const { topology } = ctx;
  switch (topology.phase) {
    case 1:
      return { mode: "direct", host: "127.0.0.1" };
    case 2:
      return { mode: "direct", host: ctx.addressOf(topology.redisHosts[0]!) };
    case 3:
      return { mode: "sentinel", sentinels: topology.redisHosts.map(ctx.addressOf), brokerMaster: SENTINEL_MASTERS.broker, cacheMaster: SENTINEL_MASTERS.cache };
    default: {
      const never: never = topology.phase;
      throw new Error(`unknown phase ${String(never)}`);
    }
  }
}

export function appEnvSpec(ctx: HostContext): AppEnvSpec {
  return {
    domain: ctx.config.domain,
    settingsModule: "senextrader.settings.production",
    staticRoot: APP_VOLUMES.static.path,
    // The media volume daphne and the Celery worker mount. Each host has its own: in phase 3 the
    // web and worker hosts do not share uploads, and only the first web host's are backed up.
    mediaRoot: APP_VOLUMES.media.path,
    database: { ...APP_DATABASE, endpoint: database(ctx) },
    redis: redis(ctx),
    // Daphne's health check asks http://<private address>:<port>/health/: Django must accept that Host.
    extraAllowedHosts: [ctx.address],
  };
}

/** app.env on hosts running daphne, celery or the one-shot jobs; a change restarts the long-running app units. */
export function appFiles(ctx: HostContext): HostFile[] {
  const users = unitsOf(ctx, "migrate", "collectstatic", "daphne", "celery-worker", "celery-beat");
  if (users.length === 0) return [];
  // migrate/collectstatic are one-shots keyed by the image: an env change alone does not rerun them.
  return [senexFile(APP_ENV_FILE, renderAppEnv(appEnvSpec(ctx)), unitsOf(ctx, "daphne", "celery-worker", "celery-beat"))];
}
