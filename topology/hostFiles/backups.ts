// pgBackRest (config on every PostgreSQL host when backups are on: the primary archives WAL, the
// standby restores from the archive), the backup/restore scripts and their systemd --user timers
// on the hosts the topology gives a backup service.
import { renderBackupScript, renderBackupUnits, renderPgBackRestConf, renderRestoreScript, type BackupHostSpec, type BackupJob, type PgBackRestSpec } from "../../render/backup";
import { senexFile, type HostFile } from "./file";
import { BACKUP_STANZA, BIN_DIR, STATE_ROOT, USER_UNIT_DIR, configPath, type HostContext } from "./layout";

const PGBACKREST_CONF = configPath("postgres", "pgbackrest.conf");
const PG_DATA = "/var/lib/postgresql/data";
/**
 * restic (Redis and media backups) has no `images` key in the stack config yet, so the image is
 * fixed here; pin it by digest once the config has the key (see the report).
 */
export const RESTIC_IMAGE = "docker.io/restic/restic:0.17.3";
/** Volume names as render/quadlet-host.ts creates them (`<unit base>-data`); media has no Quadlet volume yet. */
const VOLUMES = { postgres: "senex-postgres-data", redis: "senex-redis-broker-data", media: "senex-media" } as const;

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
    // node-exporter's textfile collector reads the last-success metric from here.
    textfileDirectory: `${STATE_ROOT}/node-exporter-textfile`,
    stanza: BACKUP_STANZA,
    ...(kinds.has("postgres-full")
      ? { postgres: { container: "senex-postgres", unit: "senex-postgres.service", image: ctx.config.images.postgres, dataVolume: VOLUMES.postgres, dataPath: PG_DATA, configFile: PGBACKREST_CONF.host } }
      : {}),
    ...(kinds.has("redis") ? { redis: { unit: "senex-redis-broker.service", dataVolume: VOLUMES.redis, retentionDays: ctx.config.backups.redisRetentionDays } } : {}),
    ...(kinds.has("media") ? { media: { dataVolume: VOLUMES.media, retentionDays: ctx.config.backups.retentionDays } } : {}),
    ...(url ? { restic: { image: RESTIC_IMAGE, repository: `s3:${url.origin}/${ctx.config.backups.bucket}/restic` } } : {}),
  };
}

export function backupFiles(ctx: HostContext): HostFile[] {
  const files: HostFile[] = [];
  if (ctx.config.backups.enabled && ctx.topology.phase >= 2 && ctx.has("postgres")) {
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
