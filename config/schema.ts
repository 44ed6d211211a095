import { z } from "zod";
import { catalogs, serverType } from "../catalog";
import { CONFIG_KEYS, ConfigKeyName, GENERATED_SECRETS, GeneratedSecretName, NEVER_ROTATED, PROJECT } from "./keys";
import { DEFAULT_SIZES, LETS_ENCRYPT_PRODUCTION, PHASE_GROUPS, defaultImages } from "./defaults";
import { SecretValue } from "./secret";
import { SERVICE_KINDS } from "../topology/types";
import { HOST_GROUPS, HostGroup, IMAGE_NAMES, ImageName, Phase, StackConfig } from "./types";

/** Config as Pulumi hands it over: every value a string, keys with their namespace. */
export interface RawConfig {
    readonly values: Readonly<Record<string, string>>;
    /** Full keys (`senex-infra:tastytradeClientSecret`) whose values were encrypted in the stack file. */
    readonly secretKeys: ReadonlySet<string>;
}

/**
 * A problem that is only a missing credential the apply needs (e.g. object storage keys that must
 * be created in a console): `preview` and `up` refuse it, the offline plan stands in for it and
 * warns, since the plan is where a user looks before creating those keys.
 */
export interface MissingCredential {
    /** Full key, e.g. `senex-infra:s3AccessKeyId`. */
    readonly key: string;
    /** Its line in {@link ConfigError.problems}. */
    readonly problem: string;
}

