import fc from "fast-check";
import { pgConfValue } from "../../../render/conf-syntax";
import { postgresMemorySettings, renderPgHba, renderPgIdent, renderPgPass, renderPostgresConf, replicationSlotSql, type PostgresConfSpec } from "../../../render/postgres";
import { phaseHosts, postgresSpec, renderPhaseFiles, type Phase } from "./data-services-specs";

/** Parses postgresql.conf into key → raw value (the last one wins, as in PostgreSQL). */
function parseConf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([a-z_.]+) = (.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

const db1 = (phase: Phase) => phaseHosts(phase).find((h) => h.role === "db" || h.role === "main")!;
const base = (over: Partial<PostgresConfSpec> = {}): PostgresConfSpec => ({ ...postgresSpec(2, db1(2)), ...over });

describe("renderPostgresConf", () => {
  it.each([1, 2, 3] as const)("phase %i snapshot", (phase) => {
    const files = renderPhaseFiles(phase);
    const pg = Object.entries(files).filter(([k]) => /postgresql\.conf|pg_hba\.conf/.test(k));
    expect(Object.fromEntries(pg)).toMatchSnapshot();
  });

  it.each<[number, number, string, string, string, string]>([
    // memory MiB, max_connections → shared_buffers, effective_cache_size, work_mem, maintenance_work_mem
    [8192, 100, "2048MB", "6144MB", "20MB", "512MB"],
    [4096, 100, "1024MB", "3072MB", "10MB", "256MB"],
    [2048, 100, "512MB", "1536MB", "5MB", "128MB"],
    [1024, 200, "256MB", "768MB", "4MB", "64MB"],
    [65536, 100, "16384MB", "49152MB", "163MB", "2048MB"],
  ])("sizes %i MiB / %i connections", (mem, conns, shared, cache, work, maint) => {
    const s = postgresMemorySettings({ memoryMiB: mem, cpus: 2 }, conns);
    expect([s.shared_buffers, s.effective_cache_size, s.work_mem, s.maintenance_work_mem]).toEqual([shared, cache, work, maint]);
  });

  it("listens on the private address and localhost only, with TLS and SCRAM", () => {
    const conf = parseConf(renderPostgresConf(base()));
    expect(conf.get("listen_addresses")).toBe("'10.0.0.4,localhost'");
    expect(conf.get("ssl")).toBe("on");
    expect(conf.get("password_encryption")).toBe("'scram-sha-256'");
    expect(conf.get("shared_preload_libraries")).toBe("'pg_stat_statements'");
  });

  it("archives WAL through pgBackRest often enough for a 5-minute RPO", () => {
    const conf = parseConf(renderPostgresConf(base()));
    expect(conf.get("archive_mode")).toBe("on");
    expect(conf.get("archive_command")).toBe("'pgbackrest --stanza=senex archive-push %p'");
    expect(Number(conf.get("archive_timeout"))).toBeLessThanOrEqual(300);
    expect(() => renderPostgresConf(base({ archive: { stanza: "senex", timeoutSeconds: 600 } }))).toThrow(/archive.timeoutSeconds/);
    expect(() => renderPostgresConf(base({ archive: { stanza: "senex", timeoutSeconds: 30 } }))).toThrow(/archive.timeoutSeconds/);
  });

  it("knows the parameters that exist in one major only", () => {
    expect(parseConf(renderPostgresConf(base({ major: 17 }))).get("allow_alter_system")).toBe("off");
    // PostgreSQL 16 refuses to start on an unknown parameter: it must not be rendered there.
    expect(renderPostgresConf(base({ major: 16 }))).not.toMatch(/allow_alter_system/);
  });

  it("renders the phase-3 primary and standby; the standby's conninfo has a passfile, never a password", () => {
    const primary = parseConf(renderPostgresConf(postgresSpec(3, phaseHosts(3).find((h) => h.name === "db-1")!)));
    expect(primary.get("wal_level")).toBe("'replica'");
    expect(Number(primary.get("max_wal_senders"))).toBeGreaterThanOrEqual(2);
    expect(primary.get("max_slot_wal_keep_size")).toBe("'10240MB'");
    const standbyText = renderPostgresConf(postgresSpec(3, phaseHosts(3).find((h) => h.name === "db-2")!));
    const standby = parseConf(standbyText);
    expect(standby.get("primary_conninfo")).toBe(
      "'host=10.0.1.21 port=5432 user=replicator passfile=/etc/senex/postgres/pgpass application_name=db-2 sslmode=verify-ca sslrootcert=/etc/senex/postgres/ca.crt'",
    );
    expect(standby.get("primary_slot_name")).toBe("'db_2'");
    expect(standby.get("hot_standby")).toBe("on");
    expect(standbyText).not.toMatch(/password=/);
    expect(standby.get("restore_command")).toBe(`'pgbackrest --stanza=senex archive-get %f "%p"'`);
  });

  it("lists a loopback listen address once (binding it twice fails)", () => {
    expect(parseConf(renderPostgresConf(base({ listenAddress: "127.0.0.1" }))).get("listen_addresses")).toBe("'127.0.0.1'");
  });

  it.each<[string, Partial<PostgresConfSpec>, RegExp]>([
    ["hostname as listen address", { listenAddress: "db.internal" }, /listenAddress/],
    ["relative data directory", { dataDirectory: "data" }, /dataDirectory/],
    ["tiny memory", { resources: { memoryMiB: 64, cpus: 1 } }, /memoryMiB/],
    ["zero cpus", { resources: { memoryMiB: 1024, cpus: 0 } }, /cpus/],
    ["bad slot", { replication: { kind: "standby", primaryAddress: "10.0.0.1", replicationUser: "r", passfile: "/p", slotName: "Db-2", applicationName: "x" } }, /slotName/],
  ])("rejects %s", (_name, over, message) => {
    expect(() => renderPostgresConf(base(over))).toThrow(message);
  });

  it("property: shared_buffers ≤ 25 % and effective_cache_size ≤ 75 % of the budget; every value a single quoted-safe line", () => {
    fc.assert(
      fc.property(fc.integer({ min: 256, max: 262144 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 10, max: 2000 }), (mem, cpus, conns) => {
        const conf = parseConf(renderPostgresConf(base({ resources: { memoryMiB: mem, cpus }, maxConnections: conns })));
        const mb = (k: string) => Number(/^'(\d+)MB'$/.exec(conf.get(k) ?? "")?.[1]);
        expect(mb("shared_buffers")).toBeLessThanOrEqual(mem / 4);
        expect(mb("effective_cache_size")).toBeLessThanOrEqual((mem * 3) / 4);
        expect(mb("work_mem") * conns).toBeLessThanOrEqual(Math.max(mem, 4 * conns));
        expect(Number(conf.get("max_parallel_workers"))).toBe(cpus);
      }),
    );
  });
});

describe("renderPgHba", () => {
  const hba = (clients: string[]) => renderPgHba({ database: "senex", app: { user: "senex", clients }, replication: { user: "replicator", clients: ["10.0.1.22"] }, exporter: { user: "postgres_exporter", map: "senex_monitor" } });
  const rules = (text: string) => text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(/\s+/));

  it("accepts TCP only over TLS with SCRAM, from the listed peers, and ends with explicit rejects", () => {
    const rows = rules(hba(["10.0.1.21", "10.0.1.22"]));
    expect(rows[0]).toEqual(["hostnossl", "all", "all", "0.0.0.0/0", "reject"]);
    for (const r of rows.filter((r) => r[0] === "hostssl")) expect(r[4]).toBe("scram-sha-256");
    expect(rows.filter((r) => r[0] === "host" && r[4] !== "reject")).toEqual([]);
    expect(rows).toContainEqual(["hostssl", "replication", "replicator", "10.0.1.22/32", "scram-sha-256"]);
    // The exporter comes over the socket by peer, mapped to its role: no TCP rule, no password.
    expect(rows).toContainEqual(["local", "postgres", "postgres_exporter", "peer", "map=senex_monitor"]);
    expect(rows.filter((r) => r.includes("postgres_exporter") && r[0] !== "local")).toEqual([]);
    // The superuser's peer line is the first local line (initdb, pgBackRest, role setup use it).
    expect(rows.find((r) => r[0] === "local")).toEqual(["local", "all", "postgres", "peer"]);
    expect(rows.slice(-3).map((r) => r.at(-1))).toEqual(["reject", "reject", "reject"]);
    expect(rows.some((r) => r.includes("trust") || r.includes("md5") || r.includes("password"))).toBe(false);
  });

  it("maps the superuser's socket line when asked, and renders the ident maps it names", () => {
    const rows = rules(renderPgHba({ database: "senex", app: { user: "senex", clients: ["127.0.0.1"] }, socketSuperuserMap: "senex_admin" }));
    expect(rows.find((r) => r[0] === "local")).toEqual(["local", "all", "postgres", "peer", "map=senex_admin"]);
    const ident = renderPgIdent([
      { map: "senex_admin", systemUser: "root", databaseUser: "postgres" },
      { map: "senex_monitor", systemUser: "nobody", databaseUser: "senex_monitor" },
    ]);
    expect(ident.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(/\s+/))).toEqual([
      ["senex_admin", "root", "postgres"],
      ["senex_monitor", "nobody", "senex_monitor"],
    ]);
    expect(() => renderPgIdent([{ map: "m", systemUser: "/^.*$", databaseUser: "postgres" }])).toThrow(/systemUser/);
  });

  it("rejects names and addresses that could widen access", () => {
    expect(() => hba(["10.0.0.0/33"])).toThrow(/prefix length/);
    expect(() => hba(["all"])).toThrow(/app.clients\[0\]/);
    expect(() => hba([])).toThrow(/app.clients/);
    expect(() => renderPgHba({ database: "all senex", app: { user: "senex", clients: ["10.0.0.1"] } })).toThrow(/database/);
  });

  it("property: every hostssl address is one of the given peers (or loopback for the exporter)", () => {
    const ip = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 })).map((p) => p.join("."));
    fc.assert(
      fc.property(fc.uniqueArray(ip, { minLength: 1, maxLength: 6 }), (clients) => {
        const allowed = new Set([...clients.map((c) => `${c}/32`), "10.0.1.22/32", "127.0.0.1/32", "::1/128"]);
        for (const r of rules(hba(clients)).filter((r) => r[0] === "hostssl")) expect(allowed.has(r[3]!)).toBe(true);
      }),
    );
  });
});

