/**
 * HostBootstrap: the bootstrap of every server, applied over SSH from the same typed spec
 * cloud-init gets on a cloud server's first boot (render/cloudinit.ts `renderBootstrapScript`):
 * users `admin` (sudo) and `senex` (rootless containers, linger), their authorized keys, packages,
 * CA certificates, the apt proxy, sshd hardening, sudoers, host firewall, fail2ban, unattended
 * upgrades. Never by re-running cloud-init on a live host. Cloud servers ignore user-data after
 * their first boot, so this is how a Day-2 change (a removed admin key, a package a new feature
 * needs) reaches them.
 *
 * - Existing servers: the first run logs in as the host's bootstrap user (root or a sudo user the
 *   operator already has) with the bootstrap key; the script then allows only `admin` and `senex`
 *   over SSH, so every later run logs in as `admin` with the deployment key. Cloud servers: every
 *   run logs in as `admin` (cloud-init authorized the deployment key), the first one after
 *   cloud-init's first boot finished.
 * - A login the host refuses falls back to the next one that can work: a create retried after its
 *   own sshd drop-in already refuses root logs in as `admin`; a run that rotates the deployment key
 *   logs in with the previous key, which the host holds until this run replaces it.
 * - The script is idempotent and goes to `bash` on stdin (nothing of it in argv); it ends by
 *   stamping its hash into /etc/senex/bootstrap.sha256, which `read` compares (refresh shows drift).
 * - `diff` compares the stored script hash: no SSH. A changed spec re-runs the script (update).
 * - `delete` leaves the host as it is: undoing users, sshd and firewall settings would lock the
 *   operator out of a server we do not own. Say so, do not pretend.
 */
import * as pulumi from "@pulumi/pulumi";
import { CLOUD_INIT_WAIT, providerCodeChanged, sha256, sshPortChangeFailure } from "./common";
import * as transport from "./ssh/transport";
import type { SshTarget } from "./ssh/transport";

export interface BootstrapLogin {
    user: string;
    privateKey: string;
}

export interface HostBootstrapInputs {
    /** Address, port, pinned host key and name of the server. */
    target: { name: string; host: string; port: number; hostKey: string };
    /** The first login: the operator's bootstrap user and key (existing servers), `admin` with the deployment key (cloud servers). */
    firstLogin: BootstrapLogin;
    /** Every later login: `admin` with the deployment key (the script authorizes it). */
    adminLogin: BootstrapLogin;
    /** The rendered bootstrap script. */
    script: string;
    /** Cloud servers: wait for cloud-init's first boot to finish before running the script. */
    waitForCloudInit?: boolean;
}

export interface HostBootstrapArgs {
    target: pulumi.Input<HostBootstrapInputs["target"]>;
    firstLogin: pulumi.Input<BootstrapLogin>;
    adminLogin: pulumi.Input<BootstrapLogin>;
    script: pulumi.Input<string>;
    waitForCloudInit?: pulumi.Input<boolean>;
}

export type HostBootstrapState = HostBootstrapInputs & {
    scriptHash: string;
    /** What the last run warned about (e.g. a sysctl the host refused): shown by `pulumi stack output`/`export`. */
    warnings: string[];
};

const STAMP = "/etc/senex/bootstrap.sha256";


/** The script as run: the rendered bootstrap plus the stamp `read` checks. */
function stamped(script: string): string {
    return `${script.replace(/\n*$/, "\n")}install -d -m 0755 /etc/senex\necho ${sha256(script)} > ${STAMP}\n`;
}

