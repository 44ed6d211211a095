// PostgreSQL (postgresql.conf, pg_hba.conf, pg_ident.conf, the standby's passfile), PgBouncer (ini
// + auth_file), the server-TLS script both run before they start, Redis (broker/cache seeds, auth
// include, Sentinel seed + auth include) with their rewritable config directories. The database
// roles these admit are listed once, in ./roles.ts.
//
// TLS: every client of PostgreSQL and PgBouncer (the app, PgBouncer towards PostgreSQL, the
// standby's replication) uses sslmode=require — encrypted, not verified: the servers present the
// self-signed certificate render/server-tls.ts makes on first start.
import { renderPgBouncerIni, type PgBouncerSpec } from "../../render/pgbouncer";
import { renderPgHba, renderPgIdent, renderPostgresConf, type PgHbaSpec, type PgIdentEntry, type PostgresConfSpec, type PostgresReplicationRole } from "../../render/postgres";
import { serverTlsPaths } from "../../render/quadlet-host";
import { renderRedisConf, type RedisSpec } from "../../render/redis";
import { renderSentinelSeed, type SentinelSpec } from "../../render/sentinel";
import { renderServerTlsScript } from "../../render/server-tls";
import { PORTS } from "../build";
import type { PlacedService } from "../types";
import { archivesWal } from "./backups";
import { senexFile, type HostDirectory, type HostFile } from "./file";
import { APP_DATABASE, BACKUP_STANZA, CONFIG_ROOT, CONTAINER_CONFIG, CONTAINER_USERS, MONITOR_USER, REPLICATION_USER, SENTINEL_MASTERS, STATE_ROOT, configPath, type HostContext } from "./layout";
import { unitsOf } from "./quadlets";
import { secretPlaceholder } from "./secrets";

const LAYOUT = { configRoot: CONFIG_ROOT, stateRoot: STATE_ROOT } as const;
const PG = {
  conf: configPath("postgres", "postgresql.conf"),
  hba: configPath("postgres", "pg_hba.conf"),
  ident: configPath("postgres", "pg_ident.conf"),
  pgpass: configPath("postgres", "pgpass"),
  tls: serverTlsPaths(LAYOUT, "postgres"),
  dataDirectory: "/var/lib/postgresql/data",
};
const BOUNCER = {
  ini: configPath("pgbouncer", "pgbouncer.ini"),
  auth: configPath("pgbouncer", "userlist.txt"),
  tls: serverTlsPaths(LAYOUT, "pgbouncer"),
};

/**
 * Peer maps of pg_ident.conf. `senex_admin`: the superuser's socket line admits the container's
 * root too, because `podman exec senex-postgres psql -U postgres` runs as root unless told
 * `--user postgres` (whoever can `podman exec` owns the data directory anyway). `senex_monitor`:
 * postgres-exporter's OS user (its image runs as nobody; the Quadlet pins User=) as the
 * monitoring role.
 */
const IDENT_MAPS = { admin: "senex_admin", monitor: "senex_monitor" } as const;

/** Addresses a service's exposure admits (none when it is loopback-only). */
function peers(ctx: HostContext, service: PlacedService | undefined): string[] {
  return service?.exposure?.kind === "private" ? service.exposure.from.map(ctx.addressOf) : [];
}

/**
 * PostgreSQL's memory budget: the whole server on a db host; a quarter of it on the phase-1 host
 * that also runs Redis, the app and nginx.
 */
function postgresResources(ctx: HostContext): PostgresConfSpec["resources"] {
  const dedicated = ctx.host.groups.every((g) => g === "db");
  const memoryMiB = Math.max(256, Math.floor(ctx.resources.memoryMiB * (dedicated ? 1 : 0.25)));
  return { memoryMiB, cpus: ctx.resources.cpus };
}

function replicationRole(ctx: HostContext, postgres: PlacedService): PostgresReplicationRole {
  const { topology } = ctx;
  if (!topology.dbReplica) return { kind: "standalone" };
  if (postgres.role === "primary") return { kind: "primary" };
  return {
    kind: "standby",
    primaryAddress: ctx.addressOf(topology.dbPrimary),
    replicationUser: REPLICATION_USER,
    passfile: PG.pgpass.container,
    slotName: ctx.host.name.replace(/[^a-z0-9]/g, "_"),
    applicationName: ctx.host.name,
  };
}

export function postgresConfSpec(ctx: HostContext, postgres: PlacedService): PostgresConfSpec {
  return {
    major: ctx.config.postgresVersion,
    resources: postgresResources(ctx),
    listenAddress: ctx.address,
    dataDirectory: PG.dataDirectory,
    hbaFile: PG.hba.container,
    identFile: PG.ident.container,
    tls: { certFile: PG.tls.certFile, keyFile: PG.tls.keyFile },
    ...(archivesWal(ctx) ? { archive: { stanza: BACKUP_STANZA, timeoutSeconds: 60 } } : {}),
    replication: replicationRole(ctx, postgres),
  };
}

