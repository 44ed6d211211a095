import * as fs from "fs";
import * as path from "path";
import { Deployment } from "../../components/deployment";
import { parseStackConfig } from "../../config/schema";
import { RecordedResource, runOffline, SECRET_SIG } from "../../plan/mockEngine";
import { rawConfigFromStackFile } from "../../plan/stackFile";
import { buildTopology } from "../../topology";
import { transition } from "./engineModel";

jest.setTimeout(60_000);

/** The real program, loaded afresh for each run (jest keeps its own module registry). */
function program(): Record<string, unknown> {
    let exports: Record<string, unknown> = {};
    jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        exports = require("../../index");
    });
    return exports;
}

const root = path.resolve(__dirname, "../..");
const stackFiles = [path.join(root, "Pulumi.production.yaml"), path.join(root, "Pulumi.staging.yaml"), ...fs.readdirSync(path.join(root, "examples")).map((f) => path.join(root, "examples", f))];
const STAND_IN = "graph-test-secret-stand-in-7f3a9c";
const standIn = (key: string) =>
    key.endsWith("alertSlackWebhook") ? `https://hooks.slack.invalid/${STAND_IN}` : key.endsWith("alertHeartbeatUrl") ? `https://heartbeat.invalid/${STAND_IN}` : `${STAND_IN}-${key}`;

/** Inputs as JSON with every secret-wrapped value removed: what would be stored in plaintext. */
function plaintextInputs(r: RecordedResource): string {
    return JSON.stringify(r.inputs, (_k, v) => (v && typeof v === "object" && (v as Record<string, unknown>)["4dabf18193072939515e22adb298388d"] === SECRET_SIG ? "[secret]" : v));
}

