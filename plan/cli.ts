// The offline plan: `npm run plan -- --stack production` (or `--stack-file PATH`, `--json`,
// `--files`). Runs the real program under the mock engine, with no cloud credentials, and prints
// the resource tree, every host with its roles, services and files (secrets redacted), and the
// monthly cost. Bad config: exit 2 with the error lines and nothing else.
import * as fs from "fs";
import * as path from "path";
import { ConfigError, parseStackConfig, type RawConfig } from "../config/schema";
import type { StackConfig } from "../config/types";
import { bootstrapFiles } from "../render/cloudinit";
import { buildTopology } from "../topology";
import { bootstrapSpec } from "../topology/bootstrap";
import { hostFiles as serviceFiles } from "../topology/hostFiles";
import type { Topology, TopologyHost } from "../topology/types";
import { CostEstimate, estimateCost } from "./cost";
import { RecordedResource, runOffline } from "./mockEngine";
import { projectRoot, rawConfigFromStackFile } from "./stackFile";

const repoRoot = projectRoot();

interface PlanFile {
    path: string;
    mode: string;
    owner: string;
    bytes: number;
    content: string;
}

interface PlanHost {
    name: string;
    formerNames: string[];
    roles: string[];
    size?: string;
    privateAddress: string;
    /** The port sshd listens on and the firewalls open to ssh.allowFrom (`ssh.port`). */
    sshPort: number;
    publicPorts: number[];
    services: { name: string; port?: number; exposure: string }[];
    files: PlanFile[];
}

export interface Plan {
    stack: string;
    cloud: string;
    phase: number;
    region?: string;
    domain: string;
    resources: { urn: string; type: string; name: string; parent: string; protect: boolean; secretInputs: string[] }[];
    hosts: PlanHost[];
    cost: CostEstimate;
    /** Credentials the plan stood in for (present only when there are any): `preview`/`up` refuse until they are set. */
    warnings?: string[];
}

function usage(): never {
    process.stderr.write("usage: npm run plan -- (--stack NAME | --stack-file PATH) [--json] [--files]\n");
    process.exit(64);
}

export function resolveStackFile(stack: string): string {
    for (const candidate of [path.join(repoRoot, `Pulumi.${stack}.yaml`), path.join(repoRoot, "examples", `Pulumi.${stack}.yaml`)]) if (fs.existsSync(candidate)) return candidate;
    throw new Error(`no stack file for "${stack}" (looked for Pulumi.${stack}.yaml and examples/Pulumi.${stack}.yaml)`);
}

const PLACEHOLDER_KEY = { deployPublicKey: "ssh-ed25519 AAAA(deploy key: generated at up)" };

/**
 * Files a host receives: the bootstrap's, then the service layer's (topology/hostFiles.ts), which
 * replace a bootstrap file of the same path (the firewall, narrowed to exact peers).
 */
function hostFiles(config: StackConfig, topology: Topology, host: TopologyHost): PlanFile[] {
    const service = serviceFiles(config, topology, host).files;
    const replaced = new Set(service.map((f) => f.path));
    const boot = bootstrapFiles(bootstrapSpec(config, topology, host, PLACEHOLDER_KEY)).filter((f) => !replaced.has(f.path));
    return [...boot, ...service].map((f) => ({
        path: f.path,
        mode: f.mode,
        owner: f.owner,
        bytes: Buffer.byteLength(f.content),
        content: f.content,
    }));
}

function describeExposure(e: TopologyHost["services"][number]["exposure"]): string {
    if (!e) return "-";
    switch (e.kind) {
        case "public":
            return "internet";
        case "loopback":
            return "this host";
        case "private":
            return `from ${e.from.join(", ")}`;
        default: {
            const never: never = e;
            return String(never);
        }
    }
}

/** Replaces every stand-in secret plaintext by [secret] (defence in depth: the plan never prints secrets). */
function redact(text: string, secrets: readonly string[]): string {
    return secrets.reduce((t, s) => (s.length >= 8 ? t.split(s).join("[secret]") : t), text);
}

/** What the plan puts where a credential is missing: valid in form, recognisable, redacted from files like any secret. */
export const MISSING_CREDENTIAL_STAND_IN = "plan-stand-in-for-a-missing-credential";

/**
 * The stack's config for the plan. The plan needs no credentials at all: where the only problems
 * are credentials the apply needs (config/schema.ts decides which), it stands in for them (as for
 * encrypted values it cannot decrypt) and returns a warning per key; `preview`/`up` still refuse.
 * Any other problem throws the ConfigError as the program would.
 */
export function planConfig(raw: RawConfig, stackName: string): { raw: RawConfig; config: StackConfig; warnings: string[] } {
    try {
        return { raw, config: parseStackConfig(raw, "senex-infra", stackName), warnings: [] };
    } catch (e) {
        if (!(e instanceof ConfigError) || e.missingCredentials.length === 0) throw e;
        const keys = e.missingCredentials.map((m) => m.key);
        const completed: RawConfig = {
            values: { ...raw.values, ...Object.fromEntries(keys.map((k) => [k, MISSING_CREDENTIAL_STAND_IN])) },
            secretKeys: new Set([...raw.secretKeys, ...keys]),
        };
        const config = parseStackConfig(completed, "senex-infra", stackName);
        return { raw: completed, config, warnings: e.missingCredentials.map((m) => `${m.problem} (The plan stands in for it; \`pulumi preview\` and \`up\` refuse until it is set.)`) };
    }
}