/** Runs the script; returns the warning lines it printed (`senex-bootstrap: WARNING …`). */
async function runScript(inputs: HostBootstrapInputs, login: BootstrapLogin): Promise<string[]> {
    const { withSsh } = transport;
    const target: SshTarget = { ...inputs.target, user: login.user, privateKey: login.privateKey };
    // A server the cloud just created answers SSH only once it booted: more (awaited, bounded) attempts.
    const options = inputs.waitForCloudInit ? { attempts: 8, backoffMs: 1000 } : {};
    const r = await withSsh(target, async (s) => {
        if (inputs.waitForCloudInit) await s.run(["sh", "-c", CLOUD_INIT_WAIT], { timeoutMs: 1_200_000 });
        return s.run(["bash", "-s"], { sudo: login.user !== "root", stdin: stamped(inputs.script), timeoutMs: 1_800_000 });
    }, options);
    // Host text bound for state and `pulumi stack output`: no terminal escapes (#11.10).
    return `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => /WARNING/.test(l)).map((l) => transport.printable(l).trim());
}

/** The transport's refusal of our key (not a network, host-key or command error). */
function loginRefused(e: unknown): boolean {
    // By name as well: the serialized provider and the transport may not share one class object.
    return e instanceof transport.AuthenticationError || (e instanceof Error && e.name === "AuthenticationError");
}

/** A login to try, and how an error names it (never the key). */
interface LoginChoice {
    login: BootstrapLogin;
    label: string;
}

/**
 * Runs the script with the first of `choices` the host accepts (see the module comment); a refused
 * login ran nothing, so trying the next one is safe. If the host refuses them all, the error says
 * which were tried and the way out.
 */
async function runWithAcceptedLogin(inputs: HostBootstrapInputs, choices: readonly LoginChoice[]): Promise<string[]> {
    const distinct = choices.filter((c, i) => choices.findIndex((d) => d.login.user === c.login.user && d.login.privateKey === c.login.privateKey) === i);
    for (const { login } of distinct) {
        try {
            return await runScript(inputs, login);
        } catch (e) {
            if (!loginRefused(e)) throw e;
        }
    }
    throw new Error(
        `${inputs.target.name}: the host refused every login the bootstrap can use (${distinct.map((c) => c.label).join("; ")}). ` +
            "If a bootstrap stopped after its sshd drop-in (root refused from then on) before admin held the deployment key, or the host lost it: " +
            "on the server's console add the deployment key's public half (`pulumi stack output deployPublicKey`) to /home/admin/.ssh/authorized_keys " +
            "(or remove /etc/ssh/sshd_config.d/10-senex.conf and run `systemctl reload ssh`), then run `pulumi up` again.",
    );
}

export const hostBootstrapProvider: pulumi.dynamic.ResourceProvider<HostBootstrapInputs, HostBootstrapState> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (!/^ssh-ed25519 /.test(news.target?.hostKey ?? "")) failures.push({ property: "target.hostKey", reason: "must be the host's pinned ssh-ed25519 key" });
        if (!news.firstLogin?.privateKey?.includes("PRIVATE KEY")) failures.push({ property: "firstLogin.privateKey", reason: "must be an OpenSSH private key" });
        if (!/^[a-z_][a-z0-9_-]*$/.test(news.firstLogin?.user ?? "")) failures.push({ property: "firstLogin.user", reason: "must be a user name" });
        if (!news.script?.startsWith("#!/bin/bash")) failures.push({ property: "script", reason: "must be the rendered bootstrap script" });
        const portChange = sshPortChangeFailure(_olds, news);
        if (portChange) failures.push(portChange);
        return { inputs: news, failures };
    },

    async diff(_id, olds, news) {
        const providerChanged = providerCodeChanged(olds, news);
        const changed = (["script", "firstLogin", "adminLogin", "waitForCloudInit"] as const).filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
        // Never a replacement: a new address, port or name of the same server is state only (the
        // script runs again only when it changed, or the pinned key did), and a replacement would
        // run `create` as the first login, which the bootstrapped server's sshd refuses.
        const t = (x: HostBootstrapInputs) => [x.target.name, x.target.host, x.target.port, x.target.hostKey].join("\n");
        if (t(olds) !== t(news)) changed.push("target" as never);
        // After a refresh that found another (or no) stamp on the host, the script runs again.
        if ((olds as HostBootstrapState).scriptHash !== undefined && (olds as HostBootstrapState).scriptHash !== sha256(news.script)) changed.push("script");
        return { changes: changed.length > 0 || providerChanged, replaces: [] };
    },

    async create(inputs) {
        // A retried create finds root refused if the failed one got past the sshd reload: admin then.
        const warnings = await runWithAcceptedLogin(inputs, [
            { login: inputs.firstLogin, label: `${inputs.firstLogin.user} with the first-login key` },
            { login: inputs.adminLogin, label: "admin with the deployment key" },
        ]);
        return { id: `${inputs.target.name}:bootstrap`, outs: { ...inputs, scriptHash: sha256(inputs.script), warnings } };
    },

    async update(_id, olds, news) {
        // Only a changed script touches the host; a new key or provider version is state only.
        const rerun = sha256(news.script) !== olds.scriptHash || news.target.hostKey !== olds.target.hostKey;
        // The new deployment key first; the previous one while the host holds only that (key rotation).
        const warnings = rerun
            ? await runWithAcceptedLogin(news, [
                  { login: news.adminLogin, label: "admin with the deployment key" },
                  { login: olds.adminLogin, label: "admin with the previous deployment key" },
              ])
            : (olds.warnings ?? []);
        return { outs: { ...news, scriptHash: sha256(news.script), warnings } };
    },

    async read(id, props) {
        if (!props) return { id, props };
        const { withSsh } = transport;
        const target: SshTarget = { ...props.target, user: props.adminLogin.user, privateKey: props.adminLogin.privateKey };
        const stamp = await withSsh(target, (s) => s.run(["cat", STAMP], { okCodes: [0, 1] }));
        // A host whose bootstrap changed underneath us reads back as a different script hash, so
        // `pulumi refresh` shows it and the next `up` re-applies the spec.
        return { id, props: { ...props, scriptHash: transport.printable(stamp.stdout).trim().slice(0, 128) || "missing" } };
    },

    async delete() {
        // Intentionally nothing: see the module comment.
    },
};

/** The bootstrap of one server over SSH (see module comment). */
export class HostBootstrap extends pulumi.dynamic.Resource {
    declare public readonly scriptHash: pulumi.Output<string>;
    declare public readonly warnings: pulumi.Output<string[]>;

    constructor(name: string, args: HostBootstrapArgs, opts: pulumi.CustomResourceOptions = {}) {
        super(hostBootstrapProvider, name, { ...args, scriptHash: undefined, warnings: undefined }, { ...opts, additionalSecretOutputs: ["firstLogin", "adminLogin"] });
    }
}