describe.each(stackFiles.map((f) => [path.relative(root, f), f]))("%s under the mock engine", (_name, file) => {
    let resources: RecordedResource[];
    let outputs: Record<string, unknown>;
    const raw = rawConfigFromStackFile(file, standIn);
    const config = parseStackConfig(raw, "senex-infra", "graph");

    beforeAll(async () => {
        const run = await runOffline(raw, "graph", "senex-infra", program);
        resources = run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
        outputs = run.outputs;
    });

    it("every resource has a registered parent, except the one root", () => {
        const urns = new Set(resources.map((r) => r.urn));
        const roots = resources.filter((r) => !urns.has(r.parent));
        expect(roots.map((r) => r.type)).toEqual(["senex:index:Deployment"]);
    });

    it("URNs are unique", () => {
        expect(new Set(resources.map((r) => r.urn)).size).toBe(resources.length);
    });

    it("no secret plaintext in any resource input outside a secret", () => {
        for (const r of resources) expect(plaintextInputs(r)).not.toContain(STAND_IN);
        const servers = resources.filter((r) => r.type === "hcloud:index/server:Server" || r.type === "digitalocean:index/droplet:Droplet");
        for (const s of servers) expect(s.secretInputs).toContain("userData"); // it carries the host's private key
    });

    it("no database, Redis, Sentinel or PgBouncer port is open to the internet", () => {
        const forbidden = [5432, 6432, 6379, 6380, 26379, 9100, 9121, 9122, 9187, 9090, 9093, 3000, 3100];
        for (const r of resources.filter((x) => x.type === "hcloud:index/firewall:Firewall")) {
            for (const rule of (r.inputs.rules as Array<{ port?: string; sourceIps: string[] }>) ?? []) {
                const fromInternet = rule.sourceIps.some((s) => s === "0.0.0.0/0" || s === "::/0" || !s.startsWith("10."));
                if (!fromInternet) continue;
                expect([String(config.ssh.port), "80", "443", undefined]).toContain(rule.port);
            }
        }
        for (const r of resources.filter((x) => x.type === "digitalocean:index/firewall:Firewall")) {
            for (const rule of (r.inputs.inboundRules as Array<{ portRange?: string; sourceAddresses?: string[] }>) ?? []) {
                if (!rule.sourceAddresses?.some((s) => !s.startsWith("10."))) continue;
                expect([String(config.ssh.port), "80", "443", undefined]).toContain(rule.portRange);
            }
        }
        const topology = buildTopology(config);
        for (const h of topology.hosts) for (const s of h.services) if (forbidden.includes(s.port ?? 0)) expect(s.exposure?.kind).not.toBe("public");
    });

    it("data is protected exactly when the stack sets protect", () => {
        const dataTypes = ["hcloud:index/volume:Volume", "digitalocean:index/volume:Volume", "aws:s3/bucket:Bucket", "digitalocean:index/spacesBucket:SpacesBucket", "hcloud:index/zone:Zone", "digitalocean:index/domain:Domain"];
        for (const r of resources.filter((x) => dataTypes.includes(x.type))) expect([r.name, r.protect]).toEqual([r.name, config.protect]);
        const dbServers = resources.filter((r) => /-(main|db-\d+|redis-\d+|cache-\d+)-(server|droplet)$/.test(r.name));
        for (const r of dbServers) expect([r.name, r.protect]).toEqual([r.name, config.protect]);
        const webServers = resources.filter((r) => /-(web|worker|monitoring)-\d+-(server|droplet)$/.test(r.name));
        for (const r of webServers) expect(r.protect).toBe(false);
    });

    it("the backup bucket outlives the stack: kept on delete (destroy, rename), never force-emptied, with the way to delete it by hand", () => {
        const buckets = resources.filter((r) => r.type === "aws:s3/bucket:Bucket" || r.type === "digitalocean:index/spacesBucket:SpacesBucket");
        expect(buckets).toHaveLength(config.backups.enabled ? 1 : 0);
        for (const b of buckets) expect([b.name, b.retainOnDelete, b.inputs.forceDestroy ?? false]).toEqual([b.name, true, false]);
        // Its versioning and lifecycle stay as they are too (deleting them would suspend versioning / drop the rules).
        for (const r of resources.filter((x) => x.type === "aws:s3/bucketVersioning:BucketVersioning" || x.name.endsWith("-backups-lifecycle"))) expect([r.name, r.retainOnDelete]).toEqual([r.name, true]);
        if (config.backups.enabled) expect(outputs.backupBucketOnDestroy).toMatch(new RegExp(`kept by .pulumi destroy.*mc rb --force [\\w-]+/${config.backups.bucket}`));
        else expect(outputs.backupBucketOnDestroy).toBeUndefined();
    });

    it("#11.2: every host gets the bootstrap over SSH before its system layer (cloud: admin after cloud-init; existing: the bootstrap user), writing the system layer's firewall", () => {
        const unwrap = (v: unknown): unknown => (v && typeof v === "object" && (v as Record<string, unknown>)["4dabf18193072939515e22adb298388d"] === SECRET_SIG ? (v as { value: unknown }).value : v);
        const byName = new Map(resources.map((r) => [r.name, r]));
        const topology = buildTopology(config);
        for (const host of topology.hosts) {
            const bootstrap = byName.get(`senex-${host.name}-services-bootstrap`);
            const system = byName.get(`senex-${host.name}-services-system`);
            expect({ host: host.name, bootstrap: bootstrap?.type, system: system?.type }).toEqual({ host: host.name, bootstrap: "pulumi-nodejs:dynamic:Resource", system: "pulumi-nodejs:dynamic:Resource" });
            expect(system!.dependsOn.filter((u) => u.endsWith(`$pulumi-nodejs:dynamic:Resource::${bootstrap!.name}`))).toHaveLength(1);
            const first = unwrap(bootstrap!.inputs.firstLogin) as { user: string };
            const admin = unwrap(bootstrap!.inputs.adminLogin) as { user: string };
            const cloudHost = config.cloud !== "existing";
            expect({ first: first.user, admin: admin.user, waitForCloudInit: bootstrap!.inputs.waitForCloudInit }).toEqual({
                first: cloudHost ? "admin" : config.hosts.find((h) => h.name === host.name)!.bootstrapUser,
                admin: "admin",
                waitForCloudInit: cloudHost,
            });
            expect(bootstrap!.secretInputs).toEqual(expect.arrayContaining(["firstLogin", "adminLogin"]));
            // one firewall: a re-run of the bootstrap writes what the system layer writes (on DigitalOcean: narrowed to the real addresses)
            const script = bootstrap!.inputs.script as string;
            const start = script.indexOf("put_file 0600 root:root /etc/senex/firewall.nft <<'SENEX_EOF'\n");
            expect(start).toBeGreaterThan(0);
            const body = script.slice(script.indexOf("\n", start) + 1, script.indexOf("\nSENEX_EOF\n", start) + 1);
            const files = system!.inputs.files as Record<string, { content: string }>;
            expect(body).toBe(files["/etc/senex/firewall.nft"]!.content);
        }
    });

    it("servers ignore later user-data edits (a bootstrap change never replaces a server)", () => {
        for (const r of resources.filter((x) => x.type === "hcloud:index/server:Server" || x.type === "digitalocean:index/droplet:Droplet")) expect(r.ignoreChanges).toEqual(expect.arrayContaining(["userData", "image"]));
    });
});