/** Every problem of a stack's config, one line each, naming the full key and the fix. */
export class ConfigError extends Error {
    constructor(
        readonly problems: readonly string[],
        /** The problems that are missing credentials only (a subset of `problems`). */
        readonly missingCredentials: readonly MissingCredential[] = [],
    ) {
        super(`invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
        this.name = "ConfigError";
    }
}

const hostname = z
    .string()
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, { error: "must be a lower-case DNS name like example.com" });
const ipv4 = z.ipv4({ error: "must be an IPv4 address like 10.0.1.5" });
const cidr = z.union([z.cidrv4(), z.cidrv6()], { error: "must be a CIDR like 203.0.113.0/24 or 2001:db8::/32" });
const sshPublicKey = z
    .string()
    .regex(/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+=*( .*)?$/, { error: "must be an OpenSSH public key line (`ssh-ed25519 AAAA... comment`)" });
const privateKey = z.string().regex(/^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----\s*$/, {
    error: "must be an OpenSSH private key (`-----BEGIN OPENSSH PRIVATE KEY-----`); set it with `pulumi config set --secret KEY < keyfile`",
});
const hostKey = z.string().regex(/^ssh-ed25519 [A-Za-z0-9+/]+=*( .*)?$/, {
    error: "must be the host's ED25519 public key (`ssh-keyscan -t ed25519 HOST`): we pin it and never trust on first use",
});
const imageRef = z
    .string()
    .regex(/^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/, {
        error: "must be an image reference like registry.example.com/team/app:1.2 or ...@sha256:<64 hex>",
    });
const hostName = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, { error: "must be a short lower-case name like web-1" });

/**
 * Secret values are checked here, where a problem can name the key, and their messages never show
 * the value (nor do zod's own: they name the expected shape, not the input). A control character
 * is usually a trailing newline from `echo` or a file; in the line formats the value goes into
 * (Redis, pgpass, env files) it would split a directive, so the renderers refuse it too.
 */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
const secretText = (min: number) =>
    z
        .string({ error: "must be a string" })
        // piped: zod would otherwise also apply the length check to a list given instead of a string
        .pipe(z.string().min(min, { error: `must be at least ${min} character${min === 1 ? "" : "s"}` }))
        .refine((v) => !CONTROL_CHARACTER.test(v), { error: "contains a line break, tab or other control character (often a trailing newline from `echo` or a file)" })
        .refine((v) => CONTROL_CHARACTER.test(v) || v.trim() === v, { error: "starts or ends with whitespace" }); // once per value: a newline is reported above
/** A URL that is itself a secret (it carries a token): the control-character check runs before URL parsing, which would silently drop a newline. */
const secretUrl = (error: string) => secretText(1).pipe(z.url({ protocol: /^https$/, error }));
/** Object storage keys as the consoles show them. */
const s3Key = secretText(1).refine((v) => v === "" || CONTROL_CHARACTER.test(v) || v.trim() !== v || /^[!-~]+$/.test(v), {
    error: "must be printable ASCII without spaces (as the object storage console shows it)",
});
/** `pulumi config set` delivers numbers as strings ("3"); accept those, and only those. */
const numeric = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((v) => (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v), schema);
const positiveInt = (max: number) =>
    numeric(z.number({ error: "must be a whole number" }).int({ error: "must be a whole number" }).min(1, { error: "must be at least 1" }).max(max, { error: `must be at most ${max}` }));

const sizesSchema = z.strictObject(Object.fromEntries(HOST_GROUPS.map((g) => [g, z.string().optional()])) as Record<HostGroup, z.ZodOptional<z.ZodString>>);
const imagesSchema = z.strictObject(Object.fromEntries(IMAGE_NAMES.map((n) => [n, imageRef.optional()])) as Record<ImageName, z.ZodOptional<typeof imageRef>>);
const secretNamesSchema = <T extends z.ZodTypeAny>(value: T) =>
    z.strictObject(Object.fromEntries(GENERATED_SECRETS.map((n) => [n, value.optional()])) as Record<GeneratedSecretName, z.ZodOptional<T>>);

/** The shape of every key's decoded value. Defaults that depend on other keys are applied later. */
const schema = z.strictObject({
    cloud: z.enum(["hetzner", "digitalocean", "existing"], { error: "must be one of hetzner, digitalocean, existing" }),
    phase: numeric(z.union([z.literal(1), z.literal(2), z.literal(3)], { error: "must be 1, 2 or 3" })),
    domain: hostname,
    region: z.string().optional(),
    sizes: sizesSchema.optional(),
    webCount: positiveInt(50).optional(),
    workerCount: positiveInt(50).optional(),
    daphnePerHost: positiveInt(8).optional(),
    images: imagesSchema.optional(),
    adminSshKeys: z.array(sshPublicKey).min(1, { error: "needs at least one key, or nobody can log in" }),
    hosts: z
        .array(
            z.strictObject({
                // name and roles may be left out where they cannot be anything else (resolveExistingHosts).
                name: hostName.optional(),
                address: z.union([ipv4, hostname], { error: "must be an IPv4 address or a DNS name" }),
                privateAddress: ipv4,
                hostKey,
                bootstrapUser: z.string().regex(/^[a-z_][a-z0-9_-]*$/, { error: "must be a user name (root, or a sudo user the host already has)" }).optional(),
                roles: z.array(z.enum(HOST_GROUPS, { error: `must be one of ${HOST_GROUPS.join(", ")}` })).min(1, { error: "needs at least one role" }).optional(),
            }),
        )
        .optional(),
    network: z.strictObject({ cidr: z.cidrv4().optional(), subnet: z.cidrv4().optional() }).optional(),
    backups: z
        .strictObject({
            enabled: z.boolean({ error: "must be true or false" }).optional(),
            retentionDays: positiveInt(3650).optional(),
            redisRetentionDays: positiveInt(3650).optional(),
            hourUtc: numeric(z.number().int().min(0, { error: "must be an hour 0-23" }).max(23, { error: "must be an hour 0-23" })).optional(),
            bucket: z.string().regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, { error: "must be a bucket name (3-63 lower-case letters, digits, dashes)" }).optional(),
            // https only: the backup jobs send the S3 keys with every request. Only scheme, host and
            // port are used (pgBackRest and restic take a host), so a path or login would be dropped.
            endpoint: z
                .url({ protocol: /^https$/, error: "must be an https URL like https://s3.example.com (the S3 keys travel with every request)" })
                .refine((v) => {
                    if (!URL.canParse(v)) return true; // reported by the URL check above (zod runs both)
                    const u = new URL(v);
                    return u.username === "" && u.password === "" && u.pathname === "/" && u.search === "" && u.hash === "";
                }, { error: "must be just https://HOST[:PORT], without a path, query or login (credentials are the s3AccessKeyId/s3SecretAccessKey keys)" })
                .optional(),
            region: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: "must be an S3 region name like eu-central-1 (lower-case letters, digits, dashes)" }).optional(),
        })
        .optional(),
    acme: z.strictObject({
        email: z.email({ error: "must be an e-mail address (Let's Encrypt sends expiry warnings there)" }),
        directoryUrl: z.url({ protocol: /^https$/, error: "must be an https URL of an ACME directory" }).optional(),
    }),
    alerts: z
        .strictObject({
            email: z.strictObject({ to: z.email(), from: z.email(), smarthost: z.string().regex(/^[^:\s]+:\d+$/, { error: "must be host:port" }) }).optional(),
        })
        .optional(),
    alertSlackWebhook: secretUrl("must be an https webhook URL").optional(),
    alertHeartbeatUrl: secretUrl("must be the https URL of the heartbeat service").optional(),
    rotate: secretNamesSchema(numeric(z.number({ error: "must be a generation number >= 0" }).int().min(0, { error: "must be a generation number >= 0" }))).optional(),
    secrets: secretNamesSchema(secretText(16)).optional(),
    tastytradeClientId: secretText(1).optional(),
    tastytradeClientSecret: secretText(1).optional(),
    protect: z.boolean({ error: "must be true or false" }).optional(),
    ssh: z.strictObject({ allowFrom: z.array(cidr).min(1).optional(), port: numeric(z.number().int().min(1).max(65535)).optional() }).optional(),
    registryAuth: z.strictObject({ registry: secretText(1), username: secretText(1), password: secretText(1) }).optional(),
    postgresVersion: numeric(z.union([z.literal(16), z.literal(17)], { error: "must be 16 or 17" })).optional(),
    s3AccessKeyId: s3Key.optional(),
    s3SecretAccessKey: s3Key.optional(),
    deploySshKey: privateKey.optional(),
    bootstrapSshKey: privateKey.optional(),
    caCertificates: z.array(z.string().regex(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\s*$/, { error: "must be a PEM certificate" })).optional(),
    aptProxy: z.url({ protocol: /^https?$/, error: "must be an http(s) proxy URL" }).optional(),
    limits: z
        .record(z.string(), z.strictObject({ memory: z.string().regex(/^\d+[KMG]?$/, { error: "must look like 512M or 2G" }).optional(), cpus: numeric(z.number().positive()).optional() }))
        .optional(),
    celery: z.strictObject({ concurrency: positiveInt(64).optional(), stopTimeoutSeconds: positiveInt(7200).optional() }).optional(),
});
type Decoded = z.infer<typeof schema>;

/** Keys that moved, with the problem line that says where (a plain value that must become a secret). */
const MOVED_KEYS: Readonly<Record<string, string>> = {
    [`${PROJECT}:alerts.heartbeatUrl`]: `${PROJECT}:alerts.heartbeatUrl: the heartbeat URL carries a token, so it is the secret key alertHeartbeatUrl now. Fix: \`pulumi config set --secret ${PROJECT}:alertHeartbeatUrl < FILE\`, then \`pulumi config rm --path '${PROJECT}:alerts.heartbeatUrl'\` (and revoke the token if the plain value was committed).`,
};

/** How to set a key from the command line, for fix hints. */
function setCommand(key: string, secret: boolean): string {
    return `pulumi config set${secret ? " --secret" : ""} ${PROJECT}:${key}`;
}

/** Turns `["hosts", 1, "hostKey"]` into `senex-infra:hosts[1].hostKey`. */
export function keyPath(path: readonly PropertyKey[]): string {
    let out = `${PROJECT}:`;
    path.forEach((p, i) => {
        if (typeof p === "number") out += `[${p}]`;
        else out += i === 0 ? String(p) : `.${String(p)}`;
    });
    return out;
}

function editDistance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)] as number[]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++)
        for (let j = 1; j <= b.length; j++)
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
    return d[a.length][b.length];
}

