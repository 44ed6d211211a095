/**
 * Backups through their real consumers (Debian trixie chroot): pgBackRest 2.55 takes the rendered
 * pgbackrest.conf and — with PostgreSQL 17 on the rendered postgresql.conf archiving WAL through
 * it — creates the stanza, checks archiving, takes an encrypted full and a differential backup,
 * and restores one that starts and holds the data; the S3 variant is accepted up to the network;
 * shellcheck passes every script; systemd-analyze verify passes every unit.
 */
import { randomBytes } from "crypto";
import { renderBackupScript, renderBackupUnits, renderPgBackRestConf, renderRestoreScript } from "../../render/backup";
import { renderPgHba, renderPostgresConf } from "../../render/postgres";
import { runInTrixie } from "../support/trixie";
import { backupSpec, renderPhaseFiles } from "../unit/render/data-services-specs";
import { expectExit, PG_BIN, PG_DIR, START_POSTGRES, testPostgresConf, testPostgresSpec } from "./pg-cluster";

const hba = renderPgHba({ database: "senex", app: { user: "senex", clients: ["127.0.0.1"] } });
const pgbackrest = renderPgBackRestConf({
  stanza: "senex",
  repo: { kind: "posix", path: `${PG_DIR}/repo` },
  retentionDays: 30,
  pgDataPath: `${PG_DIR}/data`,
  pgSocketPath: `${PG_DIR}/run`,
  spoolPath: `${PG_DIR}/spool`,
});
const RESTORED = "/tmp/pg/restored";
const restoredConf = renderPostgresConf(testPostgresSpec({ dataDirectory: RESTORED }, PG_DIR, 5433)).replace(`unix_socket_directories = '${PG_DIR}/run'`, `unix_socket_directories = '${PG_DIR}/run2'`);

