// pgbouncer.ini, its auth_file, and the SCRAM-SHA-256 verifier both of them (and ALTER ROLE) use.
//
// Why auth_file with verifiers and not auth_query: auth_query needs PgBouncer to log in as its
// auth_user, and with SCRAM that takes the auth_user's *plaintext* password in the auth_file.
// With an auth_file holding only SCRAM verifiers, PgBouncer authenticates the client and then
// logs in to PostgreSQL with the client's own SCRAM keys (pass-through, PgBouncer ≥ 1.14). That
// pass-through works only when PgBouncer's verifier is byte-identical to the server's — which is
// why the verifier is computed here, once, from a salt the caller keeps, and the same string is
// given to `ALTER ROLE … PASSWORD 'SCRAM-SHA-256$…'`: no plaintext ever reaches a server or a log.
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { absolutePath, iniText, intInRange, ipAddress, singleLine } from "./conf-syntax";

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802 / RFC 7677), in
 * PostgreSQL's text form `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`.
 * Deterministic for a given salt, so a stack keeps the salt and the verifier does not churn.
 * Only printable ASCII passwords are accepted: PostgreSQL runs SASLprep on other text, and a
 * verifier that differs from the server's by one normalisation step would lock the app out.
 */
export function scramVerifier(password: string, salt: Uint8Array, iterations = 4096): string {
  if (!/^[\x20-\x7e]+$/.test(password)) throw new Error("`password` must be non-empty printable ASCII (PostgreSQL applies SASLprep to anything else)");
  if (salt.length < 8) throw new Error("`salt` must be at least 8 bytes (PostgreSQL uses 16)");
  intInRange("iterations", iterations, 4096, 10_000_000);
  const salted = pbkdf2Sync(Buffer.from(password, "utf8"), Buffer.from(salt), iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");
  return `SCRAM-SHA-256$${iterations}:${b64(salt)}$${b64(storedKey)}:${b64(serverKey)}`;
}

const VERIFIER = /^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*:[A-Za-z0-9+/]+=*$/;

/** True when `value` has the shape of a SCRAM-SHA-256 verifier (and so is not a plaintext password). */
export function isScramVerifier(value: string): boolean {
  return VERIFIER.test(value);
}

/** One user of PgBouncer's auth_file. */
export interface PgBouncerAuthEntry {
  /** Role name (the same role exists on PostgreSQL with the same verifier). */
  readonly user: string;
  /** Output of `scramVerifier`; anything else is refused. */
  readonly verifier: string;
}

/** Renders the auth_file. Contains verifiers only — not secret in the password sense, still written 0600. */
export function renderPgBouncerAuthFile(entries: readonly PgBouncerAuthEntry[]): string {
  if (entries.length === 0) throw new Error("`entries` must name at least one user");
  return entries
    .map((e, i) => {
      if (!isScramVerifier(e.verifier)) throw new Error(`\`entries[${i}].verifier\` is not a SCRAM-SHA-256 verifier; never put a plaintext password in the auth_file`);
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(e.user)) throw new Error(`\`entries[${i}].user\` must be a plain identifier`);
      return `"${e.user}" "${e.verifier}"`;
    })
    .join("\n") + "\n";
}

/** How PgBouncer verifies the PostgreSQL server's certificate. */
export type PgBouncerServerTls =
  | { readonly sslmode: "require" }
  | { readonly sslmode: "verify-ca" | "verify-full"; /** CA that signed the server certificate. */ readonly caFile: string };

/** One pooled database. */
export interface PgBouncerDatabase {
  /** Name clients connect to. */
  readonly name: string;
  /** PostgreSQL address (the primary's private address, or 127.0.0.1 beside it). */
  readonly host: string;
  /** PostgreSQL port. Default 5432. */
  readonly port?: number;
  /** Real database name on the server. Default: `name`. */
  readonly dbname?: string;
}

