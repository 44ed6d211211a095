// PostgreSQL roles and databases as one idempotent psql script, run by a oneshot user unit on the
// database host (`podman exec -i senex-postgres psql` with this file on stdin, as the local
// superuser over the container's socket). Passwords are SCRAM verifiers computed by the program
// (render/pgbouncer.ts `scramVerifier`), so no plaintext password reaches the server or its log;
// a rotation is a new verifier in this file, and restarting the unit runs `ALTER ROLE`.
import { isScramVerifier } from "./pgbouncer";

export interface PostgresRoleSpec {
  /** Role name, a plain identifier. */
  readonly name: string;
  /**
   * SCRAM-SHA-256 verifier (never a plaintext password). Absent: the role has no password
   * (`PASSWORD NULL`) and logs in only where pg_hba admits it without one (peer over the socket,
   * e.g. the monitoring role through pg_ident).
   */
  readonly verifier?: string;
  /** `LOGIN` is implied; e.g. `REPLICATION` for the standby's role. */
  readonly attributes?: readonly ("REPLICATION" | "CREATEDB")[];
  /** Roles granted to it (e.g. `pg_monitor` for the exporter). */
  readonly memberOf?: readonly string[];
}

export interface PostgresDatabaseSpec {
  readonly name: string;
  readonly owner: string;
  /** Extensions created in it (e.g. `pg_stat_statements`). */
  readonly extensions?: readonly string[];
}

export interface PostgresRolesSpec {
  readonly roles: readonly PostgresRoleSpec[];
  readonly databases: readonly PostgresDatabaseSpec[];
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

function ident(field: string, value: string): string {
  if (!IDENT.test(value)) throw new Error(`\`${field}\` must be a lower-case identifier, got ${JSON.stringify(value)}`);
  return `"${value}"`;
}

/** Renders the script. Its output holds verifiers: write it 0600, like PgBouncer's auth_file. */
export function renderPostgresRolesSql(spec: PostgresRolesSpec): string {
  const lines = ["-- Rendered by senex-infra: roles and databases (idempotent; run with ON_ERROR_STOP).", "\\set ON_ERROR_STOP on"];
  spec.roles.forEach((r, i) => {
    const name = ident(`roles[${i}].name`, r.name);
    if (r.verifier !== undefined && !isScramVerifier(r.verifier)) throw new Error(`\`roles[${i}].verifier\` is not a SCRAM-SHA-256 verifier; never render a plaintext password`);
    const attrs = ["LOGIN", ...(r.attributes ?? []), "NOSUPERUSER", "NOCREATEROLE", ...(r.attributes?.includes("CREATEDB") ? [] : ["NOCREATEDB"])];
    lines.push(`SELECT 'CREATE ROLE ${name}' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${r.name}')\\gexec`);
    lines.push(`ALTER ROLE ${name} WITH ${attrs.join(" ")} PASSWORD ${r.verifier === undefined ? "NULL" : `'${r.verifier}'`};`);
    (r.memberOf ?? []).forEach((m, j) => lines.push(`GRANT ${ident(`roles[${i}].memberOf[${j}]`, m)} TO ${name};`));
  });
  spec.databases.forEach((d, i) => {
    const name = ident(`databases[${i}].name`, d.name);
    const owner = ident(`databases[${i}].owner`, d.owner);
    if (!spec.roles.some((r) => r.name === d.owner)) throw new Error(`\`databases[${i}].owner\` ${d.owner} is not one of the roles`);
    lines.push(`SELECT 'CREATE DATABASE ${name} OWNER ${owner}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${d.name}')\\gexec`);
    lines.push(`ALTER DATABASE ${name} OWNER TO ${owner};`);
    if ((d.extensions ?? []).length > 0) {
      lines.push(`\\connect ${name}`);
      (d.extensions ?? []).forEach((e, j) => lines.push(`CREATE EXTENSION IF NOT EXISTS ${ident(`databases[${i}].extensions[${j}]`, e)};`));
      lines.push("\\connect postgres");
    }
  });
  return lines.join("\n") + "\n";
}