function suggestion(name: string, known: readonly string[]): string {
    const best = known.map((k) => [k, editDistance(name, k)] as const).sort((x, y) => x[1] - y[1])[0];
    return best && best[1] <= Math.max(2, Math.floor(name.length / 3)) ? ` Did you mean \`${best[0]}\`?` : "";
}

/** Decodes Pulumi's string values per key type; problems are collected, not thrown. */
function decode(raw: RawConfig, problems: string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const known = Object.keys(CONFIG_KEYS);
    for (const [fullKey, value] of Object.entries(raw.values)) {
        const colon = fullKey.indexOf(":");
        const namespace = fullKey.slice(0, colon);
        if (namespace !== PROJECT) continue; // hcloud:, digitalocean:, aws:, pulumi: are not ours to judge
        const name = fullKey.slice(colon + 1);
        const spec = (CONFIG_KEYS as Record<string, (typeof CONFIG_KEYS)[ConfigKeyName]>)[name];
        if (!spec) {
            problems.push(`${fullKey}: unknown key.${suggestion(name, known)} Fix: remove it with \`pulumi config rm ${fullKey}\` (known keys are declared in Pulumi.yaml).`);
            continue;
        }
        if (spec.secret === "required" && !raw.secretKeys.has(fullKey)) {
            problems.push(`${fullKey}: is a secret but is stored in plain text. Fix: \`${setCommand(name, true)}\` (and remove the plain value from the stack file's history).`);
            continue;
        }
        if (spec.type === "object" || spec.type === "array") {
            try {
                out[name] = JSON.parse(value);
            } catch {
                problems.push(`${fullKey}: is not valid JSON/YAML structure. Fix: write it as a YAML mapping or list in the stack file, or use \`pulumi config set --path '${PROJECT}:${name}.<field>' VALUE\`.`);
            }
        } else if (spec.type === "boolean") {
            if (value !== "true" && value !== "false") problems.push(`${fullKey}: must be true or false, got "${value}". Fix: \`${setCommand(name, false)} true\`.`);
            else out[name] = value === "true";
        } else {
            out[name] = value; // strings; integers are coerced by the schema ("3" → 3)
        }
    }
    return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
    return path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined), root);
}

