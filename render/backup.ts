// Backups (ARCHITECTURE: Backups): pgBackRest for PostgreSQL (WAL archiving + weekly full + daily
// differential, retention owned by pgBackRest), restic for the Redis data directory and the media
// volume (encrypted, deduplicated, retention owned by restic `forget`), systemd user timers that
// run one script, a textfile metric of the last success per kind for the BackupTooOld alert, and
// a restore script. Secrets never appear in any of these files: pgBackRest reads its cipher pass
// and S3 keys from PGBACKREST_* environment variables and restic from RESTIC_PASSWORD and AWS_*
// variables, all filled from podman secrets.
//
// restic runs from Debian's package on the host (the host layer installs it where a backup job
// needs it), not from an image: restoring Redis or the media files must work when no registry is
// reachable, unattended-upgrades patches it with the rest of the OS, and it needs no isolation of
// its own. It runs inside senex's user namespace (`podman unshare`), where it is root over the
// containers' files: it reads volume data whichever container uid owns it, and a restore puts
// that ownership back.
import { BACKUP_METRIC } from "./prometheus";
import { absolutePath, iniText, intInRange } from "./conf-syntax";
import { renderUnitSections, unitCommandLine } from "./systemd";

/** Where pgBackRest keeps its repository. */
export type PgBackRestRepo =
  | {
      readonly kind: "s3";
      /** S3 endpoint host (no scheme), e.g. fsn1.your-objectstorage.com. */
      readonly endpoint: string;
      readonly bucket: string;
      readonly region: string;
      /** Path inside the bucket. Default /pgbackrest. */
      readonly path?: string;
      /** Verify the endpoint's TLS certificate. Default true (tests against a local S3 may turn it off). */
      readonly verifyTls?: boolean;
    }
  | {
      readonly kind: "posix";
      /** Local directory (tests, or a mounted volume). */
      readonly path: string;
    };

/** Environment variables pgBackRest reads its secrets from (the PostgreSQL Quadlet maps podman secrets to them). */
export const PGBACKREST_SECRET_ENV = {
  "senex-backup-passphrase": "PGBACKREST_REPO1_CIPHER_PASS",
  "senex-s3-access-key-id": "PGBACKREST_REPO1_S3_KEY",
  "senex-s3-secret-access-key": "PGBACKREST_REPO1_S3_KEY_SECRET",
} as const;

/** Typed input of pgbackrest.conf. */
export interface PgBackRestSpec {
  /** Stanza name (`senex`). */
  readonly stanza: string;
  /** Repository. */
  readonly repo: PgBackRestRepo;
  /** Days of full backups (and the WAL they need) kept: point-in-time recovery reaches this far back. Seeds: 30. */
  readonly retentionDays: number;
  /** Differential backups kept. Default 7. */
  readonly retentionDiff?: number;
  /** PostgreSQL data directory as pgBackRest sees it (inside the PostgreSQL container). */
  readonly pgDataPath: string;
  /** PostgreSQL port. Default 5432. */
  readonly pgPort?: number;
  /** PostgreSQL socket directory. Default /var/run/postgresql. */
  readonly pgSocketPath?: string;
  /** Parallel processes for backup/restore. Default 2. */
  readonly processMax?: number;
  /** Spool directory for asynchronous archiving. */
  readonly spoolPath: string;
  /** Encrypt the repository (aes-256-cbc, pass from PGBACKREST_REPO1_CIPHER_PASS). Default true. */
  readonly encrypt?: boolean;
}

function stanzaName(name: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new Error("`stanza` must match [A-Za-z0-9_-]+");
  return name;
}

