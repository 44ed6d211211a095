import { BACKUP_KINDS, PGBACKREST_SECRET_ENV, renderBackupScript, renderBackupUnits, renderPgBackRestConf, renderRestoreScript, type PgBackRestSpec } from "../../../render/backup";
import { BACKUP_METRIC } from "../../../render/prometheus";
import { backupSpec, renderPhaseFiles } from "./data-services-specs";

const s3: PgBackRestSpec = {
  stanza: "senex",
  repo: { kind: "s3", endpoint: "fsn1.your-objectstorage.com", bucket: "senex-backups", region: "fsn1" },
  retentionDays: 30,
  pgDataPath: "/var/lib/postgresql/data",
  spoolPath: "/var/spool/pgbackrest",
};
const ini = (text: string) => new Map(text.split("\n").filter((l) => /^[a-z0-9-]+=/.test(l)).map((l) => l.split("=", 2) as [string, string]));

describe("renderPgBackRestConf", () => {
  it("snapshot", () => expect(renderPgBackRestConf(s3)).toMatchSnapshot());

  it("S3 path style, retention owned by pgBackRest (30 days of fulls), AES-256, secrets only from the environment", () => {
    const c = ini(renderPgBackRestConf(s3));
    expect(c.get("repo1-type")).toBe("s3");
    expect(c.get("repo1-s3-uri-style")).toBe("path");
    expect(c.get("repo1-retention-full-type")).toBe("time");
    expect(c.get("repo1-retention-full")).toBe("30");
    expect(c.get("repo1-cipher-type")).toBe("aes-256-cbc");
    for (const key of ["repo1-cipher-pass", "repo1-s3-key", "repo1-s3-key-secret"]) expect(c.has(key)).toBe(false);
    expect(Object.values(PGBACKREST_SECRET_ENV)).toEqual(["PGBACKREST_REPO1_CIPHER_PASS", "PGBACKREST_REPO1_S3_KEY", "PGBACKREST_REPO1_S3_KEY_SECRET"]);
  });

  it.each<[string, Partial<PgBackRestSpec>, RegExp]>([
    ["an endpoint with a scheme", { repo: { kind: "s3", endpoint: "https://x.example", bucket: "b-1", region: "r" } }, /endpoint/],
    ["a bad stanza", { stanza: "se nex" }, /stanza/],
    ["zero retention", { retentionDays: 0 }, /retentionDays/],
  ])("rejects %s", (_n, over, message) => expect(() => renderPgBackRestConf({ ...s3, ...over })).toThrow(message));
});

describe("backup script, restore script, units", () => {
  const all = backupSpec(BACKUP_KINDS.map((kind) => ({ kind })));

  it("snapshots for a host with every job", () => {
    expect({ backup: renderBackupScript(all), restore: renderRestoreScript(all), units: renderBackupUnits(all) }).toMatchSnapshot();
  });

  it("records success only after the job's commands (set -e), atomically, in the textfile collector format", () => {
    const script = renderBackupScript(all);
    expect(script).toMatch(/^set -euo pipefail$/m);
    expect(script).toMatch(/--type=full backup\n    write_metric postgres-full\n/);
    expect(script).toMatch(/--prune\n    write_metric redis\n/);
    expect(script).toContain(`readonly METRIC=${BACKUP_METRIC}`);
    expect(script).toMatch(/mv -f "\$tmp" "\$TEXTFILE_DIR\/senex_backup_\$kind\.prom"/);
  });

  it("a host runs only its jobs and names only what it uses", () => {
    const redisOnly = renderBackupScript(backupSpec([{ kind: "redis" }]));
    expect(redisOnly).not.toMatch(/pgbackrest|PG_CONTAINER/);
    expect(redisOnly).toMatch(/usage: \$0 init\|redis"/);
    const pgOnly = renderBackupScript(backupSpec([{ kind: "postgres-full" }]));
    expect(pgOnly).not.toMatch(/restic/);
  });

  it("one service + timer per job and the init unit; timers persistent; jobs require init", () => {
    const units = renderBackupUnits(backupSpec([{ kind: "postgres-full" }, { kind: "postgres-diff", schedule: "*-*-* 04:00:00 UTC" }]));
    expect(Object.keys(units).sort()).toEqual(["senex-backup-init.service", "senex-backup-postgres-diff.service", "senex-backup-postgres-diff.timer", "senex-backup-postgres-full.service", "senex-backup-postgres-full.timer"]);
    expect(units["senex-backup-postgres-full.timer"]).toMatch(/^OnCalendar=Sun \*-\*-\* 02:15:00 UTC$/m);
    expect(units["senex-backup-postgres-diff.timer"]).toMatch(/^OnCalendar=\*-\*-\* 04:00:00 UTC$/m);
    expect(units["senex-backup-postgres-full.timer"]).toMatch(/^Persistent=true$/m);
    expect(units["senex-backup-postgres-full.service"]).toMatch(/^Requires=senex-backup-init\.service$/m);
    expect(units["senex-backup-postgres-full.service"]).toMatch(/^ExecStart=\/home\/senex\/\.local\/bin\/senex-backup postgres-full$/m);
  });

  it("rejects jobs whose data source is missing, duplicate kinds and newline schedules", () => {
    const { postgres: _pg, ...noPg } = backupSpec([{ kind: "postgres-full" }]);
    expect(() => renderBackupScript(noPg)).toThrow(/`postgres` is required/);
    expect(() => renderBackupScript(backupSpec([{ kind: "redis" }, { kind: "redis" }]))).toThrow(/twice/);
    expect(() => renderBackupUnits(backupSpec([{ kind: "media", schedule: "daily\nExecStart=/bin/sh" }]))).toThrow(/OnCalendar/);
  });

  it("every phase backs up PostgreSQL, Redis and media exactly once", () => {
    for (const phase of [1, 2, 3] as const) {
      const timers = Object.keys(renderPhaseFiles(phase)).filter((k) => k.endsWith(".timer")).map((k) => k.split("/")[1]).sort();
      expect(timers).toEqual(["senex-backup-media.timer", "senex-backup-postgres-diff.timer", "senex-backup-postgres-full.timer", "senex-backup-redis.timer"]);
    }
  });
});
