import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/types";
import { HostBootstrap } from "../providers/bootstrap";
import { HostFiles, type FileSpec, type PodmanSecretSpec } from "../providers/hostFiles";
import { renderBootstrapScript } from "../render/cloudinit";
import { quadletServiceName } from "../render/quadlet";
import { bootstrapSpec } from "../topology/bootstrap";
import { hostFiles, secretsNamedBy, SecretRefs, type HostFile, type PodmanSecretName, type SecretField } from "../topology/hostFiles";
import { QUADLET_DIR, USER_UNIT_DIR } from "../topology/hostFiles/layout";
import { renderSecretFile, secretFieldsOf } from "../topology/hostFiles/secretContent";
import type { Topology, TopologyHost } from "../topology/types";
import type { Host } from "./host";

/** Every secret value a host's files and podman secrets can need, by stack field (undefined: not in this stack). */
export type SecretValues = Readonly<Partial<Record<SecretField, pulumi.Output<string>>>>;

export interface HostServicesArgs {
    config: StackConfig;
    topology: Topology;
    host: TopologyHost;
    /** The machine (cloud server or existing host). */
    machine: Host;
    secretValues: SecretValues;
    /** Our deployment key (logs in as admin and senex). */
    deployKey: { privateKey: pulumi.Output<string>; publicKey: pulumi.Output<string> };
    /**
     * Private addresses of every host, when the cloud assigns them (DigitalOcean); otherwise the
     * topology's fixed addresses are used and the files are known at preview.
     */
    addresses?: pulumi.Output<Record<string, string>>;
    /** Cloud hosts: cloud-init applies the bootstrap on the first boot; wait for it before the first run over SSH. */
    cloudInit: boolean;
}

/** Units of a host's Quadlets that read a podman secret, by secret name. */
export function secretReaders(files: readonly HostFile[]): Map<string, string[]> {
    const readers = new Map<string, string[]>();
    for (const f of files) {
        for (const name of secretsNamedBy(f)) readers.set(name, [...(readers.get(name) ?? []), quadletServiceName(f.path.slice(f.path.lastIndexOf("/") + 1))]);
    }
    return readers;
}

/** Registry images the host's Quadlets run (not references to `.image`/`.build` units). */
export function quadletImages(files: readonly HostFile[]): string[] {
    const images = new Set<string>();
    for (const f of files) if (f.path.endsWith(".container")) for (const m of f.content.matchAll(/^Image=(\S+)$/gm)) if (!/\.(image|build)$/.test(m[1]!)) images.add(m[1]!);
    return [...images].sort();
}

const spec = (f: HostFile, content: string): FileSpec => ({
    content,
    mode: f.mode,
    owner: f.owner,
    restarts: f.restarts,
    ...(f.reloads && f.reloads.length > 0 ? { reloads: f.reloads } : {}),
    ...(f.check ? { check: [...f.check] } : {}),
    ...(f.containerOwner ? { containerOwner: f.containerOwner } : {}),
    ...(f.seed ? { seed: true } : {}),
    ...(f.keepOnDelete ? { keepOnDelete: true } : {}),
});

/**
 * The services of one host over SSH, in layers:
 * 1. the bootstrap over SSH (the same spec cloud-init applies on a cloud host's first boot; Day-2 changes on every host);
 * 2. `system` (admin, sudo): root-owned files, e.g. the host firewall narrowed to exact peers;
 * 3. `user` (senex, rootless): podman secrets, images, Quadlets, configs, scripts, timers.
 * Each layer is one resource: a no-op `up` opens no SSH session, a change is one connection.
 */
export class HostServices extends pulumi.ComponentResource {
    /** The user layer: other hosts' services that depend on this host's (e.g. the app on the database) wait on it. */
    declare public readonly userLayer: HostFiles;
    declare public readonly systemLayer: HostFiles;
    declare public readonly hostName: string;
    /** Warnings of the last bootstrap run over SSH. */
    declare public readonly bootstrapWarnings: pulumi.Output<string[]>;

