// postgresql.conf, pg_hba.conf and the standby's passfile, rendered from typed specs.
// Pure: no I/O, no Pulumi. The major version is a spec value because PostgreSQL refuses to start
// on a parameter it does not know, and 16 and 17 differ in ones we want (see `versionSettings`).
import { absolutePath, intInRange, ipAddress, isLoopback, pgConfValue, singleLine, toCidr } from "./conf-syntax";

/** PostgreSQL majors this renderer knows the parameter set of. */
export type PostgresMajor = 16 | 17;

/** The share of the host PostgreSQL may plan with (on a shared phase-1 host, pass its share, not the whole host). */
export interface PostgresResources {
  /** Memory budget in MiB; shared_buffers ≈ 25 %, effective_cache_size ≈ 75 % of it. */
  readonly memoryMiB: number;
  /** CPU cores; sizes the parallel-worker settings. */
  readonly cpus: number;
  /** Storage kind: SSD lowers random_page_cost and raises effective_io_concurrency. Default "ssd" (every VPS we target). */
  readonly storage?: "ssd" | "hdd";
}

/** WAL archiving to pgBackRest (ARCHITECTURE: Backups). */
export interface PostgresArchiveSpec {
  /** pgBackRest stanza name; the repo uses `senex`. */
  readonly stanza: string;
  /** Seconds before a partly filled WAL segment is archived anyway: 60–300 keeps the 5-minute RPO. */
  readonly timeoutSeconds: number;
}

/** What this server is in a replication setup (phase 3 runs a primary and one standby). */
export type PostgresReplicationRole =
  | { readonly kind: "standalone" }
  | {
      readonly kind: "primary";
      /** WAL senders allowed (standbys + pg_basebackup/pgBackRest backups from standby). Default 10. */
      readonly maxWalSenders?: number;
      /** Cap on WAL a replication slot may hold, in MiB, so a dead standby cannot fill the disk. Default 10240. */
      readonly maxSlotWalKeepMiB?: number;
    }
  | {
      readonly kind: "standby";
      /** The primary's private address. */
      readonly primaryAddress: string;
      /** The primary's port. Default 5432. */
      readonly primaryPort?: number;
      /** Replication role name. */
      readonly replicationUser: string;
      /** libpq passfile (mode 0600) holding the replication password; the conf itself never holds it. */
      readonly passfile: string;
      /** Physical replication slot on the primary reserved for this standby. */
      readonly slotName: string;
      /** CA that signed the primary's certificate; with it the standby verifies the primary (verify-ca). */
      readonly sslRootCert?: string;
      /** application_name shown in pg_stat_replication (the host name). */
      readonly applicationName: string;
    };

/** Typed input of postgresql.conf. */
export interface PostgresConfSpec {
  /** Major version: 16 (default of the stack) or 17 (what Debian trixie ships, so tests run it). */
  readonly major: PostgresMajor;
  /** Sizing inputs. */
  readonly resources: PostgresResources;
  /** The host's private address; PostgreSQL listens there and on localhost only. */
  readonly listenAddress: string;
  /** TCP port. Default 5432. */
  readonly port?: number;
  /** Data directory (the conf lives outside it, started with `-c config_file=`). */
  readonly dataDirectory: string;
  /** Path of the rendered pg_hba.conf. */
  readonly hbaFile: string;
  /** Path of the rendered pg_ident.conf (the peer maps pg_hba's `map=` options name). Default: PostgreSQL's, in the data directory. */
  readonly identFile?: string;
  /** Unix socket directory. Default /var/run/postgresql. */
  readonly socketDirectory?: string;
  /** Server certificate and key (key mode 0600, owned by postgres). */
  readonly tls: { readonly certFile: string; readonly keyFile: string };
  /** Max client connections. PgBouncer multiplexes the app onto few; default 100. */
  readonly maxConnections?: number;
  /** WAL archiving through pgBackRest; omit only in tests that have no repository. */
  readonly archive?: PostgresArchiveSpec;
  /** Replication role. */
  readonly replication: PostgresReplicationRole;
}