/** Renders pgbackrest.conf. Holds no secret. */
export function renderPgBackRestConf(spec: PgBackRestSpec): string {
  const repo = spec.repo;
  const repoEntries = ((): Array<readonly [string, string | number | boolean | undefined]> => {
    switch (repo.kind) {
      case "s3":
        if (!/^[a-z0-9.-]+(:\d+)?$/i.test(repo.endpoint)) throw new Error("`repo.endpoint` must be a host name (no scheme)");
        if (!/^[a-z0-9][a-z0-9.-]{1,62}$/.test(repo.bucket)) throw new Error("`repo.bucket` must be a valid bucket name");
        if (!/^[a-z0-9-]+$/.test(repo.region)) throw new Error("`repo.region` must match [a-z0-9-]+");
        return [
          ["repo1-type", "s3"],
          ["repo1-path", absolutePath("repo.path", repo.path ?? "/pgbackrest")],
          ["repo1-s3-endpoint", repo.endpoint],
          ["repo1-s3-bucket", repo.bucket],
          ["repo1-s3-region", repo.region],
          // Hetzner/DO object storage and test S3 servers serve path-style URLs.
          ["repo1-s3-uri-style", "path"],
          ["repo1-s3-verify-tls", repo.verifyTls ?? true],
        ];
      case "posix":
        return [["repo1-type", "posix"], ["repo1-path", absolutePath("repo.path", repo.path)]];
      default: {
        const never: never = repo;
        throw new Error(`unknown repo ${JSON.stringify(never)}`);
      }
    }
  })();
  const encrypt = spec.encrypt ?? true;
  return "# Rendered by senex-infra. Secrets come from PGBACKREST_REPO1_CIPHER_PASS / _S3_KEY / _S3_KEY_SECRET.\n" + iniText(
    [
      {
        name: "global",
        entries: [
          ...repoEntries,
          // Retention belongs to pgBackRest, not to the bucket lifecycle: it knows which WAL a kept backup needs.
          ["repo1-retention-full-type", "time"],
          ["repo1-retention-full", intInRange("retentionDays", spec.retentionDays, 1, 3650)],
          ["repo1-retention-diff", intInRange("retentionDiff", spec.retentionDiff ?? 7, 1, 365)],
          ["repo1-cipher-type", encrypt ? "aes-256-cbc" : "none"],
          ["compress-type", "zst"],
          ["process-max", intInRange("processMax", spec.processMax ?? 2, 1, 64)],
          ["start-fast", true],
          // Async archiving pushes WAL in batches: archive_command returns quickly under write bursts.
          ["archive-async", true],
          ["spool-path", absolutePath("spoolPath", spec.spoolPath)],
          ["archive-push-queue-max", "4GiB"],
          ["log-level-console", "info"],
          ["log-level-file", "off"],
        ],
      },
      {
        name: stanzaName(spec.stanza),
        entries: [
          ["pg1-path", absolutePath("pgDataPath", spec.pgDataPath)],
          ["pg1-port", intInRange("pgPort", spec.pgPort ?? 5432, 1, 65535)],
          ["pg1-socket-path", absolutePath("pgSocketPath", spec.pgSocketPath ?? "/var/run/postgresql")],
        ],
      },
    ],
    "=",
    ["y", "n"],
  );
}

/** A backup job the timers run. */
export type BackupJob =
  | { readonly kind: "postgres-full"; /** OnCalendar expression. Default weekly, Sunday 02:15 UTC. */ readonly schedule?: string }
  | { readonly kind: "postgres-diff"; /** Default Monday–Saturday 02:15 UTC. */ readonly schedule?: string }
  | { readonly kind: "redis"; /** Default hourly (the seeds' cron). */ readonly schedule?: string }
  | { readonly kind: "media"; /** Default daily 03:15 UTC. */ readonly schedule?: string };

/** The kinds, in the order units and metrics are rendered. */
export const BACKUP_KINDS = ["postgres-full", "postgres-diff", "redis", "media"] as const;
/** One of BACKUP_KINDS. */
export type BackupKind = (typeof BACKUP_KINDS)[number];

function defaultSchedule(kind: BackupKind): string {
  switch (kind) {
    case "postgres-full":
      return "Sun *-*-* 02:15:00 UTC";
    case "postgres-diff":
      return "Mon..Sat *-*-* 02:15:00 UTC";
    case "redis":
      return "*-*-* *:05:00 UTC";
    case "media":
      return "*-*-* 03:15:00 UTC";
    default: {
      const never: never = kind;
      throw new Error(`unknown backup kind ${String(never)}`);
    }
  }
}