describe("the heartbeat URL (it carries a token) is a secret end to end (#11.8)", () => {
    it("production: no resource input holds it in plain text; Alertmanager reads it from a podman secret", async () => {
        const raw = rawConfigFromStackFile(path.join(root, "Pulumi.production.yaml"), standIn);
        expect(parseStackConfig(raw, "senex-infra", "graph").alerts.heartbeatUrl).toBeDefined();
        const resources = (await runOffline(raw, "graph", "senex-infra", program)).resources;
        for (const r of resources) expect([r.name, plaintextInputs(r)]).not.toEqual([r.name, expect.stringMatching(/https:\/\/heartbeat\./)]);
        const inputs = resources.map(plaintextInputs).join("\n");
        expect(inputs).toContain("url_file: /run/secrets/senex-alert-heartbeat-url");
        expect(inputs).toMatch(/Secret=senex-alert-heartbeat-url,type=mount/);
    });
});

describe("ssh.port (#11.3): the cloud firewalls and every host layer use it, and nothing opens 22", () => {
    const unwrap = (v: unknown): unknown => (v && typeof v === "object" && (v as Record<string, unknown>)["4dabf18193072939515e22adb298388d"] === SECRET_SIG ? (v as { value: unknown }).value : v);
    it.each(["hetzner-phase2", "digitalocean-phase2", "existing-phase1"])("%s with ssh.port 2222", async (stack) => {
        const raw = rawConfigFromStackFile(path.join(root, "examples", `Pulumi.${stack}.yaml`), standIn);
        const values = { ...raw.values, "senex-infra:ssh": JSON.stringify({ port: 2222 }) };
        const resources = (await runOffline({ values, secretKeys: raw.secretKeys }, "graph", "senex-infra", program)).resources;

        type Rule = { port?: string; portRange?: string; sourceIps?: string[]; sourceAddresses?: string[] };
        const rules: Rule[] = resources.flatMap((r) =>
            r.type === "hcloud:index/firewall:Firewall" ? (r.inputs.rules as Rule[]) : r.type === "digitalocean:index/firewall:Firewall" ? (r.inputs.inboundRules as Rule[]) : [],
        );
        const port = (r: Rule) => r.port ?? r.portRange;
        if (!stack.startsWith("existing")) {
            // SSH from ssh.allowFrom (the default: everywhere) on 2222, and no rule for 22 at all
            expect(rules.filter((r) => port(r) === "2222").map((r) => r.sourceIps ?? r.sourceAddresses)).toEqual([["0.0.0.0/0", "::/0"]]);
            expect(rules.filter((r) => port(r) === "22")).toEqual([]);
            // first boot: sshd, fail2ban and nftables from the user-data
            const userData = resources.filter((r) => r.type === "hcloud:index/server:Server" || r.type === "digitalocean:index/droplet:Droplet").map((r) => String(unwrap(r.inputs.userData)));
            expect(userData.length).toBeGreaterThan(0);
            for (const u of userData) {
                expect(u).toMatch(/^\s+Port 2222$/m);
                expect(u).toMatch(/^\s+port = 2222$/m);
                expect(u).toMatch(/tcp dport 2222 accept comment "ssh"/);
                expect(u).not.toMatch(/dport 22 /);
            }
        }
        // every SSH connection the program makes (bootstrap, system and user layers) goes to 2222
        const layers = resources.filter((r) => r.type === "pulumi-nodejs:dynamic:Resource" && r.inputs.target !== undefined);
        expect(layers.length).toBeGreaterThan(0);
        for (const r of layers) expect({ name: r.name, port: (unwrap(r.inputs.target) as { port: number }).port }).toEqual({ name: r.name, port: 2222 });
    });
});