const MiB = (n: number): string => `${Math.max(1, Math.floor(n))}MB`;

/**
 * The sizing rules (pgtune-style, conservative for a host that also runs exporters):
 * shared_buffers 25 %, effective_cache_size 75 %, maintenance_work_mem 1/16 capped at 2 GiB,
 * work_mem = (memory − shared_buffers) / (3 × max_connections), at least 4 MiB.
 */
export function postgresMemorySettings(resources: PostgresResources, maxConnections: number): Record<string, string> {
  intInRange("resources.memoryMiB", resources.memoryMiB, 256, 4 * 1024 * 1024);
  intInRange("maxConnections", maxConnections, 10, 10000);
  const mem = resources.memoryMiB;
  const shared = Math.floor(mem / 4);
  return {
    shared_buffers: MiB(shared),
    effective_cache_size: MiB((mem * 3) / 4),
    maintenance_work_mem: MiB(Math.min(mem / 16, 2048)),
    work_mem: MiB(Math.max(4, (mem - shared) / (3 * maxConnections))),
    // 3 % of shared_buffers capped at one WAL segment size worth 16 MiB is PostgreSQL's own auto rule.
    wal_buffers: MiB(Math.min(16, Math.max(1, shared * 0.03))),
  };
}

/** Parallelism follows the cores: more workers than cores only adds context switches. */
function cpuSettings(cpus: number): Record<string, number> {
  intInRange("resources.cpus", cpus, 1, 256);
  return {
    max_worker_processes: Math.max(8, cpus),
    max_parallel_workers: cpus,
    max_parallel_workers_per_gather: Math.max(1, Math.floor(cpus / 2)),
    max_parallel_maintenance_workers: Math.max(1, Math.min(4, Math.floor(cpus / 2))),
  };
}

/**
 * Parameters that exist in one major and not the other. PostgreSQL treats an unknown parameter in
 * postgresql.conf as a fatal error, so these must never be rendered for the wrong major.
 */
function versionSettings(major: PostgresMajor): Record<string, string | number | boolean> {
  switch (major) {
    case 16:
      return {};
    case 17:
      // 17 can forbid ALTER SYSTEM: this file is the single source of truth, and a setting changed
      // in postgresql.auto.conf would silently override it after the next restart.
      return { allow_alter_system: false };
    default: {
      const never: never = major;
      throw new Error(`unsupported PostgreSQL major ${String(never)}`);
    }
  }
}

function listenAddresses(spec: PostgresConfSpec): string {
  const addr = ipAddress("listenAddress", spec.listenAddress);
  // Binding 127.0.0.1 twice fails the second bind; a loopback-only test host lists it once.
  return isLoopback(addr) ? addr : `${addr},localhost`;
}

