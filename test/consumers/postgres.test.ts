/**
 * postgresql.conf + pg_hba.conf through PostgreSQL 17 itself (Debian trixie, in the tools chroot):
 * the server starts on the rendered files, pg_hba has no error rows, SCRAM over TLS works with a
 * verifier computed by our TypeScript, plain TCP is refused, and a phase-3 standby streams from
 * the primary through the rendered primary_conninfo + passfile.
 */
import { randomBytes } from "crypto";
import { renderPgHba, renderPgPass, renderPostgresConf, replicationSlotSql } from "../../render/postgres";
import { scramVerifier } from "../../render/pgbouncer";
import { runInTrixie } from "../support/trixie";
import { expectExit, PG_BIN, PG_DIR, START_POSTGRES, testPostgresConf, testPostgresSpec } from "./pg-cluster";

const hba = renderPgHba({
  database: "senex",
  app: { user: "senex", clients: ["127.0.0.1"] },
  replication: { user: "replicator", clients: ["127.0.0.1"] },
  exporter: { user: "postgres_exporter", map: "senex_monitor" },
});

describe("PostgreSQL 17 on the rendered postgresql.conf + pg_hba.conf", () => {
  it("starts, applies the rendered settings, has no pg_hba errors, and lets the app in only with TLS + SCRAM", () => {
    const password = randomBytes(18).toString("base64url");
    const verifier = scramVerifier(password, randomBytes(16));
    const r = runInTrixie(
      [
        "sh",
        "-c",
        `${START_POSTGRES}
psql_su -c "SHOW ssl" -c "SHOW password_encryption" -c "SHOW shared_buffers" -c "SHOW listen_addresses" -c "SHOW archive_timeout" -c "SHOW allow_alter_system"
psql_su -c "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL"
echo "CREATE ROLE senex LOGIN PASSWORD :'verifier'" | psql_su -v verifier="$APP_VERIFIER" >/dev/null
psql_su -c "CREATE DATABASE senex OWNER senex" >/dev/null
psql_su -c "CREATE EXTENSION pg_stat_statements" >/dev/null
echo "--app-tls"
PGPASSWORD="$APP_PASSWORD" psql "host=127.0.0.1 dbname=senex user=senex sslmode=require" -At -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
echo "--app-plain"
PGPASSWORD="$APP_PASSWORD" psql "host=127.0.0.1 dbname=senex user=senex sslmode=disable" -At -c "SELECT 1" 2>&1 || echo "refused:$?"
echo "--app-wrong-password"
PGPASSWORD=wrong psql "host=127.0.0.1 dbname=senex user=senex sslmode=require" -At -c "SELECT 1" 2>&1 || echo "refused:$?"
echo "--stats"
psql_su -c "SELECT count(*) > 0 FROM pg_stat_statements"
runuser -u postgres -- ${PG_BIN}/pg_ctl -D ${PG_DIR}/data -m fast -w stop >/dev/null`,
      ],
      { files: { "postgresql.conf": testPostgresConf({ archive: { stanza: "senex", timeoutSeconds: 60 } }), "pg_hba.conf": hba }, env: { APP_PASSWORD: password, APP_VERIFIER: verifier }, timeoutMs: 90_000 },
    );
    expectExit(r, 0);
    expect(r.stderr).not.toMatch(/FATAL|ERROR/);
    const [settings, afterTls] = r.stdout.split("--app-tls\n");
    expect(settings!.trim().split("\n")).toEqual(["on", "scram-sha-256", "256MB", "127.0.0.1", "1min", "off", "0"]);
    expect(afterTls).toMatch(/^t\n--app-plain\n/);
    expect(afterTls).toMatch(/--app-plain\n.*pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "senex", database "senex", no encryption\nrefused:2/);
    expect(afterTls).toMatch(/--app-wrong-password\n.*password authentication failed for user "senex"\nrefused:2/);
    expect(afterTls).toMatch(/--stats\nt\n/);
  });

  it("the major-16 render starts too (no PostgreSQL 16 binary exists here; its parameters are a subset of what 17 knows)", () => {
    const r = runInTrixie(["sh", "-c", `${START_POSTGRES}\npsql_su -c "SHOW allow_alter_system" -c "SHOW server_version_num"`], {
      files: { "postgresql.conf": testPostgresConf({ major: 16, archive: { stanza: "senex", timeoutSeconds: 300 } }), "pg_hba.conf": hba },
      timeoutMs: 60_000,
    });
    expectExit(r, 0);
    // 16's render leaves allow_alter_system at its default (on): it does not exist in 16.
    expect(r.stdout).toMatch(/^on\n17\d{4}\n$/);
  });

  it("a deliberately broken render (a misspelled parameter) fails its consumer", () => {
    const broken = testPostgresConf() + "allow_alter_sytem = off\n";
    const r = runInTrixie(["sh", "-c", START_POSTGRES], { files: { "postgresql.conf": broken, "pg_hba.conf": hba }, timeoutMs: 60_000 });
    expect(r.code).toBe(90);
    expect(r.stderr).toMatch(/unrecognized configuration parameter "allow_alter_sytem"/);
  });

  it("phase 3: the rendered standby streams from the rendered primary through a replication slot, with the password only in the passfile", () => {
    const password = randomBytes(18).toString("base64url");
    const verifier = scramVerifier(password, randomBytes(16));
    const standbyDir = "/tmp/pg2";
    const primary = testPostgresConf({ replication: { kind: "primary" } });
    const standby = renderPostgresConf(
      testPostgresSpec(
        {
          replication: { kind: "standby", primaryAddress: "127.0.0.1", primaryPort: 5432, replicationUser: "replicator", passfile: `${standbyDir}/pgpass`, slotName: "db_2", applicationName: "db-2", sslRootCert: `${PG_DIR}/server.crt` },
        },
        standbyDir,
        5433,
      ),
    );
    const pgpass = renderPgPass([{ host: "127.0.0.1", port: 5432, database: "replication", user: "replicator", password }]);
    const r = runInTrixie(
      [
        "sh",
        "-c",
        `${START_POSTGRES}
echo "CREATE ROLE replicator REPLICATION LOGIN PASSWORD :'verifier'" | psql_su -v verifier="$REPL_VERIFIER" >/dev/null
psql_su -c "${replicationSlotSql("db_2")}" -c "${replicationSlotSql("db_2")}" >/dev/null
mkdir -p ${standbyDir}/run && cp ./standby.conf ${standbyDir}/postgresql.conf && cp ./pgpass ${standbyDir}/pgpass && cp ${PG_DIR}/pg_hba.conf ${standbyDir}/
chown -R postgres:postgres ${standbyDir} && chmod 0600 ${standbyDir}/pgpass
PGPASSFILE=${standbyDir}/pgpass runuser -u postgres -- ${PG_BIN}/pg_basebackup -h 127.0.0.1 -U replicator -D ${standbyDir}/data -X stream -d "sslmode=require"
runuser -u postgres -- touch ${standbyDir}/data/standby.signal
runuser -u postgres -- ${PG_BIN}/pg_ctl -D ${standbyDir}/data -o "-c config_file=${standbyDir}/postgresql.conf" -l ${standbyDir}/server.log -w -t 60 start >/dev/null || { cat ${standbyDir}/server.log >&2; exit 91; }
psql_su -c "CREATE TABLE t AS SELECT 42 AS answer" >/dev/null
for i in $(seq 1 50); do
  n=$(runuser -u postgres -- psql -h ${standbyDir}/run -p 5433 -U postgres -d postgres -At -c "SELECT answer FROM t" 2>/dev/null || true)
  [ "$n" = 42 ] && break
  sleep 0.2
done
echo "standby-sees:$n"
runuser -u postgres -- psql -h ${standbyDir}/run -p 5433 -U postgres -d postgres -At -c "SELECT pg_is_in_recovery()"
psql_su -c "SELECT application_name, state, ssl FROM pg_stat_replication JOIN pg_stat_ssl USING (pid)"
psql_su -c "SELECT slot_name, active FROM pg_replication_slots"
grep -c "${password}" ${standbyDir}/postgresql.conf || true`,
      ],
      { files: { "postgresql.conf": primary, "pg_hba.conf": hba, "standby.conf": standby, pgpass }, env: { REPL_VERIFIER: verifier }, timeoutMs: 120_000 },
    );
    expectExit(r, 0);
    expect(r.stdout.trim().split("\n")).toEqual(["standby-sees:42", "t", "db-2|streaming|t", "db_2|t", "0"]);
  });
});