/**
 * pg_hba admits exactly the topology's peers of this server: PgBouncer beside it (loopback; in
 * phase 1 the app too), the app role from the peers PostgreSQL's exposure lists (the other db
 * host's PgBouncer), replication from those same peers in phase 3, and the exporter beside it over
 * the socket (peer, mapped to the monitoring role). The superuser's socket line comes first among
 * the local lines: initdb, pgBackRest and the role setup use it.
 */
export function pgHbaSpec(ctx: HostContext, postgres: PlacedService): PgHbaSpec {
  const from = peers(ctx, postgres);
  return {
    database: APP_DATABASE.name,
    app: { user: APP_DATABASE.user, clients: ["127.0.0.1", ...from] },
    ...(ctx.topology.dbReplica ? { replication: { user: REPLICATION_USER, clients: from } } : {}),
    ...(ctx.has("postgres-exporter") ? { exporter: { user: MONITOR_USER, map: IDENT_MAPS.monitor } } : {}),
    socketSuperuser: CONTAINER_USERS.postgres.name,
    socketSuperuserMap: IDENT_MAPS.admin,
  };
}

/** pg_ident.conf: the maps pgHbaSpec names. */
export function pgIdentEntries(ctx: HostContext): PgIdentEntry[] {
  const superuser = CONTAINER_USERS.postgres.name;
  return [
    { map: IDENT_MAPS.admin, systemUser: superuser, databaseUser: superuser },
    { map: IDENT_MAPS.admin, systemUser: "root", databaseUser: superuser },
    ...(ctx.has("postgres-exporter") ? [{ map: IDENT_MAPS.monitor, systemUser: CONTAINER_USERS.nobody.name, databaseUser: MONITOR_USER }] : []),
  ];
}

export function pgBouncerSpec(ctx: HostContext): PgBouncerSpec {
  const primary = ctx.topology.dbPrimary;
  return {
    listenAddress: ctx.address,
    // Beside the primary: loopback. On the standby: the primary, so its pool serves writes too.
    databases: [{ name: APP_DATABASE.name, host: primary === ctx.host.name ? "127.0.0.1" : ctx.addressOf(primary) }],
    authFile: BOUNCER.auth.container,
    serverTls: { sslmode: "require" },
    // The app connects with sslmode=require (render/appenv.ts), so PgBouncer must offer TLS.
    clientTls: { certFile: BOUNCER.tls.certFile, keyFile: BOUNCER.tls.keyFile },
  };
}

function postgresFiles(ctx: HostContext): HostFile[] {
  const postgres = ctx.has("postgres");
  if (!postgres) return [];
  const unit = unitsOf(ctx, "postgres");
  const files = [
    senexFile(PG.conf.host, renderPostgresConf(postgresConfSpec(ctx, postgres)), unit),
    senexFile(PG.hba.host, renderPgHba(pgHbaSpec(ctx, postgres)), unit),
    senexFile(PG.ident.host, renderPgIdent(pgIdentEntries(ctx)), unit),
  ];
  const role = replicationRole(ctx, postgres);
  if (role.kind === "standby") {
    const entry = { host: role.primaryAddress, port: PORTS.postgres, database: "replication", user: REPLICATION_USER };
    files.push(
      senexFile(PG.pgpass.host, `${entry.host}:${entry.port}:${entry.database}:${entry.user}:${secretPlaceholder("dbReplicationPassword")}\n`, [], {
        mode: "0600",
        fromSecrets: { kind: "pgpass", entries: [{ ...entry, password: "dbReplicationPassword" }] },
        // libpq (the walreceiver, as postgres) refuses a passfile it cannot read or others can.
        containerOwner: CONTAINER_USERS.postgres,
      }),
    );
  }
  return files;
}

/**
 * The certificate script PostgreSQL's and PgBouncer's ExecStartPre run. Changing it restarts
 * nothing: it only makes missing files, at the next start.
 */
function serverTlsFiles(ctx: HostContext): HostFile[] {
  if (!ctx.has("postgres") && !ctx.has("pgbouncer")) return [];
  return [senexFile(PG.tls.scriptPath, renderServerTlsScript(), [], { mode: "0755" })];
}

function pgBouncerFiles(ctx: HostContext): HostFile[] {
  if (!ctx.has("pgbouncer")) return [];
  const unit = unitsOf(ctx, "pgbouncer");
  return [
    senexFile(BOUNCER.ini.host, renderPgBouncerIni(pgBouncerSpec(ctx)), unit),
    // Only SCRAM verifiers, computed at apply time from the app password and the stack's salt.
    senexFile(BOUNCER.auth.host, `"${APP_DATABASE.user}" "${secretPlaceholder("dbAppPassword", "scram")}"\n`, unit, {
      mode: "0600",
      fromSecrets: { kind: "pgbouncer-auth", users: [{ user: APP_DATABASE.user, password: "dbAppPassword" }] },
      containerOwner: CONTAINER_USERS.pgbouncer,
    }),
  ];
}

/**
 * Redis memory caps. A phase-3 redis host runs only Redis: broker 40 %, cache 25 % of the server.
 * Elsewhere Redis shares the host (phase 1 with everything, phase 2 with the Celery worker).
 */