function replicationSettings(spec: PostgresConfSpec): Record<string, string | number | boolean> {
  const role = spec.replication;
  // wal_level replica is needed for archiving too, so every role has it.
  const common = { wal_level: "replica", hot_standby: true, wal_log_hints: true };
  switch (role.kind) {
    case "standalone":
      return { ...common, max_wal_senders: 3 };
    case "primary":
      return {
        ...common,
        max_wal_senders: intInRange("replication.maxWalSenders", role.maxWalSenders ?? 10, 2, 100),
        // One slot per possible sender: every standby (and a standby-side backup) gets its own.
        max_replication_slots: role.maxWalSenders ?? 10,
        max_slot_wal_keep_size: MiB(intInRange("replication.maxSlotWalKeepMiB", role.maxSlotWalKeepMiB ?? 10240, 1024, 1048576)),
        wal_keep_size: "1GB",
      };
    case "standby": {
      const conninfo = [
        ["host", ipAddress("replication.primaryAddress", role.primaryAddress)],
        ["port", String(intInRange("replication.primaryPort", role.primaryPort ?? 5432, 1, 65535))],
        ["user", singleLine("replication.replicationUser", role.replicationUser)],
        ["passfile", absolutePath("replication.passfile", role.passfile)],
        ["application_name", singleLine("replication.applicationName", role.applicationName)],
        // Without a CA: require = encrypted but unverified (the primary's certificate is the
        // self-signed one of render/server-tls.ts); with sslRootCert the standby verifies it.
        ["sslmode", role.sslRootCert ? "verify-ca" : "require"],
        ...(role.sslRootCert ? [["sslrootcert", absolutePath("replication.sslRootCert", role.sslRootCert)]] : []),
      ]
        .map(([k, v]) => `${k}=${conninfoValue(v as string)}`)
        .join(" ");
      return {
        ...common,
        max_wal_senders: 10,
        max_replication_slots: 10,
        primary_conninfo: conninfo,
        primary_slot_name: slotName("replication.slotName", role.slotName),
        // Feedback stops the primary vacuuming rows a long read query on the standby still needs.
        hot_standby_feedback: true,
        ...(spec.archive ? { restore_command: `pgbackrest --stanza=${stanzaName(spec.archive.stanza)} archive-get %f "%p"` } : {}),
      };
    }
    default: {
      const never: never = role;
      throw new Error(`unknown replication role ${JSON.stringify(never)}`);
    }
  }
}

/** A libpq conninfo value: bare when safe, else single-quoted with \ escapes. */
function conninfoValue(value: string): string {
  return /^[A-Za-z0-9._/:@-]+$/.test(value) ? value : `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Replication slot names are lower-case letters, digits and underscores (PostgreSQL's rule). */
export function slotName(field: string, name: string): string {
  if (!/^[a-z0-9_]{1,63}$/.test(name)) throw new Error(`\`${field}\` must match [a-z0-9_]{1,63}, got ${JSON.stringify(name)}`);
  return name;
}

function stanzaName(name: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new Error(`\`archive.stanza\` must match [A-Za-z0-9_-]+, got ${JSON.stringify(name)}`);
  return name;
}

/** Renders postgresql.conf. */
export function renderPostgresConf(spec: PostgresConfSpec): string {
  const maxConnections = spec.maxConnections ?? 100;
  const ssd = (spec.resources.storage ?? "ssd") === "ssd";
  const archive = spec.archive;
  if (archive) intInRange("archive.timeoutSeconds", archive.timeoutSeconds, 60, 300);
  const groups: Array<[string, Record<string, string | number | boolean>]> = [
    [
      "Files and connections",
      {
        data_directory: absolutePath("dataDirectory", spec.dataDirectory),
        hba_file: absolutePath("hbaFile", spec.hbaFile),
        ...(spec.identFile !== undefined ? { ident_file: absolutePath("identFile", spec.identFile) } : {}),
        listen_addresses: listenAddresses(spec),
        port: intInRange("port", spec.port ?? 5432, 1, 65535),
        unix_socket_directories: absolutePath("socketDirectory", spec.socketDirectory ?? "/var/run/postgresql"),
        max_connections: maxConnections,
        superuser_reserved_connections: 3,
      },
    ],
    [
      "Authentication and TLS",
      {
        password_encryption: "scram-sha-256",
        ssl: true,
        ssl_cert_file: absolutePath("tls.certFile", spec.tls.certFile),
        ssl_key_file: absolutePath("tls.keyFile", spec.tls.keyFile),
        ssl_min_protocol_version: "TLSv1.2",
      },
    ],
    [`Memory (sized for ${spec.resources.memoryMiB} MiB, ${spec.resources.cpus} CPUs)`, {
      ...postgresMemorySettings(spec.resources, maxConnections),
      huge_pages: "try",
    }],
    ["Parallelism", cpuSettings(spec.resources.cpus)],
    [
      "Planner and I/O",
      { random_page_cost: ssd ? 1.1 : 4, effective_io_concurrency: ssd ? 200 : 2, default_statistics_target: 100 },
    ],
    [
      "WAL and checkpoints",
      {
        min_wal_size: "1GB",
        max_wal_size: "4GB",
        checkpoint_completion_target: 0.9,
        ...(archive
          ? {
              archive_mode: true,
              archive_command: `pgbackrest --stanza=${stanzaName(archive.stanza)} archive-push %p`,
              // A quiet database still ships a segment this often: this is what bounds the RPO.
              archive_timeout: archive.timeoutSeconds,
            }
          : {}),
      },
    ],
    [`Replication (${spec.replication.kind})`, replicationSettings(spec)],
    [
      "Statistics and logging",
      {
        // The seeds query pg_stat_statements for slow queries; it must be preloaded at start.
        shared_preload_libraries: "pg_stat_statements",
        "pg_stat_statements.track": "all",
        "pg_stat_statements.max": 10000,
        track_io_timing: true,
        log_min_duration_statement: 1000,
        log_checkpoints: true,
        log_connections: false,
        log_lock_waits: true,
        log_temp_files: 0,
        log_line_prefix: "%m [%p] %q%u@%d ",
        // Passwords arrive as SCRAM verifiers, but never let a statement with one reach the log.
        log_statement: "none",
      },
    ],
    [`Version-specific (PostgreSQL ${spec.major})`, versionSettings(spec.major)],
  ];
  const out = [`# Rendered by senex-infra for PostgreSQL ${spec.major}; do not edit on the host.`];
  for (const [title, settings] of groups) {
    const keys = Object.keys(settings);
    if (keys.length === 0) continue;
    out.push("", `# ${title}`);
    for (const key of keys) out.push(`${key} = ${pgConfValue(settings[key] as string | number | boolean)}`);
  }
  return out.join("\n") + "\n";
}

