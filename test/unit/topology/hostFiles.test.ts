/**
 * topology/hostFiles.ts over every example stack: each host gets the files its services need,
 * paths are unique, Quadlet dependencies and `restarts` stay on the host, secret-derived files
 * carry placeholders only, and no secret value supplied through the stack reaches any file.
 */
import { randomBytes } from "crypto";
import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { GENERATED_SECRETS } from "../../../config/keys";
import { parseStackConfig } from "../../../config/schema";
import type { StackConfig } from "../../../config/types";
import { rawConfigFromStackFile, rawConfigFromValues } from "../../../plan/stackFile";
import { bootstrapFiles } from "../../../render/cloudinit";
import { quadletServiceName } from "../../../render/quadlet";
import { buildTopology } from "../../../topology";
import { bootstrapSpec } from "../../../topology/bootstrap";
import { hostFirewall } from "../../../topology/firewall";
import { hostFiles, SecretRefs, secretPlaceholders, type HostFile } from "../../../topology/hostFiles";
import { CONFIG_ROOT, FIREWALL_FILE, QUADLET_DIR, USER_UNIT_DIR } from "../../../topology/hostFiles/layout";
import { renderNftables } from "../../../render/nftables";
import type { Topology, TopologyHost } from "../../../topology/types";

const ROOT = path.resolve(__dirname, "../../..");
const STACK_FILES = [
    ...fs.readdirSync(ROOT).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f)).map((f) => path.join(ROOT, f)),
    ...fs.readdirSync(path.join(ROOT, "examples")).filter((f) => f.endsWith(".yaml")).map((f) => path.join(ROOT, "examples", f)),
];
const stackName = (file: string) => path.basename(file).replace(/^Pulumi\./, "").replace(/\.yaml$/, "");

function load(file: string): { config: StackConfig; topology: Topology } {
    const config = parseStackConfig(rawConfigFromStackFile(file), "senex-infra", stackName(file));
    return { config, topology: buildTopology(config) };
}

const STACKS = STACK_FILES.map((file) => [stackName(file), load(file)] as const);
const HOSTS = STACKS.flatMap(([name, { config, topology }]) => topology.hosts.map((host) => [name, host.name, config, topology, host] as const));

const byPath = (files: readonly HostFile[]) => new Map(files.map((f) => [f.path, f] as const));
const quadletUnits = (files: readonly HostFile[]) => files.filter((f) => f.path.startsWith(`${QUADLET_DIR}/`)).map((f) => quadletServiceName(path.basename(f.path)));