function zodProblems(error: z.ZodError, prefix: PropertyKey[], decoded: Record<string, unknown>): string[] {
    return error.issues.map((i) => ({ ...i, path: [...prefix, ...i.path] }) as z.core.$ZodIssue).flatMap((issue) => {
        if (issue.code === "unrecognized_keys") {
            return issue.keys.map((k) => {
                const parentPath = issue.path;
                const moved = MOVED_KEYS[keyPath([...parentPath, k])];
                if (moved) return moved;
                return `${keyPath([...parentPath, k])}: unknown key. Fix: remove it (allowed here: see Pulumi.yaml's description of \`${String(parentPath[0] ?? k)}\`).`;
            });
        }
        if (valueAt(decoded, issue.path) === undefined) {
            const top = String(issue.path[0]);
            const spec = (CONFIG_KEYS as Record<string, { secret: string }>)[top];
            return [`${keyPath(issue.path)}: is required. Fix: \`${setCommand(issue.path.length === 1 ? top : `${top}` + " (with --path)", spec?.secret === "required")}\`.`];
        }
        const top = String(issue.path[0]);
        const secret = (CONFIG_KEYS as Record<string, { secret: string }>)[top]?.secret !== "never";
        return [`${keyPath(issue.path)}: ${issue.message}.${secret ? ` ${secretFix(issue.path)}` : ""}`];
    });
}

/** The fix for a bad secret value: how to set it again; the message itself never shows the value. */
function secretFix(path: readonly PropertyKey[]): string {
    const nested = path.length > 1;
    return `Fix: set it again from a file (no trailing newline): \`pulumi config set --secret${nested ? " --path" : ""} '${keyPath(path)}' < FILE\` (the value is never shown here).`;
}

/**
 * Validates and completes a stack's config. Pure: it reads nothing but its arguments. Throws a
 * {@link ConfigError} listing every problem at once.
 */
export function parseStackConfig(raw: RawConfig, project: string, stack: string): StackConfig {
    const problems: string[] = [];
    const missingCredentials: MissingCredential[] = [];
    const decoded = decode(raw, problems);
    // Each key is checked on its own, so one bad key does not hide the cross-field rules: those run
    // whenever `cloud` and `phase` themselves are valid, on the keys that passed.
    const valid: Record<string, unknown> = {};
    for (const [key, keySchema] of Object.entries(schema.shape)) {
        const parsed = (keySchema as z.ZodTypeAny).safeParse(decoded[key]);
        if (parsed.success) {
            if (parsed.data !== undefined) valid[key] = parsed.data;
        } else problems.push(...zodProblems(parsed.error, [key], decoded));
    }
    if (valid.cloud === undefined || valid.phase === undefined) throw new ConfigError(dedupe(problems));
    // Keys the stack sets at all (valid or not): a set but invalid credential is its own problem, not a missing one.
    const given = new Set(Object.keys(raw.values).filter((key) => key.startsWith(`${PROJECT}:`)).map((key) => key.slice(PROJECT.length + 1)));
    const config = complete(valid as Decoded, project, stack, problems, missingCredentials, given);
    if (problems.length > 0) throw new ConfigError(dedupe(problems), missingCredentials);
    return deepFreeze(config);
}

function dedupe(lines: string[]): string[] {
    return [...new Set(lines)];
}

