/**
 * The roles script (render/pgroles.ts, verifiers from topology's roleVerifier) through psql 17 on a
 * real server, as the roles unit runs it (script on stdin, local superuser over the socket): it
 * creates the role, database and extension, runs again without error (idempotent), and a rotation
 * (new verifier) makes the new password work and the old one fail. No plaintext password is in
 * the script or the server log.
 */
import { randomBytes } from "crypto";
import { renderPostgresRolesSql } from "../../render/pgroles";
import { renderPgHba } from "../../render/postgres";
import { roleVerifier } from "../../topology/hostFiles/secretContent";
import { runInTrixie } from "../support/trixie";
import { expectExit, PG_DIR, START_POSTGRES, testPostgresConf } from "./pg-cluster";

const hba = renderPgHba({ database: "senex", app: { user: "senex", clients: ["127.0.0.1"] } });
const script = (password: string) =>
  renderPostgresRolesSql({ roles: [{ name: "senex", verifier: roleVerifier("senex", password) }], databases: [{ name: "senex", owner: "senex", extensions: ["pg_stat_statements"] }] });
const login = (env: string) => `PGPASSWORD="$${env}" psql "host=127.0.0.1 dbname=senex user=senex sslmode=require" -At -c "SELECT current_user || '@' || current_database()" 2>&1 || echo "refused:$?"`;

describe("PostgreSQL roles script on PostgreSQL 17", () => {
  it("creates, re-runs idempotently, and rotates the app role by verifier only", () => {
    const [first, second] = [randomBytes(18).toString("base64url"), randomBytes(18).toString("base64url")];
    const r = runInTrixie(
      [
        "sh",
        "-c",
        `${START_POSTGRES}
psql_su -q < roles1.sql && echo run1-ok
psql_su -q < roles1.sql && echo run2-ok
${login("FIRST")}
psql_su -d senex -c "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'"
psql_su -c "SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = 'senex'"
psql_su -q < roles2.sql && echo rotated
${login("FIRST")}
${login("SECOND")}
grep -c -e "$FIRST" -e "$SECOND" roles1.sql roles2.sql ${PG_DIR}/server.log || true`,
      ],
      { files: { "postgresql.conf": testPostgresConf(), "pg_hba.conf": hba, "roles1.sql": script(first), "roles2.sql": script(second) }, env: { FIRST: first, SECOND: second }, timeoutMs: 90_000 },
    );
    expectExit(r, 0);
    const out = r.stdout.trim().split("\n");
    expect(out.slice(0, 6)).toEqual(["run1-ok", "run2-ok", "senex@senex", "1", "f|f", "rotated"]);
    expect(out.slice(6).join("\n")).toMatch(/password authentication failed for user "senex"\nrefused:2\nsenex@senex/);
    expect(out.slice(-3)).toEqual(["roles1.sql:0", "roles2.sql:0", `${PG_DIR}/server.log:0`]);
  });

  it("refuses to render a plaintext password", () => {
    expect(() => renderPostgresRolesSql({ roles: [{ name: "senex", verifier: "hunter2-hunter2" }], databases: [] })).toThrow(/not a SCRAM-SHA-256 verifier/);
  });
});
