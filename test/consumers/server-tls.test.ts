/**
 * PostgreSQL 17 (trixie chroot) on what the deployment's own steps produce, not on test-made
 * material: the server certificate and key from render/server-tls.ts (the postgres Quadlet's
 * ExecStartPre; `podman unshare chown` is stood in by a podman stub that runs the chown, since the
 * chroot is already root), pg_hba + pg_ident with the admin and monitoring peer maps, and the roles
 * script creating the password-less monitoring role. Shows: the server starts on that key and an
 * sslmode=require client is encrypted; `psql -U postgres` as the container's root gets in through
 * the map (what `podman exec` without --user is); the exporter's `nobody` gets in as the
 * monitoring role with pg_monitor over the socket, and as nothing else.
 */
import { renderPostgresRolesSql } from "../../render/pgroles";
import { renderPgHba, renderPgIdent } from "../../render/postgres";
import { renderServerTlsScript } from "../../render/server-tls";
import { runInTrixie } from "../support/trixie";
import { expectExit, PG_BIN, PG_DIR, testPostgresConf } from "./pg-cluster";

const TLS_DIR = `${PG_DIR}/tls`;
const conf = testPostgresConf({ tls: { certFile: `${TLS_DIR}/server.crt`, keyFile: `${TLS_DIR}/server.key` }, identFile: `${PG_DIR}/pg_ident.conf` });
const hba = renderPgHba({
  database: "senex",
  app: { user: "senex", clients: ["127.0.0.1"] },
  exporter: { user: "senex_monitor", map: "senex_monitor" },
  socketSuperuserMap: "senex_admin",
});
const ident = renderPgIdent([
  { map: "senex_admin", systemUser: "postgres", databaseUser: "postgres" },
  { map: "senex_admin", systemUser: "root", databaseUser: "postgres" },
  { map: "senex_monitor", systemUser: "nobody", databaseUser: "senex_monitor" },
]);
const roles = renderPostgresRolesSql({ roles: [{ name: "senex_monitor", memberOf: ["pg_monitor"] }], databases: [] });
const PODMAN_STUB = `#!/bin/sh
# podman stand-in: only \`podman unshare CMD...\` (the chroot is root already, like the user namespace's root)
[ "$1" = unshare ] || { echo "podman stub: $*" >&2; exit 2; }
shift
exec "$@"
`;

describe("server TLS and peer maps on PostgreSQL 17", () => {
  it("starts on the key the ExecStartPre script makes, serves TLS, and admits the mapped peers only", () => {
    const r = runInTrixie(
      [
        "sh",
        "-c",
        `set -eu
install -m 0755 podman /usr/local/bin/podman
mkdir -p ${PG_DIR}/run && cp ./postgresql.conf ./pg_hba.conf ./pg_ident.conf ./roles.sql ${PG_DIR}/
chown -R postgres:postgres ${PG_DIR}
uid=$(id -u postgres); gid=$(id -g postgres)
bash ./server-tls.sh ${TLS_DIR} "$uid" "$gid" db-1 127.0.0.1
first=$(sha256sum ${TLS_DIR}/server.crt)
bash ./server-tls.sh ${TLS_DIR} "$uid" "$gid" db-1 127.0.0.1
[ "$first" = "$(sha256sum ${TLS_DIR}/server.crt)" ] && echo "kept"
[ "$(stat -c '%u:%g %a' ${TLS_DIR}/server.key)" = "$uid:$gid 600" ] && echo "key-owned"
openssl x509 -in ${TLS_DIR}/server.crt -noout -ext subjectAltName | tail -1 | tr -d ' '
runuser -u postgres -- ${PG_BIN}/initdb -D ${PG_DIR}/data -U postgres --auth=peer >/dev/null
runuser -u postgres -- ${PG_BIN}/pg_ctl -D ${PG_DIR}/data -o "-c config_file=${PG_DIR}/postgresql.conf" -l ${PG_DIR}/server.log -w -t 60 start >/dev/null || { cat ${PG_DIR}/server.log >&2; exit 90; }
sock="-h ${PG_DIR}/run -d postgres -At"
echo "--root-as-postgres"
psql $sock -U postgres -c "SELECT current_user"
psql $sock -U postgres -v ON_ERROR_STOP=1 -q < ${PG_DIR}/roles.sql
psql $sock -U postgres -c "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL" -c "SELECT count(*) FROM pg_ident_file_mappings WHERE error IS NOT NULL"
echo "--tls"
openssl s_client -connect 127.0.0.1:5432 -starttls postgres </dev/null 2>/dev/null | grep -c "BEGIN CERTIFICATE" || true
echo "--nobody-as-monitor"
runuser -u nobody -- psql $sock -U senex_monitor -c "SELECT current_user, pg_has_role('senex_monitor', 'pg_monitor', 'member')"
echo "--nobody-as-postgres"
runuser -u nobody -- psql $sock -U postgres -c "SELECT 1" 2>&1 || echo "refused:$?"
echo "--monitor-over-tcp"
psql "host=127.0.0.1 dbname=postgres user=senex_monitor sslmode=require" -At -c "SELECT 1" 2>&1 || echo "refused:$?"
runuser -u postgres -- ${PG_BIN}/pg_ctl -D ${PG_DIR}/data -m fast -w stop >/dev/null`,
      ],
      {
        files: { "server-tls.sh": renderServerTlsScript(), podman: PODMAN_STUB, "postgresql.conf": conf, "pg_hba.conf": hba, "pg_ident.conf": ident, "roles.sql": roles },
        timeoutMs: 90_000,
      },
    );
    expectExit(r, 0);
    const [setup, rest] = r.stdout.split("--root-as-postgres\n");
    expect(setup!.trim().split("\n")).toEqual(["kept", "key-owned", "DNS:db-1,IPAddress:127.0.0.1"]);
    expect(rest).toMatch(/^postgres\n0\n0\n--tls\n/);
    // The server presents the script's certificate…
    expect(rest).toMatch(/--tls\n1\n--nobody-as-monitor\n/);
    expect(rest).toMatch(/--nobody-as-monitor\nsenex_monitor\|t\n/);
    expect(rest).toMatch(/--nobody-as-postgres\n.*(Peer authentication failed|no match in usermap)[^\n]*\n(.*\n)?refused:2\n/);
    // …an sslmode=require client gets an encrypted session on it, and pg_hba has no TCP rule for the monitoring role.
    expect(rest).toMatch(/--monitor-over-tcp\n.*pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "senex_monitor", database "postgres", SSL encryption\nrefused:2\n/);
  });
});