function redisMemory(ctx: HostContext, kind: "broker" | "cache"): number {
  const dedicated = ctx.host.groups.every((g) => g === "redis");
  const share = kind === "broker" ? (dedicated ? 0.4 : 0.15) : dedicated ? 0.25 : 0.1;
  return Math.max(64, Math.floor(ctx.resources.memoryMiB * share));
}

export function redisSpec(ctx: HostContext, service: PlacedService, kind: "broker" | "cache"): RedisSpec {
  const master = ctx.topology.redisHosts[0]!;
  const port = kind === "broker" ? PORTS.redisBroker : PORTS.redisCache;
  const sentinel = ctx.topology.phase === 3;
  return {
    instance: kind === "broker" ? { kind: "broker", maxmemoryMiB: redisMemory(ctx, "broker") } : { kind: "cache", maxmemoryMiB: redisMemory(ctx, "cache") },
    listenAddress: ctx.address,
    port,
    dataDirectory: "/data",
    authInclude: configPath(`redis-${kind}`, "auth.conf").container,
    ...(sentinel ? { announceIp: ctx.address } : {}),
    ...(sentinel && service.role === "replica" ? { replicaOf: { address: ctx.addressOf(master), port } } : {}),
  };
}

export function sentinelSpec(ctx: HostContext): SentinelSpec {
  const master = ctx.addressOf(ctx.topology.redisHosts[0]!);
  const count = ctx.topology.redisHosts.length;
  return {
    listenAddress: ctx.address,
    // Sentinel's working directory must be writable: its own (rw-mounted) config directory.
    dataDirectory: `${CONTAINER_CONFIG}/redis-sentinel`,
    masters: [
      { name: SENTINEL_MASTERS.broker, address: master, port: PORTS.redisBroker },
      { name: SENTINEL_MASTERS.cache, address: master, port: PORTS.redisCache },
    ],
    quorum: Math.floor(count / 2) + 1,
    sentinelCount: count,
    authInclude: configPath("redis-sentinel", "auth.conf").container,
  };
}

function redisFiles(ctx: HostContext): HostFile[] {
  const files: HostFile[] = [];
  for (const kind of ["broker", "cache"] as const) {
    const service = ctx.has(`redis-${kind}`);
    if (!service) continue;
    const unit = unitsOf(ctx, `redis-${kind}`);
    // Redis rewrites its own file on failover (CONFIG REWRITE): a seed, written once; desired
    // state afterwards goes through redisDesiredStateCommands, never a file rewrite.
    files.push(senexFile(configPath(`redis-${kind}`, "redis.conf").host, renderRedisConf(redisSpec(ctx, service, kind)), unit, { mode: "0600", seed: true, containerOwner: CONTAINER_USERS.redis }));
    files.push(
      senexFile(configPath(`redis-${kind}`, "auth.conf").host, `requirepass ${secretPlaceholder("redisPassword")}\nmasterauth ${secretPlaceholder("redisPassword")}\n`, unit, {
        mode: "0600",
        fromSecrets: { kind: "redis-auth", password: "redisPassword" },
        containerOwner: CONTAINER_USERS.redis,
      }),
    );
  }
  if (ctx.has("sentinel")) {
    const unit = unitsOf(ctx, "sentinel");
    const spec = sentinelSpec(ctx);
    const masters = spec.masters.map((m) => m.name);
    files.push(senexFile(configPath("redis-sentinel", "sentinel.conf").host, renderSentinelSeed(spec), unit, { mode: "0600", seed: true, containerOwner: CONTAINER_USERS.redis }));
    files.push(
      senexFile(configPath("redis-sentinel", "auth.conf").host, masters.map((m) => `sentinel auth-pass ${m} ${secretPlaceholder("redisPassword")}`).join("\n") + "\n", unit, {
        mode: "0600",
        fromSecrets: { kind: "sentinel-auth", masters, password: "redisPassword" },
        containerOwner: CONTAINER_USERS.redis,
      }),
    );
  }
  return files;
}

/** Every data-service file of the host. */
export function dataFiles(ctx: HostContext): HostFile[] {
  return [...postgresFiles(ctx), ...pgBouncerFiles(ctx), ...serverTlsFiles(ctx), ...redisFiles(ctx)];
}

/**
 * Config directories the services rewrite files in (mounted :rw): Redis' CONFIG REWRITE and
 * Sentinel's state both write a temp file beside the config and rename it over, so the directory
 * must be writable by the redis user inside the container. Group redis with 0770 (owner stays
 * senex, uid 0 of the namespace): the host layer writes there as before, Redis through its group.
 */
export function dataDirectories(ctx: HostContext): HostDirectory[] {
  const dirs = (["redis-broker", "redis-cache", "sentinel"] as const).filter((kind) => ctx.has(kind)).map((kind) => (kind === "sentinel" ? "redis-sentinel" : kind));
  return dirs.map((dir) => ({ path: `${CONFIG_ROOT}/${dir}`, mode: "0770", owner: "senex", containerOwner: { uid: 0, gid: CONTAINER_USERS.redis.gid } }));
}