describe("two deployments in one program", () => {
    it("child names never collide", async () => {
        const raw = rawConfigFromStackFile(path.join(root, "examples", "Pulumi.hetzner-phase2.yaml"));
        const config = parseStackConfig(raw, "senex-infra", "twice");
        const topology = buildTopology(config);
        const { resources } = await runOffline(raw, "twice", "senex-infra", () => {
            new Deployment("blue", { config, topology });
            new Deployment("green", { config, topology });
            return {};
        });
        const urns = resources.map((r) => r.urn);
        expect(new Set(urns).size).toBe(urns.length);
        expect(resources.filter((r) => r.type === "hcloud:index/server:Server")).toHaveLength(6);
    });
});

describe("phase changes keep the data", () => {
    const run = async (phase: number, extra: Record<string, unknown> = {}) => {
        const file = path.join(root, "examples", `Pulumi.hetzner-phase${phase}.yaml`);
        const raw = rawConfigFromStackFile(file);
        const values = { ...raw.values, ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])) };
        return (await runOffline({ values, secretKeys: raw.secretKeys }, "prod", "senex-infra", program)).resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
    };
    const short = (urn: string) => urn.split("::").pop()!;

    it("1 → 2: the phase-1 server, its data volume and host key are kept (as db-1); web and cache hosts are created", async () => {
        const t = transition(await run(1), await run(2));
        expect(t.kept.map(short)).toEqual(expect.arrayContaining(["senex-db-1", "senex-db-1-server", "senex-db-1-data", "senex-db-1-data-attachment", "senex-secrets-host-key-db-1", "senex-secrets-db-app-password-g0", "senex-dns-zone"]));
        expect(t.created.map(short)).toEqual(expect.arrayContaining(["senex-web-1-server", "senex-cache-1-server", "senex-cache-1-data"]));
        const deleted = t.deleted.map(short);
        for (const d of deleted) expect(d).not.toMatch(/server|data|host-key|password|passphrase|zone/);
        process.stdout.write(`phase 1 → 2: ${t.created.length} created, ${t.kept.length} kept, deleted: ${deleted.join(", ") || "none"}\n`);
    });

    it("2 → 3: db-1 and cache-1 (as redis-1) are kept with their volumes; nothing holding data is deleted", async () => {
        const t = transition(await run(2), await run(3));
        expect(t.kept.map(short)).toEqual(expect.arrayContaining(["senex-db-1-server", "senex-db-1-data", "senex-redis-1-server", "senex-redis-1-data", "senex-web-1-server"]));
        expect(t.created.map(short)).toEqual(expect.arrayContaining(["senex-db-2-server", "senex-redis-2-server", "senex-redis-3-server", "senex-worker-1-server", "senex-monitoring-1-server", "senex-entry-lb"]));
        const deleted = t.deleted.map(short);
        for (const d of deleted) expect(d).not.toMatch(/server|data|host-key|password|passphrase|zone|bucket/);
        process.stdout.write(`phase 2 → 3: ${t.created.length} created, ${t.kept.length} kept, deleted: ${deleted.join(", ") || "none"}\n`);
    });
});