/** Typed input of pgbouncer.ini. */
export interface PgBouncerSpec {
  /** Private address PgBouncer listens on. */
  readonly listenAddress: string;
  /** Port. Default 6432. */
  readonly port?: number;
  /** Pooled databases. */
  readonly databases: readonly PgBouncerDatabase[];
  /** Path of the auth_file rendered by `renderPgBouncerAuthFile`. */
  readonly authFile: string;
  /** Transaction pooling suits Django without server-side cursors (DISABLE_SERVER_SIDE_CURSORS). Default "transaction". */
  readonly poolMode?: "transaction" | "session";
  /** Max client connections (all web + worker processes). Default 500. */
  readonly maxClientConn?: number;
  /** Server connections per database/user pair. Default 20. */
  readonly defaultPoolSize?: number;
  /** TLS towards clients: certificate/key PgBouncer presents; clients must use TLS. */
  readonly clientTls?: { readonly certFile: string; readonly keyFile: string };
  /** TLS towards PostgreSQL (pg_hba accepts hostssl only). */
  readonly serverTls: PgBouncerServerTls;
  /** Roles allowed to run SHOW commands on the admin console (e.g. a pgbouncer exporter). */
  readonly statsUsers?: readonly string[];
  /** Unix socket directory. Default /var/run/pgbouncer. */
  readonly socketDirectory?: string;
}

function connstringValue(v: string): string {
  return /^[A-Za-z0-9._-]+$/.test(v) ? v : `'${v.replace(/'/g, "''")}'`;
}

/** Renders pgbouncer.ini. */
export function renderPgBouncerIni(spec: PgBouncerSpec): string {
  if (spec.databases.length === 0) throw new Error("`databases` must list at least one database");
  const dbEntries = spec.databases.map((d, i): readonly [string, string] => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(d.name)) throw new Error(`\`databases[${i}].name\` must be a plain identifier`);
    const parts = [
      `host=${ipAddress(`databases[${i}].host`, d.host)}`,
      `port=${intInRange(`databases[${i}].port`, d.port ?? 5432, 1, 65535)}`,
      `dbname=${connstringValue(singleLine(`databases[${i}].dbname`, d.dbname ?? d.name))}`,
    ];
    return [d.name, parts.join(" ")];
  });
  const serverTls = spec.serverTls;
  const serverCa = ((): string | undefined => {
    switch (serverTls.sslmode) {
      case "require":
        return undefined;
      case "verify-ca":
      case "verify-full":
        return absolutePath("serverTls.caFile", serverTls.caFile);
      default: {
        const never: never = serverTls;
        throw new Error(`unknown serverTls ${JSON.stringify(never)}`);
      }
    }
  })();
  return "# Rendered by senex-infra; do not edit on the host.\n" + iniText(
    [
      { name: "databases", entries: dbEntries },
      {
        name: "pgbouncer",
        entries: [
          ["listen_addr", ipAddress("listenAddress", spec.listenAddress)],
          ["listen_port", intInRange("port", spec.port ?? 6432, 1, 65535)],
          ["unix_socket_dir", absolutePath("socketDirectory", spec.socketDirectory ?? "/var/run/pgbouncer")],
          ["auth_type", "scram-sha-256"],
          ["auth_file", absolutePath("authFile", spec.authFile)],
          ["pool_mode", spec.poolMode ?? "transaction"],
          ["max_client_conn", intInRange("maxClientConn", spec.maxClientConn ?? 500, 10, 100000)],
          ["default_pool_size", intInRange("defaultPoolSize", spec.defaultPoolSize ?? 20, 1, 1000)],
          ["reserve_pool_size", 5],
          ["server_reset_query", "DISCARD ALL"],
          // Django sets these at connect time; without them PgBouncer rejects the startup packet.
          ["ignore_startup_parameters", "extra_float_digits,options"],
          ["server_tls_sslmode", serverTls.sslmode],
          ["server_tls_ca_file", serverCa],
          ["client_tls_sslmode", spec.clientTls ? "require" : undefined],
          ["client_tls_cert_file", spec.clientTls ? absolutePath("clientTls.certFile", spec.clientTls.certFile) : undefined],
          ["client_tls_key_file", spec.clientTls ? absolutePath("clientTls.keyFile", spec.clientTls.keyFile) : undefined],
          ["stats_users", spec.statsUsers && spec.statsUsers.length > 0 ? spec.statsUsers.join(",") : undefined],
          ["log_connections", 0],
          ["log_disconnections", 0],
          ["log_pooler_errors", 1],
        ],
      },
    ],
    " = ",
    ["1", "0"],
  );
}
