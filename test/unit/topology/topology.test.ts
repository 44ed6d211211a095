import fc from "fast-check";
import { ConfigError, parseStackConfig } from "../../../config/schema";
import { rawConfigFromValues } from "../../../plan/stackFile";
import { buildTopology, PORTS } from "../../../topology";
import { bootstrapSpec } from "../../../topology/bootstrap";
import { hostFirewall } from "../../../topology/firewall";
import type { Topology } from "../../../topology/types";
import { ADMIN_KEY as ADMIN } from "../config/minimalStack";


function topologyOf(cloud: "hetzner" | "digitalocean", phase: 1 | 2 | 3, webCount = 2, workerCount = 2): Topology {
    const values: Record<string, unknown> = {
        "senex-infra:cloud": cloud,
        "senex-infra:phase": phase,
        "senex-infra:domain": "example.com",
        "senex-infra:region": cloud === "hetzner" ? "fsn1" : "fra1",
        "senex-infra:adminSshKeys": [ADMIN],
        "senex-infra:acme": { email: "ops@example.com" },
        "senex-infra:s3AccessKeyId": { secure: "x" },
        "senex-infra:s3SecretAccessKey": { secure: "x" },
    };
    if (phase === 3) Object.assign(values, { "senex-infra:webCount": webCount, "senex-infra:workerCount": workerCount });
    return buildTopology(parseStackConfig(rawConfigFromValues(values), "senex-infra", "t"));
}

const count = (t: Topology, kind: string) => t.hosts.flatMap((h) => h.services).filter((s) => s.kind === kind).length;
const hostsWith = (t: Topology, kind: string) => t.hosts.filter((h) => h.services.some((s) => s.kind === kind)).map((h) => h.name);

describe("topology per phase (the seeds' layout)", () => {
    it.each([
        // phase, hosts, [service kind, how many] ...
        [1, ["main"], [["postgres", 1], ["redis-broker", 1], ["redis-cache", 1], ["nginx", 1], ["daphne", 2], ["celery-worker", 1], ["celery-beat", 1], ["migrate", 1], ["pgbouncer", 0], ["prometheus", 0], ["sentinel", 0]]],
        [2, ["db-1", "web-1", "cache-1"], [["postgres", 1], ["pgbouncer", 1], ["redis-broker", 1], ["nginx", 1], ["prometheus", 1], ["grafana", 1], ["alertmanager", 1], ["celery-worker", 1], ["celery-beat", 1], ["node-exporter", 3], ["sentinel", 0], ["loki", 0]]],
        [3, ["db-1", "db-2", "web-1", "web-2", "redis-1", "redis-2", "redis-3", "worker-1", "worker-2", "monitoring-1"], [["postgres", 2], ["pgbouncer", 2], ["redis-broker", 3], ["sentinel", 3], ["nginx", 2], ["daphne", 4], ["celery-worker", 2], ["celery-beat", 1], ["migrate", 1], ["prometheus", 1], ["loki", 1], ["alloy", 10]]],
    ] as const)("phase %s", (phase, hosts, services) => {
        const t = topologyOf("hetzner", phase);
        expect(t.hosts.map((h) => h.name)).toEqual(hosts);
        for (const [kind, n] of services) expect([kind, count(t, kind)]).toEqual([kind, n]);
    });

    it("phase 3: postgres primary on db-1, streaming replica on db-2; the LB fronts every web host", () => {
        const t = topologyOf("hetzner", 3);
        const roles = t.hosts.flatMap((h) => h.services.filter((s) => s.kind === "postgres").map((s) => [h.name, s.role]));
        expect(roles).toEqual([["db-1", "primary"], ["db-2", "replica"]]);
        expect(t.loadBalancer).toMatchObject({ kind: "cloud", targets: ["web-1", "web-2"] });
        expect(t.dns.find((r) => r.name === "@")?.target).toEqual({ kind: "lb" });
    });

    it("host identities stay stable across phases: the data host keeps its name lineage and address", () => {
        const [p1, p2, p3] = [1, 2, 3].map((p) => topologyOf("hetzner", p as 1 | 2 | 3));
        const main = p1.hosts[0];
        const db1 = p2.hosts.find((h) => h.formerNames.includes("main"))!;
        expect(db1.name).toBe("db-1");
        expect(db1.privateAddress).toBe(main.privateAddress);
        expect(db1.services.some((s) => s.kind === "postgres" && s.role === "primary")).toBe(true);
        const redis1 = p3.hosts.find((h) => h.formerNames.includes("cache-1"))!;
        expect(redis1.privateAddress).toBe(p2.hosts.find((h) => h.name === "cache-1")!.privateAddress);
        expect(p3.hosts.find((h) => h.name === "db-1")!.privateAddress).toBe(main.privateAddress);
    });
});