/** Who may connect from where (pg_hba.conf). Everything not listed is rejected explicitly. */
export interface PgHbaSpec {
  /** The application database. */
  readonly database: string;
  /** App connections: the role and the addresses it connects from (PgBouncer hosts in phases 2–3; app hosts in phase 1). */
  readonly app: { readonly user: string; readonly clients: readonly string[] };
  /** Streaming replication: the role and the standby addresses (phase 3). */
  readonly replication?: { readonly user: string; readonly clients: readonly string[] };
  /**
   * postgres_exporter's role: it runs beside the server and logs in over the socket with peer
   * authentication, its OS user mapped to this role by the pg_ident map `map` (see renderPgIdent).
   */
  readonly exporter?: { readonly user: string; readonly map: string };
  /** Backup/maintenance OS-level superuser reaching the socket with peer auth. Default "postgres". */
  readonly socketSuperuser?: string;
  /**
   * pg_ident map of the superuser's peer line (e.g. one that also admits the container's root, who
   * runs `podman exec … psql -U postgres`). Default: none, the OS user must be named like the role.
   */
  readonly socketSuperuserMap?: string;
}

/** One line of pg_ident.conf: the OS user `systemUser` may log in as `databaseUser` where pg_hba names `map`. */
export interface PgIdentEntry {
  readonly map: string;
  readonly systemUser: string;
  readonly databaseUser: string;
}

/** Renders pg_ident.conf (peer maps). Plain identifiers only: no regular expressions. */
export function renderPgIdent(entries: readonly PgIdentEntry[]): string {
  const lines = entries.map((e, i) => {
    for (const [field, v] of [["map", e.map], ["systemUser", e.systemUser], ["databaseUser", e.databaseUser]] as const) {
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(v)) throw new Error(`\`entries[${i}].${field}\` must be a plain identifier, got ${JSON.stringify(v)}`);
    }
    return `${e.map.padEnd(16)} ${e.systemUser.padEnd(16)} ${e.databaseUser}`;
  });
  return ["# Rendered by senex-infra; MAPNAME SYSTEM-USERNAME PG-USERNAME", ...lines].join("\n") + "\n";
}