export async function buildPlan(stackFile: string, stackName: string): Promise<Plan> {
    const { raw, config, warnings } = planConfig(rawConfigFromStackFile(stackFile), stackName);
    const topology = buildTopology(config);
    const run = await runOffline(raw, stackName);
    const secretValues = [...raw.secretKeys].map((k) => raw.values[k]);
    return {
        stack: stackName,
        cloud: config.cloud,
        phase: config.phase,
        ...(config.region ? { region: config.region } : {}),
        domain: config.domain,
        resources: run.resources
            .filter((r) => r.type !== "pulumi:pulumi:Stack")
            .map((r: RecordedResource) => ({ urn: r.urn, type: r.type, name: r.name, parent: r.parent, protect: r.protect, secretInputs: r.secretInputs })),
        hosts: topology.hosts.map((h) => ({
            name: h.name,
            formerNames: [...h.formerNames],
            roles: [...h.groups],
            ...(h.size ? { size: h.size } : {}),
            privateAddress: topology.privateAddressesFixed ? h.privateAddress : "assigned by the cloud",
            sshPort: config.ssh.port,
            publicPorts: [...h.publicPorts],
            services: h.services.map((s) => ({ name: s.name, ...(s.port !== undefined ? { port: s.port } : {}), exposure: describeExposure(s.exposure) })),
            files: hostFiles(config, topology, h).map((f) => ({ ...f, content: redact(f.content, secretValues) })),
        })),
        cost: estimateCost(config, topology),
        ...(warnings.length > 0 ? { warnings } : {}),
    };
}

export function formatPlan(plan: Plan, showFiles: boolean): string {
    const out: string[] = [];
    out.push(`stack ${plan.stack}: ${plan.cloud}${plan.region ? ` ${plan.region}` : ""}, phase ${plan.phase}, ${plan.domain}`);
    out.push("", `resources (${plan.resources.length}):`);
    const children = new Map<string, Plan["resources"]>();
    for (const r of plan.resources) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
    const urns = new Set(plan.resources.map((r) => r.urn));
    const walk = (r: Plan["resources"][number], depth: number) => {
        const flags = [r.protect ? "protected" : "", r.secretInputs.length ? `secret: ${r.secretInputs.join(", ")}` : ""].filter(Boolean).join("; ");
        out.push(`${"  ".repeat(depth + 1)}${r.type} ${r.name}${flags ? `  [${flags}]` : ""}`);
        for (const c of children.get(r.urn) ?? []) walk(c, depth + 1);
    };
    for (const r of plan.resources) if (!urns.has(r.parent)) walk(r, 0);
    out.push("", `hosts (${plan.hosts.length}):`);
    for (const h of plan.hosts) {
        out.push(`  ${h.name}${h.formerNames.length ? ` (was ${h.formerNames.join(", ")})` : ""}: ${h.roles.join("+")}${h.size ? `, ${h.size}` : ""}, private ${h.privateAddress}, ssh :${h.sshPort}${h.publicPorts.length > 0 ? `, public ports ${h.publicPorts.join("/")}` : ""}`);
        for (const s of h.services) out.push(`    service ${s.name}${s.port !== undefined ? ` :${s.port}` : ""} (${s.exposure})`);
        for (const f of h.files) {
            out.push(`    file ${f.path} ${f.mode} ${f.owner} ${f.bytes} B`);
            if (showFiles) out.push(...f.content.split("\n").map((l) => `      | ${l}`));
        }
    }
    out.push("", "monthly cost:");
    if (plan.cost.lines.length === 0) out.push("  existing servers: nothing is bought");
    for (const l of plan.cost.lines) out.push(`  ${l.item.padEnd(44)} ${String(l.quantity).padStart(4)} x ${l.unitMonthlyUsd.toFixed(2).padStart(7)} = ${l.monthlyUsd.toFixed(2).padStart(8)} USD`);
    out.push(`  ${"total".padEnd(44)} ${" ".repeat(17)}${plan.cost.totalMonthlyUsd.toFixed(2).padStart(8)} USD`);
    if (plan.cost.source) out.push(`  prices: ${plan.cost.source.url} (read ${plan.cost.source.retrieved}); ${plan.cost.source.currencyNote}`, `  note: ${plan.cost.source.note}`);
    return out.join("\n") + "\n";
}

async function main(argv: string[]): Promise<number> {
    let stack: string | undefined;
    let stackFile: string | undefined;
    let json = false;
    let files = false;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--stack") stack = argv[++i] ?? usage();
        else if (a === "--stack-file") stackFile = argv[++i] ?? usage();
        else if (a === "--json") json = true;
        else if (a === "--files") files = true;
        else usage();
    }
    if (!stack && !stackFile) usage();
    const file = stackFile ? path.resolve(stackFile) : resolveStackFile(stack!);
    const name = stack ?? path.basename(file).replace(/^Pulumi\./, "").replace(/\.ya?ml$/, "");
    try {
        const plan = await buildPlan(file, name);
        for (const w of plan.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
        process.stdout.write(json ? JSON.stringify(plan, null, 2) + "\n" : formatPlan(plan, files));
        return 0;
    } catch (e) {
        if (e instanceof ConfigError) {
            process.stderr.write(e.problems.join("\n") + "\n");
            return 2;
        }
        throw e;
    }
}

/** Exits once stdout and stderr have drained: a piped `--json` plan is larger than a pipe buffer. */
function exitAfterFlush(code: number): void {
    let pending = 2;
    const done = () => --pending === 0 && process.exit(code);
    process.stdout.write("", done);
    process.stderr.write("", done);
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => exitAfterFlush(code),
        (e) => {
            process.stderr.write(`plan failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
            process.exit(1);
        },
    );
}
