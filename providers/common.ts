/**
 * Small pieces every host-side dynamic provider shares. Captured by value with the provider's code
 * (like ./ssh/transport), so it holds nothing big and no secret.
 */

/** Hex SHA-256 of a text (state stores these, never the secret contents). */
export function sha256(text: string): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require("crypto") as typeof import("crypto")).createHash("sha256").update(text).digest("hex");
}

/**
 * Whether the provider's own serialized code differs between state and this program: destroy and
 * refresh run the code stored in state, so a new version must reach it (an update with nothing to
 * do on the host).
 */
export function providerCodeChanged(olds: object, news: object): boolean {
    const key = "__provider";
    return (olds as Record<string, unknown>)[key] !== (news as Record<string, unknown>)[key];
}

/**
 * cloud-init's first boot, as a shell line: `status --wait` exits 0 (done) or 2 (done with
 * recoverable errors); a host without cloud-init has nothing to wait for.
 */
export const CLOUD_INIT_WAIT = "command -v cloud-init >/dev/null || exit 0; cloud-init status --wait >/dev/null; s=$?; [ $s -eq 0 ] || [ $s -eq 2 ]";

/**
 * The `check` failure for a changed SSH port, or undefined. A host's SSH port is set when the host
 * is set up: on a live host sshd, its nftables and the cloud firewall would move at different
 * moments (and the program would connect to the new port before sshd listens there), so a change
 * locks the deployment out. `check` runs at preview, before any resource changes.
 */
export function sshPortChangeFailure(olds: { target?: { name?: string; port?: number } } | undefined, news: { target?: { name?: string; port?: number } }): { property: string; reason: string } | undefined {
    const before = olds?.target?.port;
    const after = news.target?.port;
    if (before === undefined || after === undefined || before === after) return undefined;
    const key = "senex-infra:ssh.port";
    return {
        property: "target.port",
        reason:
            `\`${key}\` is ${after}, but ${news.target?.name ?? "this host"} was set up with SSH on port ${before}; the port of a live host is not changed ` +
            `(sshd, its firewall and the cloud firewall would switch at different moments and lock the deployment out). ` +
            `Fix: \`pulumi config set --path '${key}' ${before}\`${before === 22 ? ` (or \`pulumi config rm --path '${key}'\`)` : ""}.`,
    };
}
