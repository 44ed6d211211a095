import * as crypto from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { RawConfig } from "../config/schema";

/**
 * Runs the real program (index.ts) under Pulumi's mock runtime: the cloud APIs and the engine are
 * stood in for, everything else is the program as `pulumi up` would run it. Used by the offline
 * plan and the graph tests. The mock answers with realistic, deterministic state per resource type
 * (ids, addresses, keys), and every registration is recorded with its options (parent, protect,
 * aliases, ignoreChanges) and its inputs with secret markers intact.
 */

/** Pulumi's wire marker for a secret value. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SPECIAL_SIG = "4dabf18193072939515e22adb298388d";

export interface RecordedAlias {
    name?: string;
    type?: string;
    parentUrn?: string;
    noParent?: boolean;
}

export interface RecordedResource {
    urn: string;
    type: string;
    name: string;
    parent: string;
    custom: boolean;
    protect: boolean;
    /** Left in the cloud (dropped from state only) when the stack deletes it. */
    retainOnDelete: boolean;
    aliases: RecordedAlias[];
    ignoreChanges: string[];
    /** Inputs as sent to the engine; secrets still wrapped in their wire marker. */
    inputs: Record<string, unknown>;
    /** Top-level input names whose value is (or contains) a secret. */
    secretInputs: string[];
    dependsOn: string[];
}

export interface OfflineRun {
    resources: RecordedResource[];
    /** The program's module exports (stack outputs), resolved. */
    outputs: Record<string, unknown>;
}

const repoRoot = path.resolve(__dirname, "..");

function contains(value: unknown, pred: (v: Record<string, unknown>) => boolean): boolean {
    if (!value || typeof value !== "object") return false;
    if (!Array.isArray(value) && pred(value as Record<string, unknown>)) return true;
    return Object.values(value as Record<string, unknown>).some((v) => contains(v, pred));
}
const isSecretMarker = (v: Record<string, unknown>) => v[SPECIAL_SIG] === SECRET_SIG;

/** Deterministic fake values, so two runs of the same stack print the same plan. */
function digest(...parts: string[]): Buffer {
    return crypto.createHash("sha256").update(parts.join("\u0000")).digest();
}

function sshEd25519Public(seed: string): string {
    const pub = digest("ed25519", seed);
    const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    return `ssh-ed25519 ${Buffer.concat([str(Buffer.from("ssh-ed25519")), str(pub)]).toString("base64")}`;
}

let counter = 0;
function mockState(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
    const seed = `${args.type}::${args.name}`;
    const n = digest(seed).readUInt32BE(0);
    const ip = (prefix: string) => `${prefix}.${(n >>> 8) & 255}.${n & 254 || 1}`;
    const inputs = args.inputs as Record<string, unknown>;
    counter += 1;
    switch (args.type) {
        case "hcloud:index/server:Server":
            return { id: String(10_000_000 + (n % 1_000_000)), state: { ...inputs, ipv4Address: ip("203.0"), ipv6Address: `2001:db8::${(n & 0xffff).toString(16)}`, status: "running" } };
        case "digitalocean:index/droplet:Droplet": {
            const vpcHost = 2 + (n % 200);
            return { id: String(400_000_000 + (n % 1_000_000)), state: { ...inputs, ipv4Address: ip("198.51"), ipv4AddressPrivate: `10.0.1.${vpcHost}`, status: "active" } };
        }
        case "hcloud:index/loadBalancer:LoadBalancer":
            return { id: String(n % 1_000_000), state: { ...inputs, ipv4: ip("203.0") } };
        case "digitalocean:index/loadBalancer:LoadBalancer":
            return { id: crypto.randomUUID(), state: { ...inputs, ip: ip("198.51") } };
        case "hcloud:index/zone:Zone":
            return { id: String(n % 1_000_000), state: { ...inputs, authoritativeNameservers: { assigneds: ["hydrogen.ns.hetzner.com.", "oxygen.ns.hetzner.com.", "helium.ns.hetzner.de."] } } };
        case "random:index/randomPassword:RandomPassword": {
            const length = Number(inputs.length ?? 32);
            const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
            const bytes = digest("password", seed, String(inputs.keepers ? JSON.stringify(inputs.keepers) : ""));
            const result = Array.from({ length }, (_, i) => alphabet[bytes[i % bytes.length] % alphabet.length]).join("");
            return { id: "none", state: { ...inputs, result: pulumi.secret(result) } };
        }
        case "random:index/randomBytes:RandomBytes": {
            const bytes = digest("bytes", seed, JSON.stringify(inputs.keepers ?? {}));
            return { id: "none", state: { ...inputs, base64: pulumi.secret(bytes.toString("base64")), hex: pulumi.secret(bytes.toString("hex")) } };
        }
        case "tls:index/privateKey:PrivateKey": {
            const pub = sshEd25519Public(seed);
            const priv = `-----BEGIN OPENSSH PRIVATE KEY-----\n${digest("private", seed).toString("base64")}\n-----END OPENSSH PRIVATE KEY-----\n`;
            return { id: `key-${n}`, state: { ...inputs, publicKeyOpenssh: `${pub}\n`, privateKeyOpenssh: pulumi.secret(priv), privateKeyPem: pulumi.secret(priv) } };
        }
        case "digitalocean:index/spacesKey:SpacesKey":
            return { id: `key-${n}`, state: { ...inputs, accessKey: `DO${n.toString(16).toUpperCase()}`, secretKey: pulumi.secret(digest("spaces", seed).toString("base64")) } };
        case "digitalocean:index/spacesBucket:SpacesBucket":
            return { id: String(inputs.name), state: { ...inputs, bucketDomainName: `${inputs.name}.${inputs.region}.digitaloceanspaces.com` } };
        case "aws:s3/bucket:Bucket":
            return { id: String(inputs.bucket), state: { ...inputs } };
        default:
            return { id: `${args.name}-id-${counter}`, state: { ...inputs } };
    }
}

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom(): boolean;
    getProtect(): boolean;
    getRetainondelete(): boolean | undefined;
    getAliasesList(): Array<{ getName(): string; getSpec(): { getName(): string; getType(): string; getParenturn(): string; getNoparent(): boolean } | undefined }>;
    getIgnorechangesList(): string[];
    getDependenciesList(): string[];
    getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
}