/** Typed input of the backup script, the restore script and the units, for one host. */
export interface BackupHostSpec {
  /** The jobs this host runs (postgres-* on the primary, redis on the broker host, media on a web host). */
  readonly jobs: readonly BackupJob[];
  /** Absolute path where the provider installs the backup script (renderBackupScript). */
  readonly scriptPath: string;
  /** Node-exporter textfile-collector directory (mounted into node-exporter). */
  readonly textfileDirectory: string;
  /** pgBackRest stanza. */
  readonly stanza: string;
  /** Where PostgreSQL runs, for postgres jobs and restore. */
  readonly postgres?: {
    /** Running container name (backups: `podman exec`). */
    readonly container: string;
    /** systemd --user unit of the server (restore stops and starts it). */
    readonly unit: string;
    /** Image with PostgreSQL + pgBackRest (restore runs a one-off container from it). */
    readonly image: string;
    /** Podman volume holding the data directory. */
    readonly dataVolume: string;
    /** Data directory inside the container (pg1-path). */
    readonly dataPath: string;
    /** Host path of the rendered pgbackrest.conf. */
    readonly configFile: string;
  };
  /** Redis broker data (RDB + AOF directory), for redis jobs and restore. */
  readonly redis?: { readonly unit: string; readonly dataVolume: string; /** Days kept. Seeds: 7. */ readonly retentionDays: number };
  /** Media files, for media jobs and restore. */
  readonly media?: { readonly dataVolume: string; /** Days kept. Seeds: 30. */ readonly retentionDays: number };
  /** restic (Debian's package on the host) for Redis and media. */
  readonly restic?: {
    /** Repository, e.g. s3:https://fsn1.your-objectstorage.com/senex-backups/restic. */
    readonly repository: string;
  };
  /** Podman secret names (defaults: the deployment's standard names). */
  readonly secrets?: { readonly passphrase?: string; readonly s3KeyId?: string; readonly s3Secret?: string };
}

/** POSIX single-quote: the one place values enter the scripts. */
function sh(value: string): string {
  if (/[\0\n\r]/.test(value)) throw new Error(`shell value must be one line: ${JSON.stringify(value)}`);
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

function volumeName(field: string, v: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(v)) throw new Error(`\`${field}\` must be a podman volume name`);
  return v;
}

function unitName(field: string, v: string): string {
  if (!/^[A-Za-z0-9@_.:-]+\.service$/.test(v)) throw new Error(`\`${field}\` must be a .service unit name`);
  return v;
}

function checkHost(spec: BackupHostSpec): void {
  absolutePath("scriptPath", spec.scriptPath);
  absolutePath("textfileDirectory", spec.textfileDirectory);
  stanzaName(spec.stanza);
  const kinds = spec.jobs.map((j) => j.kind);
  if (new Set(kinds).size !== kinds.length) throw new Error("`jobs` lists a kind twice");
  const needs = (field: string, ok: boolean, kind: string): void => {
    if (!ok) throw new Error(`\`${field}\` is required for ${kind} jobs`);
  };
  for (const k of kinds) {
    if (k === "postgres-full" || k === "postgres-diff") needs("postgres", spec.postgres !== undefined, k);
    if (k === "redis") needs("redis", spec.redis !== undefined && spec.restic !== undefined, k);
    if (k === "media") needs("media", spec.media !== undefined && spec.restic !== undefined, k);
  }
  if (spec.redis) intInRange("redis.retentionDays", spec.redis.retentionDays, 1, 3650);
  if (spec.media) intInRange("media.retentionDays", spec.media.retentionDays, 1, 3650);
}

/**
 * The `readonly NAME=value` lines a script body needs: every setting the spec yields, kept only
 * when the body uses it (shellcheck rightly flags unused variables; a host without PostgreSQL
 * has no business naming its container).
 */
function settingsFor(spec: BackupHostSpec, body: string): string {
  return scriptSettings(spec)
    .filter((line) => {
      const name = /^readonly ([A-Z0-9_]+)=/.exec(line)?.[1] ?? "";
      return body.includes(`$${name}`) || body.includes(`\${${name}`);
    })
    .join("\n");
}

