/** An operator's SSH key for test stacks (public half only). */
export const ADMIN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEomy+fnvdYaZRXSlk9A0O+2sTksvO8QzBhIr5oqlkWa ops@example.com";

/** The smallest valid stack: Hetzner, phase 1. Tests add or break keys on a copy. */
export function minimalStack(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        "senex-infra:cloud": "hetzner",
        "senex-infra:phase": 1,
        "senex-infra:domain": "example.com",
        "senex-infra:region": "fsn1",
        "senex-infra:adminSshKeys": [ADMIN_KEY],
        "senex-infra:acme": { email: "a@example.com" },
        ...extra,
    };
}
