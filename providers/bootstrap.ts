/**
 * HostBootstrap: the Day-0 bootstrap of an `existing` server, applied over SSH from the same typed
 * spec cloud-init gets on cloud servers (render/cloudinit.ts `renderBootstrapScript`): users
 * `admin` (sudo) and `senex` (rootless containers, linger), packages, sshd hardening, host firewall,
 * fail2ban, unattended upgrades. Never by re-running cloud-init on a live host.
 *
 * - The first run logs in as the host's bootstrap user (root or a sudo user the operator already
 *   has) with the bootstrap key; the script then allows only `admin` and `senex` over SSH, so every
 *   later run logs in as `admin` with the deployment key.
 * - The script is idempotent and goes to `bash` on stdin (nothing of it in argv); it ends by
 *   stamping its hash into /etc/senex/bootstrap.sha256, which `read` compares (refresh shows drift).
 * - `diff` compares the stored script hash: no SSH. A changed spec re-runs the script (update).
 * - `delete` leaves the host as it is: undoing users, sshd and firewall settings would lock the
 *   operator out of a server we do not own. Say so, do not pretend.
 */
import * as pulumi from "@pulumi/pulumi";
import { providerCodeChanged, sha256, sshPortChangeFailure } from "./common";
import * as transport from "./ssh/transport";
import type { SshTarget } from "./ssh/transport";

export interface BootstrapLogin {
    user: string;
    privateKey: string;
}

export interface HostBootstrapInputs {
    /** Address, port, pinned host key and name of the server. */
    target: { name: string; host: string; port: number; hostKey: string };
    /** The first login (the operator's bootstrap user and key). */
    firstLogin: BootstrapLogin;
    /** Every later login: `admin` with the deployment key (the script authorizes it). */
    adminLogin: BootstrapLogin;
    /** The rendered bootstrap script. */
    script: string;
}

export interface HostBootstrapArgs {
    target: pulumi.Input<HostBootstrapInputs["target"]>;
    firstLogin: pulumi.Input<BootstrapLogin>;
    adminLogin: pulumi.Input<BootstrapLogin>;
    script: pulumi.Input<string>;
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
    const r = await withSsh(target, (s) => s.run(["bash", "-s"], { sudo: login.user !== "root", stdin: stamped(inputs.script), timeoutMs: 1_800_000 }));
    return `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => /WARNING/.test(l)).map((l) => l.trim());
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
        const replaces = olds.target.host !== news.target.host ? ["target"] : [];
        const changed = (["script", "firstLogin", "adminLogin"] as const).filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
        if (olds.target.hostKey !== news.target.hostKey || olds.target.port !== news.target.port) changed.push("target" as never);
        // After a refresh that found another (or no) stamp on the host, the script runs again.
        if ((olds as HostBootstrapState).scriptHash !== undefined && (olds as HostBootstrapState).scriptHash !== sha256(news.script)) changed.push("script");
        return { changes: replaces.length > 0 || changed.length > 0 || providerChanged, replaces, deleteBeforeReplace: replaces.length > 0 };
    },

    async create(inputs) {
        const warnings = await runScript(inputs, inputs.firstLogin);
        return { id: `${inputs.target.name}:bootstrap`, outs: { ...inputs, scriptHash: sha256(inputs.script), warnings } };
    },

    async update(_id, olds, news) {
        // Only a changed script touches the host; a new key or provider version is state only.
        const rerun = sha256(news.script) !== olds.scriptHash || news.target.hostKey !== olds.target.hostKey;
        const warnings = rerun ? await runScript(news, news.adminLogin) : (olds.warnings ?? []);
        return { outs: { ...news, scriptHash: sha256(news.script), warnings } };
    },

    async read(id, props) {
        if (!props) return { id, props };
        const { withSsh } = transport;
        const target: SshTarget = { ...props.target, user: props.adminLogin.user, privateKey: props.adminLogin.privateKey };
        const stamp = await withSsh(target, (s) => s.run(["cat", STAMP], { okCodes: [0, 1] }));
        // A host whose bootstrap changed underneath us reads back as a different script hash, so
        // `pulumi refresh` shows it and the next `up` re-applies the spec.
        return { id, props: { ...props, scriptHash: stamp.stdout.trim() || "missing" } };
    },

    async delete() {
        // Intentionally nothing: see the module comment.
    },
};

/** The Day-0 bootstrap of one existing server (see module comment). */
export class HostBootstrap extends pulumi.dynamic.Resource {
    declare public readonly scriptHash: pulumi.Output<string>;
    declare public readonly warnings: pulumi.Output<string[]>;

    constructor(name: string, args: HostBootstrapArgs, opts: pulumi.CustomResourceOptions = {}) {
        super(hostBootstrapProvider, name, { ...args, scriptHash: undefined, warnings: undefined }, { ...opts, additionalSecretOutputs: ["firstLogin", "adminLogin"] });
    }
}