/** Every shell variable the scripts may use (all values quoted by `sh`). */
function scriptSettings(spec: BackupHostSpec): string[] {
  const secrets = spec.secrets ?? {};
  const lines = [
    `readonly STANZA=${sh(spec.stanza)}`,
    `readonly TEXTFILE_DIR=${sh(spec.textfileDirectory)}`,
    `readonly METRIC=${BACKUP_METRIC}`,
    `readonly PASSPHRASE_SECRET=${sh(secrets.passphrase ?? "senex-backup-passphrase")}`,
    `readonly S3_KEY_SECRET=${sh(secrets.s3KeyId ?? "senex-s3-access-key-id")}`,
    `readonly S3_SECRET_SECRET=${sh(secrets.s3Secret ?? "senex-s3-secret-access-key")}`,
  ];
  const pg = spec.postgres;
  if (pg) {
    lines.push(
      `readonly PG_CONTAINER=${sh(pg.container)}`,
      `readonly PG_UNIT=${sh(unitName("postgres.unit", pg.unit))}`,
      `readonly PG_IMAGE=${sh(pg.image)}`,
      `readonly PG_VOLUME=${sh(volumeName("postgres.dataVolume", pg.dataVolume))}`,
      `readonly PG_DATA=${sh(absolutePath("postgres.dataPath", pg.dataPath))}`,
      `readonly PG_BACKREST_CONF=${sh(absolutePath("postgres.configFile", pg.configFile))}`,
    );
  }
  if (spec.redis) {
    lines.push(`readonly REDIS_UNIT=${sh(unitName("redis.unit", spec.redis.unit))}`, `readonly REDIS_VOLUME=${sh(volumeName("redis.dataVolume", spec.redis.dataVolume))}`, `readonly REDIS_KEEP_DAYS=${spec.redis.retentionDays}`);
  }
  if (spec.media) {
    lines.push(`readonly MEDIA_VOLUME=${sh(volumeName("media.dataVolume", spec.media.dataVolume))}`, `readonly MEDIA_KEEP_DAYS=${spec.media.retentionDays}`);
  }
  if (spec.restic) {
    lines.push(`readonly RESTIC_REPOSITORY=${sh(spec.restic.repository)}`);
  }
  return lines;
}

const RESTIC_FUNCTION = `
# The value of a podman secret (podman >= 4.5), for restic's environment only: never argv, never a file.
secret_value() {
  podman secret inspect --showsecret --format '{{.SecretData}}' "$1"
}

# Where a podman volume's data lives on the host (restic stores and restores this absolute path).
volume_path() {
  podman volume inspect --format '{{.Mountpoint}}' "$1"
}

# restic from the host's package, as root of senex's user namespace (reads and restores the
# containers' files with their owners). Usage: restic_run RESTIC-ARGS...
restic_run() {
  local password key_id key_secret
  if ! command -v restic >/dev/null; then
    echo "senex-backup: restic is not installed on this host (the host layer installs Debian's restic where backups run)" >&2
    return 69
  fi
  password="$(secret_value "$PASSPHRASE_SECRET")"
  key_id="$(secret_value "$S3_KEY_SECRET")"
  key_secret="$(secret_value "$S3_SECRET_SECRET")"
  RESTIC_PASSWORD="$password" AWS_ACCESS_KEY_ID="$key_id" AWS_SECRET_ACCESS_KEY="$key_secret" RESTIC_REPOSITORY="$RESTIC_REPOSITORY" \\
    podman unshare restic "$@"
}
`;

/**
 * pgBackRest inside the running server container, as `postgres`: the socket's peer line admits
 * that OS user, and the lock, log and spool files it shares with archive-push (run by the server
 * as postgres) must not become root's.
 */
const PG_EXEC = 'podman exec --user postgres "$PG_CONTAINER" pgbackrest --stanza="$STANZA"';

/**
 * Renders the backup script (`senex-backup init|postgres-full|postgres-diff|redis|media`). On
 * success it writes `senex_backup_last_success_timestamp_seconds{kind=…}` atomically into the
 * textfile-collector directory; on failure it writes nothing, so the BackupTooOld alert fires.
 */
