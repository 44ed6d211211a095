/**
 * Shell steps the PostgreSQL-side consumer tests share (postgres, pgbouncer, pgbackrest): they run
 * inside one `runInTrixie` call, whose /tmp is a private tmpfs and whose network is a private
 * loopback, so each test gets its own cluster on 127.0.0.1 and nothing outlives the call.
 *
 * The rendered files are written by runInTrixie into the working directory; the script copies
 * them to PG_DIR (/tmp/pg), the fixed path the specs were rendered for.
 */
import { renderPostgresConf, type PostgresConfSpec } from "../../render/postgres";

export const PG_DIR = "/tmp/pg";
export const PG_BIN = "/usr/lib/postgresql/17/bin";

/** A PostgreSQL 17 spec rendered for a test cluster under `dir` on 127.0.0.1:`port`. */
export function testPostgresSpec(over: Partial<PostgresConfSpec> = {}, dir = PG_DIR, port = 5432): PostgresConfSpec {
  return {
    major: 17,
    resources: { memoryMiB: 1024, cpus: 2 },
    listenAddress: "127.0.0.1",
    port,
    dataDirectory: `${dir}/data`,
    hbaFile: `${dir}/pg_hba.conf`,
    socketDirectory: `${dir}/run`,
    tls: { certFile: `${PG_DIR}/server.crt`, keyFile: `${PG_DIR}/server.key` },
    replication: { kind: "standalone" },
    ...over,
  };
}

export function testPostgresConf(over: Partial<PostgresConfSpec> = {}): string {
  return renderPostgresConf(testPostgresSpec(over));
}

/**
 * sh prelude: copies the working directory to PG_DIR, makes a self-signed certificate (its own CA),
 * runs initdb (peer auth for the postgres OS user), then starts the server on the rendered
 * postgresql.conf with `-c config_file=` and waits until it accepts connections.
 * `psql_su` runs SQL as the superuser over the socket.
 */
export const START_POSTGRES = `
set -eu
mkdir -p ${PG_DIR}/run ${PG_DIR}/spool ${PG_DIR}/repo
cp -r ./. ${PG_DIR}/
openssl req -x509 -newkey rsa:2048 -nodes -keyout ${PG_DIR}/server.key -out ${PG_DIR}/server.crt -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 2 2>/dev/null
chown -R postgres:postgres ${PG_DIR}
chmod 0600 ${PG_DIR}/server.key
runuser -u postgres -- ${PG_BIN}/initdb -D ${PG_DIR}/data -U postgres --auth=peer >/dev/null
runuser -u postgres -- ${PG_BIN}/pg_ctl -D ${PG_DIR}/data -o "-c config_file=${PG_DIR}/postgresql.conf" -l ${PG_DIR}/server.log -w -t 60 start >/dev/null || { cat ${PG_DIR}/server.log >&2; exit 90; }
psql_su() { runuser -u postgres -- psql -h ${PG_DIR}/run -U postgres -d postgres -v ON_ERROR_STOP=1 -At "$@"; }
`;

/** Asserts an exit code; on failure jest's diff shows the consumer's stderr and stdout. */
export function expectExit(r: { code: number; stdout: string; stderr: string }, code: number): void {
  expect(`exit ${r.code}\n${r.stderr}\n${r.stdout}`).toBe(`exit ${code}\n${r.stderr}\n${r.stdout}`);
}