/** Applies defaults that depend on other keys, and the cross-field rules. */
function complete(d: Decoded, project: string, stack: string, problems: string[], missingCredentials: MissingCredential[], given: ReadonlySet<string>): StackConfig {
    const phase = d.phase as Phase;
    const k = (name: string) => `${PROJECT}:${name}`;

    // Counts: phases 1-2 run one web and one worker host; phase 3 needs redundancy.
    const webCount = d.webCount ?? (phase === 3 ? 2 : 1);
    const workerCount = d.workerCount ?? (phase === 3 ? 2 : 1);
    if (phase < 3 && d.webCount !== undefined && d.webCount !== 1)
        problems.push(`${k("webCount")}: phase ${phase} runs exactly one web host, got ${d.webCount}. Fix: remove the key, or set ${k("phase")} to 3 for several web hosts.`);
    if (phase < 3 && d.workerCount !== undefined && d.workerCount !== 1)
        problems.push(`${k("workerCount")}: phase ${phase} runs the Celery worker on one host, got ${d.workerCount}. Fix: remove the key, or set ${k("phase")} to 3.`);
    if (phase === 3 && webCount < 2) problems.push(`${k("webCount")}: phase 3 (high availability) needs at least 2 web hosts, got ${webCount}. Fix: \`${setCommand("webCount", false)} 2\`.`);
    if (phase === 3 && workerCount < 2) problems.push(`${k("workerCount")}: phase 3 (high availability) needs at least 2 Celery workers, got ${workerCount}. Fix: \`${setCommand("workerCount", false)} 2\`.`);

    // Cloud-specific rules: regions and server types must exist for the chosen cloud.
    const sizes: Partial<Record<HostGroup, string>> = {};
    const hosts = resolveExistingHosts(d, phase, problems);
    if (d.cloud === "existing") {
        if (d.region !== undefined) problems.push(`${k("region")}: is not used with cloud=existing. Fix: remove it.`);
        if (d.sizes !== undefined) problems.push(`${k("sizes")}: is not used with cloud=existing (your servers are already sized). Fix: remove it.`);
        checkExistingHosts(hosts, phase, webCount, workerCount, problems);
    } else {
        const catalog = catalogs[d.cloud];
        if (d.hosts !== undefined) problems.push(`${k("hosts")}: is only for cloud=existing; ${d.cloud} creates its servers. Fix: remove it, or set ${k("cloud")} to existing.`);
        if (d.region === undefined) problems.push(`${k("region")}: is required for cloud=${d.cloud}. Fix: \`${setCommand("region", false)} ${catalog.regions[0].name}\` (one of ${catalog.regions.map((r) => r.name).join(", ")}).`);
        else if (!catalog.regions.some((r) => r.name === d.region))
            problems.push(`${k("region")}: "${d.region}" is not a ${d.cloud} region. Fix: use one of ${catalog.regions.map((r) => r.name).join(", ")}.`);
        const used = PHASE_GROUPS[phase];
        for (const group of HOST_GROUPS) {
            const given = d.sizes?.[group];
            if (given !== undefined && !used.includes(group)) {
                problems.push(`${k(`sizes.${group}`)}: phase ${phase} has no ${group} hosts (it uses ${used.join(", ")}). Fix: remove it.`);
                continue;
            }
            if (!used.includes(group)) continue;
            const type = given ?? DEFAULT_SIZES[d.cloud][phase][group];
            if (type === undefined) continue;
            const known = serverType(d.cloud, type);
            if (!known) {
                problems.push(`${k(`sizes.${group}`)}: "${type}" is not a ${d.cloud} server type.${suggestion(type, catalog.serverTypes.map((t) => t.name))} Fix: use one of ${catalog.serverTypes.filter((t) => t.available).map((t) => t.name).join(", ")}.`);
            } else if (!known.available) {
                problems.push(`${k(`sizes.${group}`)}: ${d.cloud} no longer sells "${type}" to new servers. Fix: use one of ${catalog.serverTypes.filter((t) => t.available && t.arch === known.arch).map((t) => t.name).join(", ")}.`);
            } else if (d.region && catalog.regions.some((r) => r.name === d.region) && known.regions && !known.regions.includes(d.region)) {
                problems.push(`${k(`sizes.${group}`)}: "${type}" is not offered in ${d.region} (only ${known.regions.join(", ")}). Fix: choose another type or region.`);
            }
            sizes[group] = type;
        }
    }

    // Images: defaults, and digests when the stack protects production data.
    const postgresVersion = (d.postgresVersion ?? 16) as 16 | 17;
    const images = { ...defaultImages(postgresVersion), ...stripUndefined(d.images ?? {}) } as Record<ImageName, string>;
    const protect = d.protect ?? false;
    if (protect) {
        const unpinned = IMAGE_NAMES.filter((n) => imageUsed(n, d.cloud, phase) && !images[n].includes("@sha256:"));
        for (const n of unpinned)
            problems.push(`${k(`images.${n}`)}: "${images[n]}" is not pinned by digest, and this stack sets protect=true (production). Fix: \`pulumi config set --path '${k(`images.${n}`)}' ${images[n].replace(/:[^:/@]+$/, "")}@sha256:<digest>\`.`);
    }

    // Secrets: rotation generations, supplied values, and the never-rotated passphrase.
    const rotate = Object.fromEntries(GENERATED_SECRETS.map((n) => [n, d.rotate?.[n] ?? 0])) as Record<GeneratedSecretName, number>;
    for (const n of NEVER_ROTATED)
        if ((d.rotate?.[n] ?? 0) !== 0)
            problems.push(`${k(`rotate.${n}`)}: the ${n} never rotates: every existing backup is encrypted with it and would become unreadable. Fix: remove it from rotate (the passphrase is exported as the stack output backupPassphrase for offline escrow).`);
    const suppliedSecrets: Partial<Record<GeneratedSecretName, SecretValue>> = {};
    for (const [n, v] of Object.entries(d.secrets ?? {})) if (v !== undefined) suppliedSecrets[n as GeneratedSecretName] = new SecretValue(v);
    if (d.secrets?.fieldEncryptionKey !== undefined && !/^[A-Za-z0-9_-]{43}=$/.test(d.secrets.fieldEncryptionKey))
        problems.push(`${k("secrets.fieldEncryptionKey")}: must be a Fernet key (url-safe base64 of 32 bytes, 44 characters ending in "="). Fix: generate one with \`python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'\`.`);

    if (d.tastytradeClientSecret === undefined && d.tastytradeClientId !== undefined)
        problems.push(`${k("tastytradeClientSecret")}: is required when tastytradeClientId is set. Fix: \`${setCommand("tastytradeClientSecret", true)}\`.`);

    // Backups: phases 2-3 keep them on by default; some clouds cannot mint S3 keys by API.
    const backupsEnabled = d.backups?.enabled ?? phase >= 2;
    if (backupsEnabled && d.cloud !== "digitalocean" && (d.s3AccessKeyId === undefined || d.s3SecretAccessKey === undefined)) {
        for (const key of ["s3AccessKeyId", "s3SecretAccessKey"] as const)
            if (d[key] === undefined && !given.has(key)) {
                const problem = `${k(key)}: is required for backups on ${d.cloud} (${d.cloud === "hetzner" ? "Hetzner Object Storage keys cannot be created by API: create them in the console" : "existing servers bring their own S3 endpoint"}). Fix: \`${setCommand(key, true)}\`, or set backups.enabled to false.`;
                problems.push(problem);
                missingCredentials.push({ key: k(key), problem });
            }
    }
    if (backupsEnabled && d.cloud === "existing" && d.backups?.endpoint === undefined)
        problems.push(`${k("backups.endpoint")}: is required for backups with cloud=existing. Fix: \`pulumi config set --path '${k("backups.endpoint")}' https://s3.example.com\`.`);
    if (backupsEnabled && d.cloud === "hetzner" && d.region && !catalogs.hetzner.objectStorageRegions.includes(d.backups?.region ?? d.region))
        problems.push(`${k("backups.region")}: Hetzner Object Storage is not offered in ${d.backups?.region ?? d.region}. Fix: set backups.region to one of ${catalogs.hetzner.objectStorageRegions.join(", ")}.`);
    if (d.cloud === "digitalocean" && backupsEnabled && d.region && !catalogs.digitalocean.objectStorageRegions.includes(d.backups?.region ?? d.region))
        problems.push(`${k("backups.region")}: DigitalOcean Spaces is not offered in ${d.backups?.region ?? d.region}. Fix: set backups.region to one of ${catalogs.digitalocean.objectStorageRegions.join(", ")}.`);
    const backupRegion = d.backups?.region ?? d.region;
    const backups = {
        enabled: backupsEnabled,
        retentionDays: d.backups?.retentionDays ?? 30,
        redisRetentionDays: d.backups?.redisRetentionDays ?? 7,
        hourUtc: d.backups?.hourUtc ?? 2,
        bucket: d.backups?.bucket ?? `${project}-${stack}-backups`.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63),
        ...(d.backups?.endpoint !== undefined
            ? { endpoint: d.backups.endpoint }
            : d.cloud !== "existing" && backupRegion && catalogs[d.cloud].objectStorageRegions.includes(backupRegion)
              ? { endpoint: catalogs[d.cloud].s3Endpoint(backupRegion) }
              : {}),
        ...(backupRegion !== undefined ? { region: backupRegion } : {}),
    };

    const network = { cidr: d.network?.cidr ?? "10.0.0.0/16", subnet: d.network?.subnet ?? "10.0.1.0/24" };
    // Hosts get fixed offsets from the subnet's first address, and the clouds take the value as a
    // network: a CIDR with host bits set is refused rather than silently read as another network.
    for (const field of ["cidr", "subnet"] as const)
        if (networkAddress(network[field]) !== network[field])
            problems.push(`${k(`network.${field}`)}: ${network[field]} is not a network address (its host bits are set). Fix: use ${networkAddress(network[field])}, or the network you meant.`);
    if (!cidrContains(network.cidr, network.subnet)) problems.push(`${k("network.subnet")}: ${network.subnet} is not inside network.cidr ${network.cidr}. Fix: choose a subnet inside it.`);
    else if (prefixLength(network.subnet) > 24) problems.push(`${k("network.subnet")}: ${network.subnet} is smaller than a /24; hosts get fixed addresses up to .219. Fix: use a /24 or larger.`);

    // Limits apply per service (its name, e.g. daphne-1, or its kind): an unknown one would be ignored.
    const limitTargets = [...SERVICE_KINDS.filter((kind) => kind !== "backup"), ...Array.from({ length: d.daphnePerHost ?? 2 }, (_, i) => `daphne-${i + 1}`)];
    for (const name of Object.keys(d.limits ?? {}))
        if (!limitTargets.includes(name))
            problems.push(`${k(`limits.${name}`)}: is not a service.${suggestion(name, limitTargets)} Fix: use one of ${limitTargets.join(", ")}.`);

    const celery = { concurrency: d.celery?.concurrency ?? 4, stopTimeoutSeconds: d.celery?.stopTimeoutSeconds ?? 600 };

    return {
        project,
        stack,
        cloud: d.cloud,
        phase,
        domain: d.domain,
        ...(d.region !== undefined ? { region: d.region } : {}),
        sizes,
        webCount: phase === 3 ? webCount : 1,
        workerCount: phase === 3 ? workerCount : 1,
        daphnePerHost: d.daphnePerHost ?? 2,
        images,
        adminSshKeys: d.adminSshKeys,
        hosts: hosts.map((h) => ({ ...h, bootstrapUser: h.bootstrapUser ?? "root", roles: [...h.roles] })),
        network,
        backups,
        acme: { email: d.acme?.email, directoryUrl: d.acme?.directoryUrl ?? LETS_ENCRYPT_PRODUCTION },
        alerts: {
            ...(d.alerts?.email ? { email: d.alerts.email } : {}),
            ...(d.alertHeartbeatUrl ? { heartbeatUrl: new SecretValue(d.alertHeartbeatUrl) } : {}),
            ...(d.alertSlackWebhook ? { slackWebhook: new SecretValue(d.alertSlackWebhook) } : {}),
        },
        rotate,
        suppliedSecrets,
        tastytrade: {
            ...(d.tastytradeClientId ? { clientId: d.tastytradeClientId } : {}),
            ...(d.tastytradeClientSecret ? { clientSecret: new SecretValue(d.tastytradeClientSecret) } : {}),
        },
        protect,
        ssh: { allowFrom: d.ssh?.allowFrom ?? ["0.0.0.0/0", "::/0"], port: d.ssh?.port ?? 22 },
        ...(d.registryAuth ? { registryAuth: { ...d.registryAuth, password: new SecretValue(d.registryAuth.password) } } : {}),
        postgresVersion,
        ...(d.s3AccessKeyId && d.s3SecretAccessKey
            ? { s3Credentials: { accessKeyId: new SecretValue(d.s3AccessKeyId), secretAccessKey: new SecretValue(d.s3SecretAccessKey) } }
            : {}),
        ...(d.aptProxy ? { aptProxy: d.aptProxy } : {}),
        ...(d.deploySshKey ? { deploySshKey: new SecretValue(d.deploySshKey) } : {}),
        ...(d.bootstrapSshKey ? { bootstrapSshKey: new SecretValue(d.bootstrapSshKey) } : {}),
        caCertificates: d.caCertificates ?? [],
        limits: d.limits ?? {},
        celery,
    } satisfies StackConfig;
}