/**
 * Runs index.ts once for the given config. Throws what the program throws (a ConfigError for bad
 * config, before any resource is registered).
 */
export async function runOffline(raw: RawConfig, stack: string, project = "senex-infra", program?: () => Record<string, unknown>): Promise<OfflineRun> {
    const resources: RecordedResource[] = [];
    await pulumi.runtime.setMocks({ newResource: mockState, call: (args) => args.inputs }, project, stack, false);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const settings = require("@pulumi/pulumi/runtime/settings") as { getMonitor(): { registerResource: (req: RegisterRequest, cb: unknown) => unknown }; waitForRPCs(): Promise<void> };
    const monitor = settings.getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: RegisterRequest, cb: unknown) => {
        const inputs = req.getObject()?.toJavaScript() ?? {};
        resources.push({
            // The mock monitor's own URN, so children can find this record; fixUrns() rewrites it.
            urn: (monitor as unknown as { newUrn(p: string, t: string, n: string): string }).newUrn(req.getParent(), req.getType(), req.getName()),
            type: req.getType(),
            name: req.getName(),
            parent: req.getParent(),
            custom: req.getCustom(),
            protect: req.getProtect(),
            retainOnDelete: req.getRetainondelete() ?? false,
            aliases: req.getAliasesList().map((a) => {
                const spec = a.getSpec();
                return spec ? { name: spec.getName() || undefined, type: spec.getType() || undefined, parentUrn: spec.getParenturn() || undefined, noParent: spec.getNoparent() || undefined } : { name: a.getName() };
            }),
            ignoreChanges: req.getIgnorechangesList(),
            inputs,
            secretInputs: Object.entries(inputs)
                .filter(([, v]) => contains(v, isSecretMarker))
                .map(([k]) => k),
            dependsOn: req.getDependenciesList(),
        });
        return register(req, cb);
    };

    const values = Object.fromEntries(Object.entries(raw.values));
    pulumi.runtime.setAllConfig(values, [...raw.secretKeys]);

    // A fresh copy of the program and its modules for every run (the mock runtime is per run).
    for (const key of Object.keys(require.cache)) if (key.startsWith(repoRoot) && !key.includes(`${path.sep}node_modules${path.sep}`)) delete require.cache[key];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exports = program ? program() : (require(path.join(repoRoot, "index")) as Record<string, unknown>);
    const outputs = await new Promise<Record<string, unknown>>((resolve) => pulumi.output(exports).apply((o) => resolve(o as Record<string, unknown>)));
    await settings.waitForRPCs();
    fixUrns(resources, stack, project);
    return { resources, outputs };
}

/**
 * The mock monitor names a child by its parent's last type only; the engine qualifies it with the
 * whole chain (`senex:index:Deployment$senex:hetzner:Server$hcloud:index/server:Server`). Recompute
 * that, since aliases and phase-change comparisons work on engine URNs.
 */
function fixUrns(resources: RecordedResource[], stack: string, project: string): void {
    const byMockUrn = new Map(resources.map((r) => [r.urn, r] as const));
    const chain = (r: RecordedResource): string => {
        const parent = byMockUrn.get(r.parent);
        return parent && parent.type !== "pulumi:pulumi:Stack" ? `${chain(parent)}$${r.type}` : r.type;
    };
    const engineUrn = new Map(resources.map((r) => [r, `urn:pulumi:${stack}::${project}::${chain(r)}::${r.name}`] as const));
    for (const r of resources) {
        const parent = byMockUrn.get(r.parent);
        r.parent = parent ? engineUrn.get(parent)! : r.parent;
    }
    for (const r of resources) r.urn = engineUrn.get(r)!;
}