describe("pgBackRest 2.55 with PostgreSQL 17 on the rendered files", () => {
  it("stanza-create, check (WAL archived by the rendered archive_command), encrypted full + diff backup, restore that starts with the data", () => {
    const r = runInTrixie(
      [
        "sh",
        "-c",
        `${START_POSTGRES}
mkdir -p ${PG_DIR}/run2 && chown postgres:postgres ${PG_DIR}/run2
br() { runuser -u postgres -- pgbackrest --stanza=senex "$@"; }
br stanza-create >/dev/null
br check >/dev/null
psql_su -c "CREATE TABLE kept AS SELECT 'before-full'::text AS v" >/dev/null
br --type=full backup >/dev/null
psql_su -c "INSERT INTO kept VALUES ('before-diff')" >/dev/null
br --type=diff backup >/dev/null
br info --output=json | tr -d ' \\n' | grep -o '"cipher":"[a-z0-9-]*"\\|"type":"full"\\|"type":"diff"' | sort -u | tr '\\n' ' '; echo
echo "archived:$(psql_su -c "SELECT archived_count > 0 AND failed_count = 0 FROM pg_stat_archiver")"
grep -c -- "$PGBACKREST_REPO1_CIPHER_PASS" ${PG_DIR}/pgbackrest.conf || true
runuser -u postgres -- ${PG_BIN}/pg_ctl -D ${PG_DIR}/data -m fast -w stop >/dev/null
br --pg1-path=${RESTORED} restore >/dev/null
runuser -u postgres -- ${PG_BIN}/pg_ctl -D ${RESTORED} -o "-c config_file=${PG_DIR}/restored.conf" -l ${PG_DIR}/restored.log -w -t 60 start >/dev/null || { cat ${PG_DIR}/restored.log >&2; exit 94; }
for i in $(seq 1 100); do runuser -u postgres -- psql -h ${PG_DIR}/run2 -p 5433 -U postgres -d postgres -At -c "SELECT pg_is_in_recovery()" 2>/dev/null | grep -q f && break; sleep 0.1; done
echo "restored:$(runuser -u postgres -- psql -h ${PG_DIR}/run2 -p 5433 -U postgres -d postgres -At -c "SELECT string_agg(v, ',' ORDER BY v) FROM kept")"`,
      ],
      {
        files: { "postgresql.conf": testPostgresConf({ archive: { stanza: "senex", timeoutSeconds: 60 } }), "pg_hba.conf": hba, "pgbackrest.conf": pgbackrest, "restored.conf": restoredConf },
        // pgBackRest reads its config path and the cipher pass from the environment, as in the container.
        env: { PGBACKREST_CONFIG: `${PG_DIR}/pgbackrest.conf`, PGBACKREST_REPO1_CIPHER_PASS: randomBytes(24).toString("base64url") },
        timeoutMs: 180_000,
      },
    );
    expectExit(r, 0);
    expect(r.stdout.trim().split("\n")).toEqual(['"cipher":"aes-256-cbc" "type":"diff" "type":"full" ', "archived:t", "0", "restored:before-diff,before-full"]);
  });

  it("the S3 variant is accepted up to the network (the only error is the unreachable endpoint); a broken option is refused", () => {
    const s3 = (uriStyle: string) =>
      renderPgBackRestConf({
        stanza: "senex",
        repo: { kind: "s3", endpoint: "127.0.0.1:9", bucket: "senex-backups", region: "fsn1" },
        retentionDays: 30,
        pgDataPath: "/var/lib/postgresql/data",
        spoolPath: "/var/spool/pgbackrest",
      }).replace("repo1-s3-uri-style=path", `repo1-s3-uri-style=${uriStyle}`);
    const run = (conf: string) =>
      runInTrixie((dir) => ["pgbackrest", `--config=${dir}/pgbackrest.conf`, "--stanza=senex", "--io-timeout=1", "info"], {
        files: { "pgbackrest.conf": conf },
        env: { PGBACKREST_REPO1_S3_KEY: "test-key", PGBACKREST_REPO1_S3_KEY_SECRET: "test-secret", PGBACKREST_REPO1_CIPHER_PASS: "test-pass" },
        timeoutMs: 60_000,
      });
    const ok = run(s3("path"));
    expect(ok.stdout + ok.stderr).toMatch(/HostConnectError|unable to connect|Connection refused/);
    expect(ok.stdout + ok.stderr).not.toMatch(/OptionInvalid/);
    const broken = run(s3("virtual-hosted"));
    expect(broken.stdout + broken.stderr).toMatch(/\[032\]: 'virtual-hosted' is not allowed for 'repo1-s3-uri-style' option/);
  });
});

