// The real content of secret-derived files (see ./secrets.ts): rendered at apply time, inside the
// secrets' apply, from the revealed values. Pure; the output is secret and is only ever handed to
// the host provider as a secret input (written 0600 over SSH stdin).
import { createHmac } from "crypto";
import { renderPgBouncerAuthFile, scramVerifier } from "../../render/pgbouncer";
import { renderPostgresRolesSql } from "../../render/pgroles";
import { renderPgPass } from "../../render/postgres";
import { renderRedisAuth } from "../../render/redis";
import { renderSentinelAuth } from "../../render/sentinel";
import type { SecretField, SecretFileSource } from "./secrets";

/**
 * The SCRAM salt of a role: derived from the role name and its password, so the verifier is stable
 * while the password is (no churn, no stored salt) and changes with every rotation. Two roles
 * with the same password still get different salts.
 */
export function scramSalt(role: string, password: string): Buffer {
  return createHmac("sha256", password).update(`senex-scram-salt:${role}`).digest().subarray(0, 16);
}

/** The verifier PostgreSQL (ALTER ROLE) and PgBouncer (auth_file) both get for a role. */
export function roleVerifier(role: string, password: string): string {
  return scramVerifier(password, scramSalt(role, password));
}

/** Renders a secret-derived file from its source and a lookup of the revealed secret values. */
export function renderSecretFile(source: SecretFileSource, value: (field: SecretField) => string): string {
  switch (source.kind) {
    case "redis-auth":
      return renderRedisAuth({ password: value(source.password) });
    case "sentinel-auth":
      return renderSentinelAuth(source.masters, value(source.password));
    case "pgbouncer-auth":
      return renderPgBouncerAuthFile(source.users.map((u) => ({ user: u.user, verifier: roleVerifier(u.user, value(u.password)) })));
    case "pgpass":
      return renderPgPass(source.entries.map((e) => ({ host: e.host, port: e.port, database: e.database, user: e.user, password: value(e.password) })));
    case "postgres-roles":
      return renderPostgresRolesSql({
        roles: [
          ...source.roles.map((r) => ({ name: r.name, verifier: roleVerifier(r.name, value(r.password)), ...(r.attributes ? { attributes: r.attributes } : {}), ...(r.memberOf ? { memberOf: r.memberOf } : {}) })),
          ...(source.peerRoles ?? []),
        ],
        databases: source.databases,
      });
    case "registry-auth": {
      const auth = Buffer.from(`${source.username}:${value(source.password)}`).toString("base64");
      return JSON.stringify({ auths: { [source.registry]: { auth } } }, null, 2) + "\n";
    }
    default: {
      const never: never = source;
      throw new Error(`unknown secret file source ${JSON.stringify(never)}`);
    }
  }
}

/** The secret fields a secret-derived file is rendered from. */
export function secretFieldsOf(s: SecretFileSource): SecretField[] {
  switch (s.kind) {
    case "redis-auth":
    case "sentinel-auth":
    case "registry-auth":
      return [s.password];
    case "pgbouncer-auth":
      return s.users.map((u) => u.password);
    case "pgpass":
      return s.entries.map((e) => e.password);
    case "postgres-roles":
      return s.roles.map((r) => r.password);
    default: {
      const never: never = s;
      throw new Error(`unknown secret file source ${JSON.stringify(never)}`);
    }
  }
}