/** Which images a stack runs, so protect=true only demands digests for those. */
function imageUsed(name: ImageName, cloud: string, phase: Phase): boolean {
    switch (name) {
        case "app":
        case "postgres":
        case "redis":
        case "nginx":
        case "nodeExporter":
            return true;
        case "pgbouncer":
        case "prometheus":
        case "alertmanager":
        case "grafana":
        case "postgresExporter":
        case "redisExporter":
            return phase >= 2;
        case "loki":
        case "alloy":
            return phase === 3;
        case "haproxy":
            return phase === 3 && cloud === "existing";
        default: {
            const never: never = name;
            return never;
        }
    }
}

type DecodedHost = NonNullable<Decoded["hosts"]>[number];
type ResolvedHost = DecodedHost & { readonly name: string; readonly roles: HostGroup[] };

/**
 * Asks only for what cannot be inferred: the one host of a phase-1 stack can only be `main` and
 * hold everything (as it is on the clouds), so its `name` and `roles` may be left out. Any other
 * host must say both: which groups a host of a larger phase holds is the operator's choice.
 */
function resolveExistingHosts(d: Decoded, phase: Phase, problems: string[]): ResolvedHost[] {
    const hosts = d.hosts ?? [];
    const single = phase === 1 && hosts.length === 1;
    return hosts.map((h, i) => {
        if (!single) {
            const why = phase === 1 ? "phase 1 runs on exactly one host; list only that one" : `phase ${phase} spreads the services over several hosts: say what this one is`;
            if (h.name === undefined) problems.push(`${keyPath(["hosts", i, "name"])}: is required (${why}). Fix: add e.g. \`name: web-1\` to the host.`);
            if (h.roles === undefined) problems.push(`${keyPath(["hosts", i, "roles"])}: is required (${why}). Fix: add e.g. \`roles: [web]\` to the host.`);
        }
        // A missing name or roles elsewhere is reported above; "" and [] keep the other rules quiet about it.
        return { ...h, name: h.name ?? (single ? "main" : ""), roles: h.roles ?? (single ? ["main"] : []) };
    });
}