    constructor(name: string, args: HostServicesArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("senex:host:Services", name, {}, opts);
        const { config, topology, host, machine } = args;
        const child = { parent: this };

        const isSystem = (f: HostFile) => f.owner === "root";
        // Secret-derived files are rendered for the user layer only; a root-owned one would be lost.
        const check = <T extends { files: HostFile[] }>(s: T): T => {
            const lost = s.files.filter((f) => isSystem(f) && f.fromSecrets).map((f) => f.path);
            if (lost.length > 0) throw new Error(`${host.name}: root-owned secret-derived files are not supported: ${lost.join(", ")}`);
            return s;
        };
        const fileSet = (addresses?: Record<string, string>) => hostFiles(config, topology, host, addresses ? { addressOf: addressOf(addresses) } : {});
        // Fixed addresses: the file set is plain data, so preview shows every file.
        const set = args.addresses ? args.addresses.apply((a) => check(fileSet(a))) : pulumi.output(check(fileSet()));

        const endpoint = pulumi.all([machine.ssh.host, machine.ssh.hostKey]).apply(([h, hostKey]) => ({ name: host.name, host: h, port: config.ssh.port, hostKey }));
        const target = (user: string) => endpoint.apply((e) => ({ ...e, user }));

        // Every host gets the bootstrap over SSH: the first and every Day-2 change of the spec (a
        // removed admin key, a package a new feature needs) on existing servers, and every change
        // after the first boot on cloud servers, which ignore later user-data.
        const adminLogin = pulumi.output({ user: "admin", privateKey: args.deployKey.privateKey });
        const existing = config.hosts.find((h) => h.name === host.name);
        const firstLogin = args.cloudInit
            ? adminLogin
            : pulumi.output({ user: existing?.bootstrapUser ?? "root", privateKey: config.bootstrapSshKey ? pulumi.secret(config.bootstrapSshKey.reveal()) : args.deployKey.privateKey });
        // The spec's firewall is the one the system layer writes (where the cloud assigns private
        // addresses, from the real ones), so a re-run never undoes the system layer's narrowing.
        const script = pulumi
            .all([args.deployKey.publicKey, args.addresses ?? pulumi.output(undefined)])
            .apply(([deployPublicKey, addresses]) => renderBootstrapScript(bootstrapSpec(config, topology, host, { deployPublicKey }, addresses ? addressOf(addresses) : undefined)));
        const bootstrap = new HostBootstrap(
            `${name}-bootstrap`,
            { target: endpoint, firstLogin, adminLogin, script, waitForCloudInit: args.cloudInit },
            { ...child, dependsOn: [machine.resource] },
        );
        this.hostName = host.name;
        this.bootstrapWarnings = bootstrap.warnings.apply((w) => w ?? []);

        this.systemLayer = new HostFiles(
            `${name}-system`,
            {
                target: target("admin"),
                privateKey: args.deployKey.privateKey,
                layer: "system",
                files: set.apply((s) => Object.fromEntries(s.files.filter((f) => isSystem(f) && !f.fromSecrets).map((f) => [f.path, spec(f, f.content)]))),
                unitDirs: ["/etc/systemd/system/"],
                waitForCloudInit: args.cloudInit,
            },
            { ...child, dependsOn: [bootstrap] },
        );

        const value = (field: SecretField): pulumi.Output<string> => args.secretValues[field] ?? pulumi.output(fail(`${host.name}: the stack has no value for secret ${field}`));
        // Secret-derived files: rendered inside the secrets' apply; the plaintext only ever travels as a secret input.
        const secretFiles = set.apply((s) => {
            const derived = s.files.filter((f) => f.fromSecrets && !isSystem(f));
            const fields = [...new Set(derived.flatMap((f) => secretFieldsOf(f.fromSecrets!)))];
            return pulumi.secret(
                pulumi.all(fields.map(value)).apply((vals) => {
                    const lookup = (field: SecretField) => vals[fields.indexOf(field)]!;
                    return Object.fromEntries(derived.map((f) => [f.path, spec(f, renderSecretFile(f.fromSecrets!, lookup))]));
                }),
            );
        });
        const podmanSecrets = set.apply((s) => {
            const readers = secretReaders(s.files);
            return pulumi.secret(
                pulumi.all(s.podmanSecrets.map((n) => value(SecretRefs[n]))).apply((vals) =>
                    Object.fromEntries(s.podmanSecrets.map((n: PodmanSecretName, i): [string, PodmanSecretSpec] => [n, { value: vals[i]!, restarts: readers.get(n) ?? [] }])),
                ),
            );
        });
        this.userLayer = new HostFiles(
            `${name}-user`,
            {
                target: target("senex"),
                privateKey: args.deployKey.privateKey,
                layer: "user",
                files: set.apply((s) => Object.fromEntries(s.files.filter((f) => !isSystem(f) && !f.fromSecrets).map((f) => [f.path, spec(f, f.content)]))),
                secretFiles,
                podmanSecrets,
                directories: set.apply((s) => Object.fromEntries(s.directories.map((d) => [d.path, { mode: d.mode, ...(d.containerOwner ? { containerOwner: d.containerOwner } : {}) }]))),
                images: set.apply((s) => quadletImages(s.files)),
                unitDirs: [`${QUADLET_DIR}/`, `${USER_UNIT_DIR}/`],
            },
            { ...child, dependsOn: [this.systemLayer, ...(opts.dependsOn ? (Array.isArray(opts.dependsOn) ? opts.dependsOn : [opts.dependsOn]) : [])] as pulumi.Resource[] },
        );
        this.registerOutputs({});
    }
}

/** A host's private address by name, from the addresses the cloud assigned. */
function addressOf(addresses: Record<string, string>): (host: string) => string {
    return (n) => addresses[n] ?? fail(`no private address for host ${n}`);
}

function fail(message: string): never {
    throw new Error(message);
}