describe("backup scripts and units", () => {
  it.each([1, 2, 3] as const)("shellcheck passes every backup and restore script of phase %i", (phase) => {
    const scripts = Object.fromEntries(Object.entries(renderPhaseFiles(phase)).filter(([k]) => /senex-(backup|restore)$/.test(k)).map(([k, v]) => [k.replace("/", "-"), v]));
    expect(Object.keys(scripts).length).toBeGreaterThanOrEqual(phase === 1 ? 2 : 6);
    const r = runInTrixie(["sh", "-c", 'shellcheck -S style -s bash "$@"', "shellcheck", ...Object.keys(scripts)], { files: scripts });
    expect(r.stdout + r.stderr).toBe("");
    expectExit(r, 0);
  });

  it("systemd-analyze verify --user passes every unit (init, services, timers), and the script answers usage with 64", () => {
    const spec = { ...backupSpec([{ kind: "postgres-full" }, { kind: "postgres-diff" }, { kind: "redis" }, { kind: "media" }]), scriptPath: "/tmp/bin/senex-backup" };
    const units = renderBackupUnits(spec);
    expect(Object.keys(units).sort()).toEqual([
      "senex-backup-init.service",
      "senex-backup-media.service",
      "senex-backup-media.timer",
      "senex-backup-postgres-diff.service",
      "senex-backup-postgres-diff.timer",
      "senex-backup-postgres-full.service",
      "senex-backup-postgres-full.timer",
      "senex-backup-redis.service",
      "senex-backup-redis.timer",
    ]);
    const r = runInTrixie(
      [
        "sh",
        "-c",
        `mkdir -p /tmp/bin && install -m 0755 senex-backup /tmp/bin/senex-backup
systemd-analyze verify --user --man=no --generators=no ${Object.keys(units).join(" ")}
for t in ${Object.keys(units).filter((u) => u.endsWith(".timer")).join(" ")}; do systemd-analyze calendar "$(sed -n 's/^OnCalendar=//p' "$t")" >/dev/null || echo "bad calendar in $t"; done
/tmp/bin/senex-backup bogus 2>&1 || echo "exit:$?"`,
      ],
      { files: { ...units, "senex-backup": renderBackupScript(spec), "senex-restore": renderRestoreScript(spec) } },
    );
    expect(r.stderr).toBe("");
    expectExit(r, 0);
    expect(r.stdout.trim()).toBe("usage: /tmp/bin/senex-backup init|postgres-full|postgres-diff|redis|media\nexit:64");
  });

  it("the script's success metric is valid exposition format for node-exporter's textfile collector (promtool check metrics), written atomically", () => {
    const spec = { ...backupSpec([{ kind: "postgres-full" }]), textfileDirectory: "/tmp/textfile" };
    const r = runInTrixie(
      [
        "bash",
        "-c",
        // Runs the rendered write_metric function itself (the jobs around it need podman containers: hosts tier).
        `set -euo pipefail
mkdir -p /tmp/textfile
eval "$(sed -n -e '/^readonly TEXTFILE_DIR=/p' -e '/^readonly METRIC=/p' -e '/^write_metric() {/,/^}/p' senex-backup)"
write_metric postgres-full
ls -A /tmp/textfile
promtool check metrics < /tmp/textfile/senex_backup_postgres-full.prom
sed -n 's/^senex_backup_last_success_timestamp_seconds{kind="postgres-full"} \\([0-9]*\\)$/ts:\\1/p' /tmp/textfile/senex_backup_postgres-full.prom`,
      ],
      { files: { "senex-backup": renderBackupScript(spec) } },
    );
    expectExit(r, 0);
    const [file, ts] = r.stdout.trim().split("\n");
    expect(file).toBe("senex_backup_postgres-full.prom");
    expect(Math.abs(Number(ts!.replace("ts:", "")) - Date.now() / 1000)).toBeLessThan(120);
  });

  it("a deliberately broken render fails its consumers: a misspelled unit key, an unquoted variable", () => {
    const spec = { ...backupSpec([{ kind: "redis" }]), scriptPath: "/tmp/bin/senex-backup" };
    const units = renderBackupUnits(spec);
    const brokenUnit = units["senex-backup-redis.timer"]!.replace("OnCalendar=", "OnCalender=");
    const unitRun = runInTrixie(["sh", "-c", "mkdir -p /tmp/bin && install -m 0755 senex-backup /tmp/bin/senex-backup && systemd-analyze verify --user --man=no --generators=no senex-backup-redis.timer senex-backup-redis.service"], {
      files: { ...units, "senex-backup-redis.timer": brokenUnit, "senex-backup": renderBackupScript(spec) },
    });
    expect(unitRun.stdout + unitRun.stderr).toMatch(/Unknown key 'OnCalender' in section \[Timer\]/);
    const script = renderBackupScript(spec);
    expect(script).toContain('"$data"');
    const brokenScript = script.replace('"$data"', "$data");
    const shRun = runInTrixie(["shellcheck", "-S", "style", "senex-backup"], { files: { "senex-backup": brokenScript } });
    expectExit(shRun, 1);
    expect(shRun.stdout).toMatch(/SC2086/);
  });
});