/** Rules for cloud=existing: hosts with pinned keys, unique names/addresses, every group of the phase covered. */
function checkExistingHosts(hosts: readonly ResolvedHost[], phase: Phase, webCount: number, workerCount: number, problems: string[]): void {
    const k = (name: string) => `${PROJECT}:${name}`;
    if (hosts.length === 0) {
        problems.push(`${k("hosts")}: cloud=existing needs your servers listed, each with its pinned host key. Fix: set hosts to [{address, privateAddress, hostKey}] in the stack file (phase 1: one host; phases 2-3: each host also with name and roles).`);
        return;
    }
    const seen = new Map<string, number>();
    hosts.forEach((h, i) => {
        for (const [field, value] of [["name", h.name], ["address", h.address], ["privateAddress", h.privateAddress], ["hostKey", h.hostKey]] as const) {
            if (value === "") continue;
            const id = `${field}=${value}`;
            if (seen.has(id)) problems.push(`${keyPath(["hosts", i, field])}: "${value}" is also used by hosts[${seen.get(id)}]. Fix: every host needs its own ${field}.`);
            else seen.set(id, i);
        }
        if (new Set(h.roles).size !== h.roles.length)
            problems.push(`${keyPath(["hosts", i, "roles"])}: lists a role twice. Fix: list each role once.`);
    });
    const count = (g: HostGroup) => hosts.filter((h) => h.roles.includes(g)).length;
    const need: Array<[HostGroup, number, string]> =
        phase === 1
            ? [["main", 1, "exactly one host with role main runs everything in phase 1"]]
            : phase === 2
              ? [
                    ["web", 1, "phase 2 needs exactly one web host"],
                    ["db", 1, "phase 2 needs exactly one db host"],
                    ["cache", 1, "phase 2 needs exactly one cache host"],
                ]
              : [
                    ["web", webCount, `phase 3 needs ${webCount} web hosts (webCount)`],
                    ["db", 2, "phase 3 needs 2 db hosts (primary, then replica)"],
                    ["redis", 3, "phase 3 needs 3 redis hosts (one Sentinel each, quorum 2)"],
                    ["worker", workerCount, `phase 3 needs ${workerCount} worker hosts (workerCount)`],
                    ["monitoring", 1, "phase 3 needs one monitoring host"],
                    ["lb", 1, "phase 3 on existing servers needs one lb host (HAProxy) in front of the web hosts"],
                ];
    for (const [group, n, why] of need)
        if (count(group) !== n) problems.push(`${k("hosts")}: ${why}; found ${count(group)} with role ${group}. Fix: adjust the hosts' roles.`);
    const allowed = new Set<HostGroup>(phase === 1 ? ["main"] : phase === 2 ? ["web", "db", "cache"] : ["web", "db", "redis", "worker", "monitoring", "lb"]);
    hosts.forEach((h, i) =>
        h.roles.forEach((r, j) => {
            if (!allowed.has(r)) problems.push(`${keyPath(["hosts", i, "roles", j])}: role ${r} is not used in phase ${phase} (use ${[...allowed].join(", ")}). Fix: change the role.`);
        }),
    );
}