/** Units that exist on the host: Quadlet-generated and plain user units (senex), system units from the bootstrap (root). */
function unitsOnHost(config: StackConfig, topology: Topology, host: TopologyHost, files: readonly HostFile[]): { user: Set<string>; system: Set<string> } {
    const user = new Set([...quadletUnits(files), ...files.filter((f) => f.path.startsWith(`${USER_UNIT_DIR}/`)).map((f) => path.basename(f.path))]);
    const boot = bootstrapFiles(bootstrapSpec(config, topology, host, { deployPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEomy+fnvdYaZRXSlk9A0O+2sTksvO8QzBhIr5oqlkWa deploy" }));
    const system = new Set(boot.filter((f) => f.path.startsWith("/etc/systemd/system/")).map((f) => path.basename(f.path)));
    return { user, system };
}

/** The file each placed service kind needs beside its Quadlet (paths under CONFIG_ROOT unless absolute). */
const NEEDS: Partial<Record<string, readonly string[]>> = {
    nginx: ["nginx/nginx.conf", "acme/acme.sh"],
    haproxy: ["haproxy/haproxy.cfg"],
    postgres: ["postgres/postgresql.conf", "postgres/pg_hba.conf", "postgres/pg_ident.conf", "server-tls/server-tls.sh"],
    pgbouncer: ["pgbouncer/pgbouncer.ini", "pgbouncer/userlist.txt", "server-tls/server-tls.sh"],
    "redis-broker": ["redis-broker/redis.conf", "redis-broker/auth.conf"],
    "redis-cache": ["redis-cache/redis.conf", "redis-cache/auth.conf"],
    sentinel: ["redis-sentinel/sentinel.conf", "redis-sentinel/auth.conf"],
    daphne: ["app/app.env"],
    "celery-worker": ["app/app.env"],
    "celery-beat": ["app/app.env"],
    prometheus: ["prometheus/prometheus.yml", "prometheus/senex.rules.yml"],
    alertmanager: ["alertmanager/alertmanager.yml"],
    grafana: ["grafana/datasources/senex.yaml", "grafana/dashboards/senex.yaml", "grafana/senex-dashboards/django-17658.json"],
    loki: ["loki/loki.yaml"],
    alloy: ["alloy/config.alloy"],
    backup: ["/home/senex/.local/bin/senex-backup", "/home/senex/.local/bin/senex-restore", `${USER_UNIT_DIR}/senex-backup-init.service`],
};

describe("hostFiles: every host of every example stack", () => {
    it("covers every example stack", () => {
        expect(STACKS.map(([n]) => n)).toEqual(expect.arrayContaining(["production", "staging", "hetzner-phase1", "digitalocean-phase2", "existing-phase3"]));
        expect(HOSTS.length).toBeGreaterThanOrEqual(50);
    });

    it.each(HOSTS)("%s %s: the files its services need, unique paths, deps and restarts on the host", (_stack, _host, config, topology, host) => {
        const { files, podmanSecrets } = hostFiles(config, topology, host);
        const paths = files.map((f) => f.path);
        expect(new Set(paths).size).toBe(paths.length);
        for (const p of paths) expect(p).toMatch(/^\/[A-Za-z0-9_.@/-]+$/);
        const have = byPath(files);

        // every service's own files
        for (const s of host.services) {
            for (const need of NEEDS[s.kind] ?? []) expect([s.kind, have.has(need.startsWith("/") ? need : `${CONFIG_ROOT}/${need}`)]).toEqual([s.kind, true]);
        }
        // every service with a Quadlet has its unit (backup is timers)
        const units = new Set(quadletUnits(files));
        for (const s of host.services.filter((x) => x.kind !== "backup")) {
            const unit = s.kind === "daphne" ? `senex-daphne-${s.port}.service` : `senex-${s.name}.service`;
            expect([s.name, units.has(unit)]).toEqual([s.name, true]);
        }
        // the firewall, narrowed to this host's peers
        expect(have.get(FIREWALL_FILE)).toMatchObject({ owner: "root", mode: "0600", content: renderNftables(hostFirewall(config, topology, host)) });

        // Quadlet dependencies name units rendered on this same host
        for (const f of files.filter((x) => /\.(container|volume|network|image)$/.test(x.path))) {
            for (const m of f.content.matchAll(/^(Requires|After|Wants)=(.+)$/gm)) {
                for (const dep of m[2]!.split(/\s+/)) expect([path.basename(f.path), m[1], dep, units.has(dep)]).toEqual([path.basename(f.path), m[1], dep, true]);
            }
        }
        // restarts: only units that exist on the host, user units for senex files, system units for root files
        const { user, system } = unitsOnHost(config, topology, host, files);
        for (const f of files) {
            const pool = f.owner === "root" ? system : user;
            for (const r of f.restarts) expect([f.path, r, pool.has(r)]).toEqual([f.path, r, true]);
        }
        // seeds are exactly the files Redis and Sentinel rewrite
        expect(files.filter((f) => f.seed).map((f) => path.basename(path.dirname(f.path)) + "/" + path.basename(f.path)).sort()).toEqual(
            [
                ...(host.services.some((s) => s.kind === "redis-broker") ? ["redis-broker/redis.conf"] : []),
                ...(host.services.some((s) => s.kind === "redis-cache") ? ["redis-cache/redis.conf"] : []),
                ...(host.services.some((s) => s.kind === "sentinel") ? ["redis-sentinel/sentinel.conf"] : []),
            ].sort(),
        );
        // secret-derived files: placeholders only, 0600, and they say how they are rendered
        for (const f of files) {
            const placeholders = secretPlaceholders(f.content);
            expect([f.path, placeholders.length > 0]).toEqual([f.path, f.fromSecrets !== undefined]);
            if (f.fromSecrets) expect([f.path, f.mode]).toEqual([f.path, "0600"]);
        }
        // podman secrets: known names, and every Secret= of every Quadlet is among them
        for (const s of podmanSecrets) expect(Object.keys(SecretRefs)).toContain(s);
        for (const f of files.filter((x) => x.path.endsWith(".container"))) {
            for (const m of f.content.matchAll(/^Secret=([^,\s]+)/gm)) expect(podmanSecrets).toContain(m[1]);
        }
    });
});

/** A random secret in the format its key demands. */
function randomSecret(key: string, seed: string): string {
    if (key.endsWith("fieldEncryptionKey")) return randomBytes(32).toString("base64url") + "=";
    if (key.endsWith("alertSlackWebhook")) return `https://hooks.slack.invalid/services/${seed}`;
    if (key.endsWith("alertHeartbeatUrl")) return `https://heartbeat.invalid/ping/${seed}`;
    return `${seed}${randomBytes(12).toString("base64url")}`;
}

/** A stack file's config with every secret a stack can hold set (as `secure:`), to be filled with random values. */
function withEverySecret(file: string): Record<string, unknown> {
    const doc = parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    const secure = { secure: "v1:test" };
    return {
        ...doc.config,
        "senex-infra:secrets": Object.fromEntries(GENERATED_SECRETS.map((n) => [n, secure])),
        "senex-infra:tastytradeClientId": "senex-client",
        "senex-infra:tastytradeClientSecret": secure,
        "senex-infra:alertSlackWebhook": secure,
        "senex-infra:alertHeartbeatUrl": secure,
        "senex-infra:registryAuth": { registry: "registry.example.com", username: "deploy", password: secure },
        ...(doc.config["senex-infra:cloud"] !== "digitalocean" ? { "senex-infra:s3AccessKeyId": secure, "senex-infra:s3SecretAccessKey": secure } : {}),
    };
}

describe("hostFiles: no secret value in any file", () => {
    it.each(STACK_FILES.map((f) => [stackName(f), f] as const))("%s: random secrets supplied through the stack appear in no file of any host", (name, file) => {
        const base = withEverySecret(file);
        fc.assert(
            fc.property(fc.stringMatching(/^[A-Za-z0-9]{6,12}$/), (seed) => {
                const values = new Map<string, string>();
                const raw = rawConfigFromValues(base, (key) => {
                    const v = randomSecret(key, seed);
                    values.set(key, v);
                    return v;
                });
                const config = parseStackConfig(raw, "senex-infra", name);
                // the secrets really reached the config (so the assertion below can fail)
                expect(Object.keys(config.suppliedSecrets).sort()).toEqual([...GENERATED_SECRETS].sort());
                expect(values.size).toBeGreaterThanOrEqual(GENERATED_SECRETS.length + 3);
                const topology = buildTopology(config);
                for (const host of topology.hosts) {
                    const { files, podmanSecrets } = hostFiles(config, topology, host);
                    for (const f of files) for (const v of values.values()) expect([host.name, f.path, f.content.includes(v)]).toEqual([host.name, f.path, false]);
                    if (host.services.some((s) => s.kind === "daphne")) expect(podmanSecrets).toEqual(expect.arrayContaining(["senex-tastytrade-client-id", "senex-tastytrade-client-secret"]));
                    if (host.services.some((s) => s.kind === "alertmanager")) expect(podmanSecrets).toEqual(expect.arrayContaining(["senex-alert-slack-webhook", "senex-alert-heartbeat-url"]));
                    if (config.registryAuth) expect(files.find((f) => f.path.endsWith("/containers/auth.json"))?.fromSecrets).toMatchObject({ kind: "registry-auth", username: "deploy" });
                }
            }),
            { numRuns: 3 },
        );
    });
});

const stack = (name: string) => STACKS.find(([n]) => n === name)![1];
const fileOf = (config: StackConfig, topology: Topology, hostName: string, rel: string, opts = {}) => {
    const host = topology.hosts.find((h) => h.name === hostName)!;
    const f = hostFiles(config, topology, host, opts).files.find((x) => x.path === (rel.startsWith("/") ? rel : `${CONFIG_ROOT}/${rel}`));
    if (!f) throw new Error(`${hostName} has no ${rel}`);
    return f.content;
};

describe("hostFiles: what the files say", () => {
    it("the app reaches PostgreSQL on loopback in phase 1, through PgBouncer on the primary in phases 2-3", () => {
        const p1 = stack("hetzner-phase1");
        expect(fileOf(p1.config, p1.topology, "main", "app/app.env")).toMatch(/^DB_HOST=127\.0\.0\.1\nDB_PORT=5432$/m);
        const p2 = stack("hetzner-phase2");
        const db1 = p2.topology.hosts.find((h) => h.name === "db-1")!.privateAddress;
        const cache = p2.topology.hosts.find((h) => h.name === "cache-1")!.privateAddress;
        const env2 = fileOf(p2.config, p2.topology, "web-1", "app/app.env");
        expect(env2).toContain(`DB_HOST=${db1}\nDB_PORT=6432\n`);
        expect(env2).toContain(`REDIS_CACHE_URL=redis://${cache}:6380/0\n`);
        expect(env2).toContain(`\nSENEX_CELERY_BROKER_URL=redis://${cache}:6379/2\n`);
        // Celery would take a password-less URL from its own variable over the settings' complete one.
        expect(env2).not.toMatch(/^CELERY_(BROKER_URL|RESULT_BACKEND)=/m);
        const p3 = stack("production");
        const env3 = fileOf(p3.config, p3.topology, "worker-1", "app/app.env");
        const sentinels = p3.topology.redisHosts.map((n) => `${p3.topology.hosts.find((h) => h.name === n)!.privateAddress}:26379`);
        expect(env3).toContain(`REDIS_SENTINELS=${sentinels.join(",")}\n`);
    });

    it("pg_hba of the phase-3 primary admits the standby (app pool and replication) and no other host", () => {
        const { config, topology } = stack("production");
        const hba = fileOf(config, topology, "db-1", "postgres/pg_hba.conf");
        const addr = (n: string) => topology.hosts.find((h) => h.name === n)!.privateAddress;
        expect(hba).toMatch(new RegExp(`^hostssl +replication +replicator +${addr("db-2").replace(/\./g, "\\.")}/32 +scram-sha-256$`, "m"));
        for (const other of topology.hosts.filter((h) => !h.name.startsWith("db-"))) expect(hba).not.toContain(`${other.privateAddress}/32`);
        const standby = fileOf(config, topology, "db-2", "postgres/postgresql.conf");
        expect(standby).toContain(`host=${addr("db-1")}`);
        expect(standby).toContain("primary_slot_name = 'db_2'");
        expect(fileOf(config, topology, "db-2", "pgbouncer/pgbouncer.ini")).toContain(`host=${addr("db-1")} port=5432`);
        expect(fileOf(config, topology, "db-1", "pgbouncer/pgbouncer.ini")).toContain("host=127.0.0.1 port=5432");
    });

    it("PostgreSQL is sized from the server type (whole db server; a quarter of the shared phase-1 host; 4 GiB default for existing servers)", () => {
        const prod = stack("production"); // db: cx33, 8 GB
        expect(fileOf(prod.config, prod.topology, "db-1", "postgres/postgresql.conf")).toMatch(/^shared_buffers = '2048MB'$/m);
        const p1 = stack("hetzner-phase1"); // main: cx33, 8 GB, PostgreSQL plans with 2 GB
        expect(fileOf(p1.config, p1.topology, "main", "postgres/postgresql.conf")).toMatch(/^shared_buffers = '512MB'$/m);
        const ex = stack("existing-phase2");
        expect(fileOf(ex.config, ex.topology, "db-1", "postgres/postgresql.conf")).toMatch(/^shared_buffers = '1024MB'$/m);
    });

    it("phase 3: Sentinel seed with quorum 2 on every redis host, replicas seeded towards redis-1", () => {
        const { config, topology } = stack("production");
        const master = topology.hosts.find((h) => h.name === "redis-1")!.privateAddress;
        for (const n of ["redis-1", "redis-2", "redis-3"]) expect(fileOf(config, topology, n, "redis-sentinel/sentinel.conf")).toContain(`sentinel monitor senex-broker ${master} 6379 2`);
        expect(fileOf(config, topology, "redis-2", "redis-broker/redis.conf")).toContain(`replicaof ${master} 6379`);
        expect(fileOf(config, topology, "redis-1", "redis-broker/redis.conf")).not.toMatch(/^replicaof /m);
    });

    it("Prometheus scrapes every exporter of the stack", () => {
        const { config, topology } = stack("production");
        const prom = fileOf(config, topology, "monitoring-1", "prometheus/prometheus.yml");
        for (const h of topology.hosts) {
            for (const s of h.services.filter((x) => /exporter|daphne/.test(x.kind))) expect(prom).toContain(`${h.privateAddress}:${s.port}`);
        }
    });

    it("addressOf: DigitalOcean's assigned addresses reach the env, pg_hba and the firewall", () => {
        const { config, topology } = stack("digitalocean-phase2");
        const real: Record<string, string> = { "db-1": "10.114.0.7", "web-1": "10.114.0.8", "cache-1": "10.114.0.9" };
        const opts = { addressOf: (n: string) => real[n]! };
        expect(fileOf(config, topology, "web-1", "app/app.env", opts)).toContain("DB_HOST=10.114.0.7\n");
        expect(fileOf(config, topology, "db-1", "pgbouncer/pgbouncer.ini", opts)).toContain("listen_addr = 10.114.0.7");
        expect(fileOf(config, topology, "db-1", FIREWALL_FILE, opts)).toMatch(/ip saddr \{ 10\.114\.0\.8, 10\.114\.0\.9 \} tcp dport 6432 accept/);
    });

    it("production: hostFiles for all hosts stays well under the plan's time budget", () => {
        const { config, topology } = stack("production");
        for (const h of topology.hosts) hostFiles(config, topology, h); // warm-up
        const t0 = process.hrtime.bigint();
        for (const h of topology.hosts) hostFiles(config, topology, h);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        expect(ms).toBeLessThan(500);
    });
});
