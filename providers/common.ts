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