/** Renders pg_hba.conf: hostssl + scram-sha-256 only, narrowest addresses, then explicit rejects. */
export function renderPgHba(spec: PgHbaSpec): string {
  const name = (field: string, v: string): string => {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(v)) throw new Error(`\`${field}\` must be a plain identifier, got ${JSON.stringify(v)}`);
    return v;
  };
  const db = name("database", spec.database);
  const rows: string[][] = [];
  const comment = (text: string): void => void rows.push([`# ${text}`]);
  comment("Plain-text TCP is never accepted, whoever asks.");
  rows.push(["hostnossl", "all", "all", "0.0.0.0/0", "reject"], ["hostnossl", "all", "all", "::/0", "reject"]);
  const superuser = name("socketSuperuser", spec.socketSuperuser ?? "postgres");
  // First among the local lines: the image's initdb, pgBackRest and the role/database setup
  // (`podman exec … psql -U postgres`) all come through it.
  comment("Local administration (initdb, pgBackRest, role setup) as the OS user of the same name.");
  rows.push(["local", "all", superuser, spec.socketSuperuserMap !== undefined ? `peer map=${name("socketSuperuserMap", spec.socketSuperuserMap)}` : "peer"]);
  comment("The application, from the hosts that run its pool.");
  const appUser = name("app.user", spec.app.user);
  if (spec.app.clients.length === 0) throw new Error("`app.clients` must list at least one address");
  for (const [i, c] of spec.app.clients.entries()) rows.push(["hostssl", db, appUser, toCidr(`app.clients[${i}]`, c), "scram-sha-256"]);
  if (spec.replication) {
    comment("Streaming replication, from the standby only.");
    const user = name("replication.user", spec.replication.user);
    for (const [i, c] of spec.replication.clients.entries()) {
      rows.push(["hostssl", "replication", user, toCidr(`replication.clients[${i}]`, c), "scram-sha-256"]);
    }
  }
  if (spec.exporter) {
    comment("postgres_exporter, beside the server, over the socket: its OS user mapped to the monitoring role.");
    const user = name("exporter.user", spec.exporter.user);
    rows.push(["local", "postgres", user, `peer map=${name("exporter.map", spec.exporter.map)}`]);
  }
  comment("Everything else is refused explicitly, so a later line can never widen access by accident.");
  rows.push(["local", "all", "all", "reject"], ["host", "all", "all", "0.0.0.0/0", "reject"], ["host", "all", "all", "::/0", "reject"]);
  const widths = [10, 12, 18, 20];
  // pg_hba splits on whitespace; the padding is for the reader (`local` rows have no address column).
  const lines = rows.map((r) => (r.length === 1 ? (r[0] as string) : r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i] ?? 0) : c)).join(" ")));
  return ["# Rendered by senex-infra; TYPE DATABASE USER ADDRESS METHOD", ...lines].join("\n") + "\n";
}

/** One line of a libpq passfile. */
export interface PgPassEntry {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** The secret itself: call this renderer inside the secret's apply, and write the result 0600. */
  readonly password: string;
}

/** Renders a libpq passfile (`host:port:db:user:password`, `:` and `\` escaped). The output is secret. */
export function renderPgPass(entries: readonly PgPassEntry[]): string {
  const esc = (field: string, v: string): string => singleLine(field, v).replace(/\\/g, "\\\\").replace(/:/g, "\\:");
  return entries
    .map((e, i) => [e.host, String(intInRange(`entries[${i}].port`, e.port, 1, 65535)), e.database, e.user, e.password]
      .map((v, j) => esc(`entries[${i}][${j}]`, v)).join(":"))
    .join("\n") + "\n";
}

/** The file whose presence in the data directory makes the server start as a standby (PostgreSQL ≥ 12). */
export const STANDBY_SIGNAL_FILE = "standby.signal";

/** SQL the provider runs on the primary to reserve WAL for a standby (idempotent). */
export function replicationSlotSql(name: string): string {
  const slot = slotName("slot", name);
  return `SELECT pg_create_physical_replication_slot('${slot}') WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '${slot}');`;
}