describe("topology properties", () => {
    const arbitraryTopology = fc
        .record({ cloud: fc.constantFrom("hetzner" as const, "digitalocean" as const), phase: fc.constantFrom(1 as const, 2 as const, 3 as const), web: fc.integer({ min: 2, max: 50 }), workers: fc.integer({ min: 2, max: 50 }) })
        .map(({ cloud, phase, web, workers }) => topologyOf(cloud, phase, web, workers));

    it("exactly one celery beat, one migrate, one postgres primary, one prometheus at most", () => {
        fc.assert(
            fc.property(arbitraryTopology, (t) => {
                expect(count(t, "celery-beat")).toBe(1);
                expect(count(t, "migrate")).toBe(1);
                expect(t.hosts.flatMap((h) => h.services).filter((s) => s.kind === "postgres" && s.role === "primary")).toHaveLength(1);
                expect(count(t, "prometheus")).toBe(t.phase === 1 ? 0 : 1);
            }),
            { numRuns: 60 },
        );
    });

    it("private addresses and host names are unique", () => {
        fc.assert(
            fc.property(arbitraryTopology, (t) => {
                expect(new Set(t.hosts.map((h) => h.privateAddress)).size).toBe(t.hosts.length);
                expect(new Set(t.hosts.map((h) => h.name)).size).toBe(t.hosts.length);
            }),
            { numRuns: 60 },
        );
    });

    it("nothing listens publicly but 80/443 (and 22); no port is declared twice on a host", () => {
        fc.assert(
            fc.property(arbitraryTopology, (t) => {
                for (const h of t.hosts) {
                    for (const p of h.publicPorts) expect([PORTS.http, PORTS.https]).toContain(p);
                    const ports = h.services.flatMap((s) => (s.port !== undefined ? [s.port] : []));
                    expect(new Set(ports).size).toBe(ports.length);
                    for (const s of h.services) if (s.exposure?.kind === "public") expect(["nginx", "haproxy"]).toContain(s.kind);
                }
                if (t.phase === 3) for (const h of t.hosts) expect(h.publicPorts).toEqual([]); // the LB is the only entry
            }),
            { numRuns: 60 },
        );
    });

    it("the data ports admit only the peers that need them (firewall allow-lists)", () => {
        fc.assert(
            fc.property(arbitraryTopology.filter((t) => t.cloud === "hetzner" && t.phase >= 2), (t) => {
                const config = parseStackConfig(
                    rawConfigFromValues({
                        "senex-infra:cloud": "hetzner",
                        "senex-infra:phase": t.phase,
                        "senex-infra:domain": "example.com",
                        "senex-infra:region": "fsn1",
                        "senex-infra:adminSshKeys": [ADMIN],
                        "senex-infra:acme": { email: "ops@example.com" },
                        "senex-infra:backups": { enabled: false },
                        ...(t.phase === 3 ? { "senex-infra:webCount": hostsWith(t, "nginx").length, "senex-infra:workerCount": hostsWith(t, "celery-worker").length } : {}),
                    }),
                    "senex-infra",
                    "t",
                );
                const addr = new Map(t.hosts.map((h) => [h.name, h.privateAddress]));
                const appHosts = new Set([...hostsWith(t, "daphne"), ...hostsWith(t, "celery-worker")].map((n) => addr.get(n)));
                for (const h of t.hosts) {
                    const fw = hostFirewall(config, t, h);
                    for (const rule of fw.privatePorts) {
                        if (rule.port === PORTS.pgbouncer) for (const a of rule.from) expect(appHosts.has(a)).toBe(true);
                        if (rule.port === PORTS.postgres) for (const a of rule.from) expect(hostsWith(t, "postgres").map((n) => addr.get(n))).toContain(a);
                        expect(rule.from).not.toContain(h.privateAddress);
                    }
                }
            }),
            { numRuns: 30 },
        );
    });
});

describe("ssh.port (#11.3)", () => {
    const configWith = (port: number | undefined, phase: 1 | 2 = 1) =>
        parseStackConfig(
            rawConfigFromValues({
                "senex-infra:cloud": "hetzner",
                "senex-infra:phase": phase,
                "senex-infra:domain": "example.com",
                "senex-infra:region": "fsn1",
                "senex-infra:adminSshKeys": [ADMIN],
                "senex-infra:acme": { email: "ops@example.com" },
                "senex-infra:backups": { enabled: false },
                ...(port !== undefined ? { "senex-infra:ssh": { port } } : {}),
            }),
            "senex-infra",
            "t",
        );

    it("reaches every host's firewall and Day-0 spec (sshd, fail2ban read it from there)", () => {
        const config = configWith(2222, 2);
        const t = buildTopology(config);
        for (const host of t.hosts) {
            expect({ host: host.name, port: hostFirewall(config, t, host).sshPort }).toEqual({ host: host.name, port: 2222 });
            expect(bootstrapSpec(config, t, host, { deployPublicKey: ADMIN }).firewall.sshPort).toBe(2222);
        }
        expect(hostFirewall(configWith(undefined), buildTopology(configWith(undefined)), buildTopology(configWith(undefined)).hosts[0]!).sshPort).toBe(22);
    });

    it.each([
        [443, /senex-infra:ssh\.port: 443 is already the port of nginx on main\. Fix: choose another port/],
        [80, /senex-infra:ssh\.port: 80 is already the port of public web on main\./],
        [5432, /senex-infra:ssh\.port: 5432 is already the port of postgres on main\./],
    ])("a port a service uses (%i) is a config error naming the key and the fix", (port, message) => {
        expect(() => buildTopology(configWith(port))).toThrow(ConfigError);
        expect(() => buildTopology(configWith(port))).toThrow(message);
    });
});
