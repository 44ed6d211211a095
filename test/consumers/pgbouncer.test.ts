/**
 * pgbouncer.ini + auth_file through PgBouncer 1.24 (Debian trixie) in front of PostgreSQL 17: a
 * client logs in with SCRAM through the pool, and PgBouncer logs in to PostgreSQL over TLS with
 * the client's SCRAM keys — possible only because the auth_file verifier (computed by our
 * scramVerifier) is byte-identical to the server's. No plaintext password is in any file.
 */
import { randomBytes } from "crypto";
import { renderPgHba } from "../../render/postgres";
import { renderPgBouncerAuthFile, renderPgBouncerIni, scramVerifier } from "../../render/pgbouncer";
import { runInTrixie } from "../support/trixie";
import { expectExit, PG_DIR, START_POSTGRES, testPostgresConf } from "./pg-cluster";

const hba = renderPgHba({ database: "senex", app: { user: "senex", clients: ["127.0.0.1"] } });
const ini = renderPgBouncerIni({
  listenAddress: "127.0.0.1",
  databases: [{ name: "senex", host: "127.0.0.1" }],
  authFile: `${PG_DIR}/userlist.txt`,
  socketDirectory: `${PG_DIR}/run`,
  serverTls: { sslmode: "verify-ca", caFile: `${PG_DIR}/server.crt` },
  clientTls: { certFile: `${PG_DIR}/server.crt`, keyFile: `${PG_DIR}/server.key` },
});

/** Starts PostgreSQL and PgBouncer (as postgres: PgBouncer refuses root), then waits for 6432. */
const START_BOTH = `${START_POSTGRES}
echo "CREATE ROLE senex LOGIN PASSWORD :'verifier'" | psql_su -v verifier="$APP_VERIFIER" >/dev/null
psql_su -c "CREATE DATABASE senex OWNER senex" >/dev/null
runuser -u postgres -- pgbouncer ${PG_DIR}/pgbouncer.ini >${PG_DIR}/pgbouncer.log 2>&1 &
for i in $(seq 1 50); do [ -S ${PG_DIR}/run/.s.PGSQL.6432 ] && break; sleep 0.1; done
[ -S ${PG_DIR}/run/.s.PGSQL.6432 ] || { cat ${PG_DIR}/pgbouncer.log >&2; exit 92; }
`;

describe("PgBouncer 1.24 on the rendered ini and auth_file", () => {
  it("pools a SCRAM login over TLS to PostgreSQL with only the verifier on disk", () => {
    const password = randomBytes(18).toString("base64url");
    const verifier = scramVerifier(password, randomBytes(16));
    const r = runInTrixie(
      [
        "sh",
        "-c",
        `${START_BOTH}
PGPASSWORD="$APP_PASSWORD" psql "host=127.0.0.1 port=6432 dbname=senex user=senex sslmode=require" -At -c "SELECT current_user, inet_server_port(), (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())"
PGPASSWORD=wrong-password psql "host=127.0.0.1 port=6432 dbname=senex user=senex sslmode=require" -At -c "SELECT 1" 2>&1 || echo "refused:$?"
psql "host=127.0.0.1 port=6432 dbname=senex user=senex sslmode=disable" -At -c "SELECT 1" 2>&1 || echo "refused:$?"
grep -c -- "$APP_PASSWORD" ${PG_DIR}/userlist.txt ${PG_DIR}/pgbouncer.ini || true`,
      ],
      {
        files: { "postgresql.conf": testPostgresConf(), "pg_hba.conf": hba, "pgbouncer.ini": ini, "userlist.txt": renderPgBouncerAuthFile([{ user: "senex", verifier }]) },
        env: { APP_PASSWORD: password, APP_VERIFIER: verifier },
        timeoutMs: 90_000,
      },
    );
    expectExit(r, 0);
    const lines = r.stdout.trim().split("\n");
    // Through the pool to the server on 5432, and the server-side connection is TLS.
    expect(lines[0]).toBe("senex|5432|t");
    expect(lines.slice(1).join("\n")).toMatch(/SASL authentication failed\nrefused:2/);
    // client_tls_sslmode=require: PgBouncer refuses a plain-text client.
    expect(lines.slice(1).join("\n")).toMatch(/SSL required\nrefused:2/);
    expect(lines.slice(-2)).toEqual([`${PG_DIR}/userlist.txt:0`, `${PG_DIR}/pgbouncer.ini:0`]);
  });

  it("a deliberately broken render (unknown pool_mode) fails its consumer", () => {
    const broken = ini.replace("pool_mode = transaction", "pool_mode = transactions");
    const verifier = scramVerifier("x".repeat(20), randomBytes(16));
    const r = runInTrixie(["sh", "-c", START_BOTH], {
      files: { "postgresql.conf": testPostgresConf(), "pg_hba.conf": hba, "pgbouncer.ini": broken, "userlist.txt": renderPgBouncerAuthFile([{ user: "senex", verifier }]) },
      env: { APP_VERIFIER: verifier },
      timeoutMs: 60_000,
    });
    expectExit(r, 92);
    expect(r.stderr).toMatch(/pool_mode/);
  });
});
