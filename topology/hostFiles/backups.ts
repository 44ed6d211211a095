// pgBackRest (config on every PostgreSQL host when backups are on: the primary archives WAL, the
// standby restores from the archive), the backup/restore scripts and their systemd --user timers
// on the hosts the topology gives a backup service.
import { renderBackupScript, renderBackupUnits, renderPgBackRestConf, renderRestoreScript, type BackupHostSpec, type BackupJob, type PgBackRestSpec } from "../../render/backup";
import { textfileCollectorPaths } from "../../render/quadlet-host";
import { senexFile, type HostFile } from "./file";
import { APP_VOLUMES, BACKUP_STANZA, BIN_DIR, STATE_ROOT, USER_UNIT_DIR, configPath, type HostContext } from "./layout";

/** pgbackrest.conf: in PostgreSQL's config directory, which its Quadlet mounts (PGBACKREST_CONFIG names it there). */
export const PGBACKREST_CONF = configPath("postgres", "pgbackrest.conf");
const PG_DATA = "/var/lib/postgresql/data";
/** Volume names as render/quadlet-host.ts creates them (`<unit base>-data`, and the app's media volume). */
const VOLUMES = { postgres: "senex-postgres-data", redis: "senex-redis-broker-data", media: APP_VOLUMES.media.volume } as const;

/**
 * Debian packages a host's backup jobs run on the host (render/backup.ts: restic runs from the
 * host's package, not an image). The host layer installs them (the bootstrap's `extraPackages`).
 */
export function backupPackages(ctx: HostContext): string[] {
  const kinds = new Set(jobs(ctx).map((j) => j.kind));
  return kinds.has("redis") || kinds.has("media") ? ["restic"] : [];
}

/** The bucket's S3 endpoint as a URL; the stack derives it from the cloud and region, or names it. */
function endpointUrl(ctx: HostContext): URL {
  const endpoint = ctx.config.backups.endpoint;
  if (!endpoint) throw new Error(`hostFiles(${ctx.host.name}): backups are enabled but the stack has no S3 endpoint (set backups.endpoint)`);
  return new URL(/^https?:\/\//.test(endpoint) ? endpoint : `https://${endpoint}`);
}

export function pgBackRestSpec(ctx: HostContext): PgBackRestSpec {
  const url = endpointUrl(ctx);
  return {
    stanza: BACKUP_STANZA,
    repo: { kind: "s3", endpoint: url.host, bucket: ctx.config.backups.bucket, region: ctx.config.backups.region ?? ctx.config.region ?? "us-east-1" },
    retentionDays: ctx.config.backups.retentionDays,
    pgDataPath: PG_DATA,
    spoolPath: "/var/spool/pgbackrest",
  };
}

/** Jobs of this host from its backup services; schedules follow `backups.hourUtc`. */
function jobs(ctx: HostContext): BackupJob[] {
  const hour = String(ctx.config.backups.hourUtc).padStart(2, "0");
  const nextHour = String((ctx.config.backups.hourUtc + 1) % 24).padStart(2, "0");
  const names = new Set(ctx.host.services.filter((s) => s.kind === "backup").map((s) => s.name));
  return [
    ...(names.has("backup-postgres")
      ? ([
          { kind: "postgres-full", schedule: `Sun *-*-* ${hour}:15:00 UTC` },
          { kind: "postgres-diff", schedule: `Mon..Sat *-*-* ${hour}:15:00 UTC` },
        ] as const)
      : []),
    ...(names.has("backup-redis") ? ([{ kind: "redis" }] as const) : []),
    ...(names.has("backup-media") ? ([{ kind: "media", schedule: `*-*-* ${nextHour}:15:00 UTC` }] as const) : []),
  ];
}

export function backupHostSpec(ctx: HostContext): BackupHostSpec | undefined {
  const list = jobs(ctx);
  if (list.length === 0) return undefined;
  const kinds = new Set(list.map((j) => j.kind));
  const needsRestic = kinds.has("redis") || kinds.has("media");
  const url = needsRestic ? endpointUrl(ctx) : undefined;
  return {
    jobs: list,
    scriptPath: `${BIN_DIR}/senex-backup`,
    // node-exporter's textfile collector reads the last-success metric from here (its Quadlet mounts it).
    textfileDirectory: textfileCollectorPaths({ stateRoot: STATE_ROOT }).hostDir,
    stanza: BACKUP_STANZA,
    ...(kinds.has("postgres-full")
      ? { postgres: { container: "senex-postgres", unit: "senex-postgres.service", image: ctx.config.images.postgres, dataVolume: VOLUMES.postgres, dataPath: PG_DATA, configFile: PGBACKREST_CONF.host } }
      : {}),
    ...(kinds.has("redis") ? { redis: { unit: "senex-redis-broker.service", dataVolume: VOLUMES.redis, retentionDays: ctx.config.backups.redisRetentionDays } } : {}),
    ...(kinds.has("media") ? { media: { dataVolume: VOLUMES.media, retentionDays: ctx.config.backups.retentionDays } } : {}),
    ...(url ? { restic: { repository: `s3:${url.origin}/${ctx.config.backups.bucket}/restic` } } : {}),
  };
}

/**
 * WAL archiving needs pgBackRest in the server container wherever a PostgreSQL runs with backups
 * on (phases 2–3): the primary's archive_command pushes, the standby's restore_command fetches.
 * It decides both pgbackrest.conf here and the Quadlet's PGBACKREST_* wiring (quadlets.ts).
 */
export function archivesWal(ctx: HostContext): boolean {
  return ctx.config.backups.enabled && ctx.topology.phase >= 2 && ctx.has("postgres") !== undefined;
}

export function backupFiles(ctx: HostContext): HostFile[] {
  const files: HostFile[] = [];
  if (archivesWal(ctx)) {
    // Read by every pgbackrest invocation (archive-push/-get, backup, restore): nothing to restart.
    files.push(senexFile(PGBACKREST_CONF.host, renderPgBackRestConf(pgBackRestSpec(ctx)), []));
  }
  const spec = backupHostSpec(ctx);
  if (!spec) return files;
  files.push(senexFile(spec.scriptPath, renderBackupScript(spec), [], { mode: "0755" }));
  files.push(senexFile(`${BIN_DIR}/senex-restore`, renderRestoreScript(spec), [], { mode: "0755" }));
  for (const [name, content] of Object.entries(renderBackupUnits(spec))) {
    // Timers (and the init job) are what run; the job services only start from their timers.
    const restarts = name.endsWith(".timer") || name === "senex-backup-init.service" ? [name] : [];
    files.push(senexFile(`${USER_UNIT_DIR}/${name}`, content, restarts));
  }
  return files;
}