describe("renderPgPass / replicationSlotSql", () => {
  it("escapes : and \\ in every field", () => {
    expect(renderPgPass([{ host: "10.0.0.1", port: 5432, database: "replication", user: "replicator", password: "a:b\\c" }])).toBe("10.0.0.1:5432:replication:replicator:a\\:b\\\\c\n");
  });
  it("creates a slot only when it does not exist, and only for a safe name", () => {
    expect(replicationSlotSql("db_2")).toMatch(/pg_create_physical_replication_slot\('db_2'\) WHERE NOT EXISTS/);
    expect(() => replicationSlotSql("x'); DROP TABLE y; --")).toThrow(/slot/);
  });
});

describe("postgresql.conf quoting", () => {
  it("property: any one-line string round-trips through pgConfValue as PostgreSQL reads it back", () => {
    // PostgreSQL's reader: '' is a quote, \\ a backslash, inside single quotes.
    const readBack = (quoted: string) => quoted.slice(1, -1).replace(/''|\\\\/g, (m) => (m === "''" ? "'" : "\\"));
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }).filter((s) => !/[\r\n\0]/.test(s)), (s) => {
        expect(readBack(pgConfValue(s))).toBe(s);
      }),
    );
    expect(() => pgConfValue("a\nb = c")).toThrow(/single line/);
  });
});
