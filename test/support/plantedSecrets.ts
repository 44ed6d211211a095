/**
 * Planted secrets (issue #11.4): every secret leaf of the config schema with the bad shapes a user
 * can give it (a trailing newline from `echo`, other control characters, surrounding spaces, too
 * short, the wrong type, a malformed URL or key), each carrying one distinctive marker. A test
 * feeds them to an error path (the schema, the program's config loader, the offline plan) and
 * scans everything it printed for the marker.
 */
import { CONFIG_KEYS, GENERATED_SECRETS, type GeneratedSecretName } from "../../config/keys";
import type { RawConfig } from "../../config/schema";

/** Distinctive, and short enough to make a too-short `secrets.*` value (< 16 characters). */
export const MARKER = "Pl4ntedS3cr3t";

type Kind = "text" | "text16" | "fernet" | "s3" | "url" | "privateKey";

export interface SecretLeaf {
    /** Top-level config key. */
    readonly key: string;
    /** Field inside an object key (`secrets.redisPassword`, `registryAuth.password`). */
    readonly field?: string;
    readonly kind: Kind;
}

/** Every secret leaf of the schema: top-level keys that are (or may be) secrets, and the fields of the secret objects. */
export const SECRET_LEAVES: readonly SecretLeaf[] = [
    ...GENERATED_SECRETS.map((field: GeneratedSecretName): SecretLeaf => ({ key: "secrets", field, kind: field === "fieldEncryptionKey" ? "fernet" : "text16" })),
    ...(["registry", "username", "password"] as const).map((field): SecretLeaf => ({ key: "registryAuth", field, kind: "text" })),
    { key: "alertSlackWebhook", kind: "url" },
    { key: "alertHeartbeatUrl", kind: "url" },
    { key: "tastytradeClientId", kind: "text" },
    { key: "tastytradeClientSecret", kind: "text" },
    { key: "s3AccessKeyId", kind: "s3" },
    { key: "s3SecretAccessKey", kind: "s3" },
    { key: "deploySshKey", kind: "privateKey" },
    { key: "bootstrapSshKey", kind: "privateKey" },
];

/** Top-level keys the schema treats as secret (required or optional). */
export const SECRET_KEYS = Object.entries(CONFIG_KEYS)
    .filter(([, spec]) => spec.secret !== "never")
    .map(([k]) => k);

export const leafKey = (l: SecretLeaf) => `senex-infra:${l.key}${l.field ? `.${l.field}` : ""}`;

function validValue(kind: Kind): string {
    switch (kind) {
        case "text":
            return `${MARKER}-value`;
        case "text16":
            return `${MARKER}-0123456789`;
        case "fernet":
            return `${"R".repeat(43 - MARKER.length)}${MARKER}=`;
        case "s3":
            return `${MARKER}AKIA0123`;
        case "url":
            return `https://hooks.example.net/${MARKER}`;
        case "privateKey":
            return `-----BEGIN OPENSSH PRIVATE KEY-----\n${MARKER}AAAA\n-----END OPENSSH PRIVATE KEY-----\n`;
    }
}

/** The bad shapes of one leaf, each containing {@link MARKER}: [description, value]. */
export function badShapes(leaf: SecretLeaf): Array<[string, unknown]> {
    const v = validValue(leaf.kind);
    if (leaf.kind === "privateKey")
        return [
            ["no END line", `-----BEGIN OPENSSH PRIVATE KEY-----\n${MARKER}AAAA\n`],
            ["a public key instead", `ssh-ed25519 AAAA${MARKER}`],
            ["not a key", `${MARKER}\n`],
        ];
    const common: Array<[string, unknown]> = [
        ["a trailing newline", `${v}\n`],
        ["a trailing CRLF", `${v}\r\n`],
        ["a newline inside", `${v.slice(0, 12)}\n${v.slice(12)}`],
        ["a NUL", `${v}\u0000`],
        ["a tab", `\t${v}`],
        ["a terminal escape", `${v}\u001b[2J`],
        ["a C1 control (NEL)", `${v}\u0085`],
        ["a leading space", ` ${v}`],
        ["a trailing space", `${v} `],
        // A top-level string key receives a structured value as its JSON text (a string): only
        // the fields of object keys can have the wrong type.
        ...(leaf.field ? ([["an object", { value: v }], ["a list", [v]]] as Array<[string, unknown]>) : []),
    ];
    switch (leaf.kind) {
        case "text16":
            return [...common, ["too short", MARKER]];
        case "fernet":
            return [...common, ["not a Fernet key", `${MARKER}-0123456789`]];
        case "s3":
            return [...common, ["a space inside", `${MARKER} AKIA`]];
        case "url":
            return [...common, ["http, not https", `http://hooks.example.net/${MARKER}`], ["not a URL", `${MARKER} token`]];
        default:
            return common;
    }
}

/** A valid hetzner phase-2 stack with backups, as plain values (secrets among them). */
export function baseValues(): Record<string, unknown> {
    return {
        "senex-infra:cloud": "hetzner",
        "senex-infra:phase": 2,
        "senex-infra:domain": "example.com",
        "senex-infra:region": "fsn1",
        "senex-infra:adminSshKeys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEomy+fnvdYaZRXSlk9A0O+2sTksvO8QzBhIr5oqlkWa ops@example.com"],
        "senex-infra:acme": { email: "ops@example.com" },
        "senex-infra:s3AccessKeyId": "stand-in-access-key",
        "senex-infra:s3SecretAccessKey": "stand-in-secret-key",
    };
}

/** Config values with `planted` at each leaf (the other fields of an object key valid). */
export function plantedValues(plants: ReadonlyArray<readonly [SecretLeaf, unknown]>): Record<string, unknown> {
    const values = baseValues();
    for (const [leaf, planted] of plants) {
        const k = `senex-infra:${leaf.key}`;
        if (!leaf.field) values[k] = planted;
        else {
            const others = leaf.key === "registryAuth" ? { registry: "registry.example.com", username: "deploy", password: "registry-password" } : {};
            values[k] = { ...others, ...((values[k] as object | undefined) ?? {}), [leaf.field]: planted };
        }
    }
    return values;
}

/** As the engine hands them over: every value a string, every secret key flagged secret. */
export function rawConfig(values: Record<string, unknown>): RawConfig {
    return {
        values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
        secretKeys: new Set(Object.keys(values).filter((k) => SECRET_KEYS.includes(k.slice("senex-infra:".length)))),
    };
}