export function renderBackupScript(spec: BackupHostSpec): string {
  checkHost(spec);
  const kinds = new Set(spec.jobs.map((j) => j.kind));
  const cases: string[] = [];
  const initSteps: string[] = [];
  if (kinds.has("postgres-full") || kinds.has("postgres-diff")) {
    // stanza-create is idempotent; check forces a WAL switch and waits until it is archived.
    initSteps.push(`    ${PG_EXEC} stanza-create`, `    ${PG_EXEC} check`);
  }
  if (kinds.has("redis") || kinds.has("media")) {
    initSteps.push("    restic_run cat config >/dev/null 2>&1 || restic_run init");
  }
  cases.push(`  init)\n${initSteps.length > 0 ? initSteps.join("\n") : "    :"}\n    ;;`);
  for (const kind of BACKUP_KINDS) {
    if (!kinds.has(kind)) continue;
    switch (kind) {
      case "postgres-full":
      case "postgres-diff":
        cases.push(`  ${kind})\n    ${PG_EXEC} --type=${kind === "postgres-full" ? "full" : "diff"} backup\n    write_metric ${kind}\n    ;;`);
        break;
      case "redis":
        // The whole data directory: dump.rdb plus the AOF directory (AOF wins at load time; a
        // torn tail is repaired by aof-load-truncated, Redis's default).
        cases.push(`  redis)\n    data="$(volume_path "$REDIS_VOLUME")"\n    restic_run backup --tag redis --host "$(hostname)" "$data"\n    restic_run forget --tag redis --host "$(hostname)" --keep-within "\${REDIS_KEEP_DAYS}d" --prune\n    write_metric redis\n    ;;`);
        break;
      case "media":
        cases.push(`  media)\n    data="$(volume_path "$MEDIA_VOLUME")"\n    restic_run backup --tag media --host "$(hostname)" "$data"\n    restic_run forget --tag media --host "$(hostname)" --keep-within "\${MEDIA_KEEP_DAYS}d" --prune\n    write_metric media\n    ;;`);
        break;
      default: {
        const never: never = kind;
        throw new Error(`unknown backup kind ${String(never)}`);
      }
    }
  }
  const usage = ["init", ...BACKUP_KINDS.filter((k) => kinds.has(k))].join("|");
  const body = `# Atomic write (temp file + rename) so node-exporter never reads half a file.
write_metric() {
  local kind="$1" tmp
  install -d -m 0755 "$TEXTFILE_DIR"
  tmp="$(mktemp "$TEXTFILE_DIR/.senex_backup_$kind.XXXXXX")"
  {
    printf '# HELP %s Unix time of the last successful backup of this kind.\\n' "$METRIC"
    printf '# TYPE %s gauge\\n' "$METRIC"
    printf '%s{kind="%s"} %s\\n' "$METRIC" "$kind" "$(date +%s)"
  } >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$TEXTFILE_DIR/senex_backup_$kind.prom"
}
${kinds.has("redis") || kinds.has("media") ? RESTIC_FUNCTION : ""}
case "\${1:-}" in
${cases.join("\n")}
  *)
    echo "usage: $0 ${usage}" >&2
    exit 64
    ;;
esac
`;
  return `#!/bin/bash
# senex-backup: rendered by senex-infra. Runs one backup job; records its success for Prometheus.
set -euo pipefail

${settingsFor(spec, body)}

${body}`;
}

/**
 * Renders the restore script (`senex-restore postgres [TARGET-TIME] | redis | media`). It stops the
 * service, restores into its volume, and starts it again. PostgreSQL restores run pgBackRest in a
 * one-off container of the server image with `--delta` (only changed files are fetched), and with
 * a target time do point-in-time recovery and promote.
 */
