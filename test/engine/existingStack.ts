/**
 * An `existing` stack of the real program (index.ts) on bare test hosts, driven by the real Pulumi
 * CLI: the project file as users have it, secrets supplied as encrypted stack config (the random/tls
 * plugins cannot be built here), images from the local registry with auth, an ACME server's CA
 * trusted. Shared by the engine tier's end-to-end tests and bench/converge.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { GENERATED_SECRETS } from "../../config/keys";
import { cacheRoot } from "../support/cache";
import { loginKeyPair } from "../support/keys";
import { APT_PROXY_URL, type TestHost } from "../hosts/harness";
import type { TestRegistry } from "../hosts/harness/registry";
import { PulumiCli, engineBinDir, repoRoot } from "./cli";

/** Stand-in images (test/hosts/images, test/hosts/app) a phase-1 host runs. */
export const PHASE1_IMAGES = ["app", "postgres", "redis", "nginx"] as const;

export interface ExistingStackOptions {
    /** Directory for the project, backend and CLI home. */
    tempRoot: string;
    stack: string;
    domain: string;
    /** The servers, in the order of `roles`. */
    hosts: readonly { host: TestHost; name: string; roles: readonly string[] }[];
    phase: 1 | 2 | 3;
    registry: TestRegistry;
    /** Repositories pushed to the registry, as `images.<name>` → `<registry>/senex/<name>:test`. */
    images: readonly string[];
    acme: { directoryUrl: string; caCertPem: string };
    /** More stack config (`senex-infra:<key>` → value). */
    extraConfig?: Record<string, unknown>;
}

export interface ExistingStack {
    readonly cli: PulumiCli;
    readonly stack: string;
    /** Every supplied secret value by name (scan outputs and hosts for them). */
    readonly secrets: Record<string, string>;
    /** The operator's key (admin), the deployment key and the bootstrap key (root before the bootstrap). */
    readonly keys: { operator: ReturnType<typeof loginKeyPair>; deploy: ReturnType<typeof loginKeyPair>; bootstrap: ReturnType<typeof loginKeyPair> };
}

/** Root login keys the hosts must authorize before the stack's first `up` (pass to startHosts). */
export function bootstrapKeyPair(): ReturnType<typeof loginKeyPair> {
    return loginKeyPair("operator-bootstrap");
}

/** Pushes the cached stand-in images; returns `images` config. */
export async function pushImages(registry: TestRegistry, names: readonly string[]): Promise<Record<string, string>> {
    const images: Record<string, string> = {};
    for (const name of names) {
        await registry.push(path.join(cacheRoot(), `senex-${name}-current.oci.tar`), `senex/${name}`, "test");
        images[name] = `${registry.address}/senex/${name}:test`;
    }
    return images;
}

/** Creates the stack (stack file + encrypted secrets) ready for `up`. */
export async function createExistingStack(opts: ExistingStackOptions, bootstrap: ReturnType<typeof loginKeyPair>): Promise<ExistingStack> {
    const keys = { operator: loginKeyPair("operator"), deploy: loginKeyPair("senex-deploy"), bootstrap };
    const fernet = randomBytes(32).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
    const secrets: Record<string, string> = Object.fromEntries(
        GENERATED_SECRETS.map((name) => [name, name === "fieldEncryptionKey" ? fernet : `${name}-${randomBytes(18).toString("hex")}`]),
    );
    const images = await pushImages(opts.registry, opts.images);

    const workDir = path.join(opts.tempRoot, "project");
    fs.mkdirSync(workDir, { recursive: true });
    // The project file as users have it, minus `main`: the program host serves index.ts from the repo.
    fs.writeFileSync(path.join(workDir, "Pulumi.yaml"), fs.readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8").replace(/^main: .*\n/m, ""));
    const cli = PulumiCli.inTempDir({ binDir: engineBinDir(), workDir, entry: path.join(repoRoot, "index.ts"), passphrase: `${opts.stack}-test-passphrase`, tempRoot: opts.tempRoot });
    await cli.stackInit(opts.stack);
    const stackFile = path.join(workDir, `Pulumi.${opts.stack}.yaml`);
    const doc = (parseYaml(fs.readFileSync(stackFile, "utf8")) ?? {}) as Record<string, unknown>;
    doc.config = {
        "senex-infra:cloud": "existing",
        "senex-infra:phase": opts.phase,
        "senex-infra:domain": opts.domain,
        "senex-infra:adminSshKeys": [keys.operator.public],
        "senex-infra:network": { cidr: "10.213.0.0/16", subnet: "10.213.7.0/24" },
        "senex-infra:hosts": opts.hosts.map(({ host, name, roles }) => ({ name, address: host.address, privateAddress: host.address, hostKey: host.hostKeyPublic, roles, bootstrapUser: "root" })),
        "senex-infra:images": images,
        "senex-infra:acme": { email: `ops@${opts.domain}`, directoryUrl: opts.acme.directoryUrl },
        "senex-infra:caCertificates": [opts.registry.caCertPem, opts.acme.caCertPem],
        "senex-infra:aptProxy": APT_PROXY_URL,
        ...opts.extraConfig,
    };
    fs.writeFileSync(stackFile, toYaml(doc));
    const set = (key: string, value: string, secret: boolean) => cli.run(["config", "set", "--path", `senex-infra:${key}`, secret ? "--secret" : "--plaintext", "--stack", opts.stack], { stdin: value });
    for (const [name, value] of Object.entries(secrets)) await set(`secrets.${name}`, value, true);
    await set("deploySshKey", keys.deploy.private, true);
    await set("bootstrapSshKey", bootstrap.private, true);
    await set("registryAuth.registry", opts.registry.address, false);
    await set("registryAuth.username", opts.registry.username, false);
    await set("registryAuth.password", opts.registry.password, true);
    return { cli, stack: opts.stack, secrets, keys };
}

/**
 * Test hosts have a read-only /proc/sys: lower the port floor for rootless nginx from outside (the
 * bootstrap's sysctl file does it at boot on a real server).
 */
export function allowLowPorts(host: TestHost): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const r = (require("child_process") as typeof import("child_process")).spawnSync("nsenter", ["-t", String(host.leaderPid()), "-n", "sysctl", "-w", "net.ipv4.ip_unprivileged_port_start=80"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`sysctl on ${host.name}: ${r.stderr}`);
}