function stripUndefined<T extends object>(o: T): Partial<T> {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function ipToInt(ip: string): number {
    return ip.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
}

function prefixLength(c: string): number {
    return Number(c.split("/")[1]);
}

/** The network of an IPv4 CIDR: `10.0.1.200/24` → `10.0.1.0/24`. */
function networkAddress(c: string): string {
    const bits = prefixLength(c);
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    const n = (ipToInt(c.split("/")[0]) & mask) >>> 0;
    return `${[24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".")}/${bits}`;
}

/** True when CIDR `inner` lies inside CIDR `outer` (IPv4). */
export function cidrContains(outer: string, inner: string): boolean {
    const [oa, ob] = outer.split("/");
    const [ia, ib] = inner.split("/");
    if (Number(ib) < Number(ob)) return false;
    const mask = Number(ob) === 0 ? 0 : (~0 << (32 - Number(ob))) >>> 0;
    return ((ipToInt(oa) & mask) >>> 0) === ((ipToInt(ia) & mask) >>> 0);
}

function deepFreeze<T>(o: T): T {
    if (o && typeof o === "object" && !(o instanceof SecretValue) && !Object.isFrozen(o)) {
        Object.freeze(o);
        for (const v of Object.values(o)) deepFreeze(v);
    }
    return o;
}