export function renderRestoreScript(spec: BackupHostSpec): string {
  checkHost(spec);
  const parts: string[] = [];
  if (spec.postgres) {
    parts.push(`  postgres)
    target_time="\${2:-}"
    recovery=()
    if [ -n "$target_time" ]; then
      recovery=(--type=time "--target=$target_time" --target-action=promote)
    fi
    systemctl --user stop "$PG_UNIT"
    podman run --rm --network=host --user postgres \\
      --volume "$PG_VOLUME:$PG_DATA" \\
      --volume "$PG_BACKREST_CONF:/etc/pgbackrest/pgbackrest.conf:ro" \\
      --secret "$PASSPHRASE_SECRET,type=env,target=PGBACKREST_REPO1_CIPHER_PASS" \\
      --secret "$S3_KEY_SECRET,type=env,target=PGBACKREST_REPO1_S3_KEY" \\
      --secret "$S3_SECRET_SECRET,type=env,target=PGBACKREST_REPO1_S3_KEY_SECRET" \\
      "$PG_IMAGE" pgbackrest --stanza="$STANZA" --delta "\${recovery[@]}" restore
    systemctl --user start "$PG_UNIT"
    ;;`);
  }
  if (spec.redis && spec.restic) {
    parts.push(`  redis)
    systemctl --user stop "$REDIS_UNIT"
    podman volume create --ignore "$REDIS_VOLUME" >/dev/null
    # The snapshot holds the volume's absolute host path: restoring to / puts it back there.
    restic_run restore latest --tag redis --host "$(hostname)" --target / --delete
    systemctl --user start "$REDIS_UNIT"
    ;;`);
  }
  if (spec.media && spec.restic) {
    parts.push(`  media)
    podman volume create --ignore "$MEDIA_VOLUME" >/dev/null
    restic_run restore latest --tag media --host "$(hostname)" --target /
    ;;`);
  }
  const names = ["postgres", "redis", "media"].filter((n) => parts.some((p) => p.startsWith(`  ${n})`)));
  const usesRestic = spec.restic !== undefined && (spec.redis !== undefined || spec.media !== undefined);
  const body = `${usesRestic ? RESTIC_FUNCTION : ""}
case "\${1:-}" in
${parts.join("\n")}
  *)
    echo "usage: $0 ${names.join("|") || "(nothing to restore on this host)"} [target-time]" >&2
    exit 64
    ;;
esac
`;
  return `#!/bin/bash
# senex-restore: rendered by senex-infra. Restores one service from the backup repository.
# Usage: senex-restore postgres ['YYYY-MM-DD HH:MM:SS+00'] | redis | media
# Phase 3: restore the primary only; then re-clone the standby from it (its timeline is gone).
set -euo pipefail

${settingsFor(spec, body)}
${body}`;
}

/**
 * Renders the systemd --user units: `senex-backup-init.service` (stanza-create + check, restic
 * init; once per boot) and a service + timer per job. File name → content.
 */
export function renderBackupUnits(spec: BackupHostSpec): Readonly<Record<string, string>> {
  checkHost(spec);
  const units: Record<string, string> = {};
  const init = "senex-backup-init.service";
  const header = ["Rendered by senex-infra (render/backup.ts); do not edit on the host."];
  units[init] = renderUnitSections(
    [
      { name: "Unit", entries: [["Description", "senex backups: create the pgBackRest stanza / restic repository and check archiving"], ["Wants", "network-online.target"], ["After", "network-online.target"]] },
      { name: "Service", entries: [["Type", "oneshot"], ["RemainAfterExit", true], ["ExecStart", unitCommandLine([spec.scriptPath, "init"])], ["TimeoutStartSec", "15min"]] },
      { name: "Install", entries: [["WantedBy", "default.target"]] },
    ],
    header,
  );
  for (const job of spec.jobs) {
    const schedule = job.schedule ?? defaultSchedule(job.kind);
    if (/[\n\r]/.test(schedule) || schedule.trim() === "") throw new Error(`\`jobs.${job.kind}.schedule\` must be one OnCalendar expression`);
    const base = `senex-backup-${job.kind}`;
    units[`${base}.service`] = renderUnitSections(
      [
        {
          name: "Unit",
          entries: [
            ["Description", `senex backup: ${job.kind}`],
            // Requires the init unit: if the stanza cannot be created, no job pretends to succeed.
            ["Requires", init],
            ["After", init],
          ],
        },
        {
          name: "Service",
          entries: [
            ["Type", "oneshot"],
            ["ExecStart", unitCommandLine([spec.scriptPath, job.kind])],
            ["Nice", 10],
            ["IOSchedulingClass", "idle"],
            ["TimeoutStartSec", "6h"],
          ],
        },
      ],
      header,
    );
    units[`${base}.timer`] = renderUnitSections(
      [
        { name: "Unit", entries: [["Description", `senex backup schedule: ${job.kind}`]] },
        {
          name: "Timer",
          entries: [
            ["OnCalendar", schedule],
            // Persistent: a job missed while the host was down runs at the next boot.
            ["Persistent", true],
            ["RandomizedDelaySec", "5min"],
            ["Unit", `${base}.service`],
          ],
        },
        { name: "Install", entries: [["WantedBy", "timers.target"]] },
      ],
      header,
    );
  }
  return units;
}
