/**
 * HostFiles: the files of one host and layer, applied over SSH in one connection.
 *
 * - `diff` compares what state holds with the new inputs: no SSH. A no-op `pulumi up` opens no
 *   connection. Files live in a map property, so the engine's own diff shows one line per file.
 * - `create`/`update` write each changed file atomically (temp file in the same directory, owner
 *   and mode set, then rename), remove files that left the spec, run `daemon-reload` when a unit
 *   changed, and restart exactly the units whose inputs changed, in the order the spec lists them.
 *   A dropped connection leaves every file either old or new (rename is atomic), and state is only
 *   written after success, so the next run rewrites whatever is still stale.
 * - `read` reports what is really on the host (content hashes): a drifted file comes back as a
 *   drift marker, so `pulumi refresh` shows it and the next `up` rewrites it.
 * - `delete` works from state alone, stops the units it owned, and gives up on an unreachable host
 *   within a bounded time; `SENEX_FORGET_UNREACHABLE=1 pulumi destroy` forgets a host that is gone.
 * - A new version of this provider's code reaches state without SSH: diff reports a change when the
 *   serialized provider differs, and update then finds no file to touch.
 * Secrets: secret file contents are secret inputs; everything derived from them is listed in
 * additionalSecretOutputs; `read` returns hashes, never secret contents.
 */
import * as pulumi from "@pulumi/pulumi";
// Captured by value when the provider is serialized (a small module: the transport and its
// quoting; `ssh2` itself is serialized as `require("ssh2")`, resolved from the program's
// node_modules by the provider host). A relative `require` inside the methods would not resolve
// in the provider host, which loads the serialized code without a file of its own.
import * as transport from "./ssh/transport";
import type { SshTarget } from "./ssh/transport";

export interface FileSpec {
    content: string;
    /** Octal mode, e.g. "0644". */
    mode: string;
    /** `user` or `user:group`. */
    owner: string;
    /** Units to restart when this file changes (e.g. the service that reads it). */
    restarts?: string[];
}

export interface HostFilesTarget {
    name: string;
    host: string;
    port: number;
    user: string;
    hostKey: string;
}

export interface HostFilesInputs {
    target: HostFilesTarget;
    privateKey: string;
    /** `system`: root-owned files via sudo, `systemctl`; `user`: the login user's own files, `systemctl --user`. */
    layer: "system" | "user";
    files: Record<string, FileSpec>;
    secretFiles: Record<string, FileSpec>;
    /** Run daemon-reload after a change to any file under these prefixes (unit directories). */
    unitDirs: string[];
}

export interface HostFilesArgs {
    target: pulumi.Input<HostFilesTarget>;
    privateKey: pulumi.Input<string>;
    layer: "system" | "user";
    files: pulumi.Input<Record<string, pulumi.Input<FileSpec>>>;
    secretFiles?: pulumi.Input<Record<string, pulumi.Input<FileSpec>>>;
    unitDirs?: string[];
}

/** What differs between two specs: paths to write and paths to remove. Pure; exported for tests. */
export function planChanges(olds: Pick<HostFilesInputs, "files" | "secretFiles"> | undefined, news: Pick<HostFilesInputs, "files" | "secretFiles">): { write: string[]; remove: string[] } {
    const all = (x?: Pick<HostFilesInputs, "files" | "secretFiles">) => ({ ...(x?.files ?? {}), ...(x?.secretFiles ?? {}) });
    const before = all(olds);
    const after = all(news);
    const same = (a?: FileSpec, b?: FileSpec) => !!a && !!b && a.content === b.content && a.mode === b.mode && a.owner === b.owner;
    return {
        write: Object.keys(after).filter((p) => !same(before[p], after[p])),
        remove: Object.keys(before).filter((p) => !(p in after)),
    };
}

/** Units to restart for the given changed paths: union of their `restarts`, first-listed first. */
export function unitsToRestart(spec: Pick<HostFilesInputs, "files" | "secretFiles">, changed: readonly string[], removedFrom?: Pick<HostFilesInputs, "files" | "secretFiles">): string[] {
    const all = { ...(removedFrom?.files ?? {}), ...(removedFrom?.secretFiles ?? {}), ...spec.files, ...spec.secretFiles };
    const units: string[] = [];
    for (const p of Object.keys(all)) if (changed.includes(p)) for (const u of all[p].restarts ?? []) if (!units.includes(u)) units.push(u);
    return units;
}

/** The one shell text run on hosts for a write: fixed, arguments positional, content on stdin. */
const WRITE_SCRIPT = 'set -eu; d=$(dirname "$1"); mkdir -p "$d"; t=$(mktemp "$d/.senex-write.XXXXXX"); trap \'rm -f "$t"\' EXIT; cat > "$t"; chown "$3" "$t"; chmod "$2" "$t"; mv -f "$t" "$1"; trap - EXIT';
const HASH_SCRIPT = 'for f in "$@"; do if [ -f "$f" ]; then sha256sum "$f"; else echo "missing  $f"; fi; done';
const DRIFT = "senex:drifted:";

function sha256(text: string): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require("crypto") as typeof import("crypto")).createHash("sha256").update(text).digest("hex");
}

function sshTarget(inputs: HostFilesInputs): SshTarget {
    return { ...inputs.target, privateKey: inputs.privateKey };
}

async function apply(olds: HostFilesInputs | undefined, news: HostFilesInputs): Promise<void> {
    const { write, remove } = planChanges(olds, news);
    if (write.length === 0 && remove.length === 0) return; // e.g. only the provider's code changed: no SSH
    const { withSsh } = transport;
    const sudo = news.layer === "system" && news.target.user !== "root";
    const systemctl = news.layer === "user" ? ["systemctl", "--user"] : ["systemctl"];
    const all = { ...news.files, ...news.secretFiles };
    await withSsh(sshTarget(news), async (s) => {
        const removedUnits = olds ? unitsToRestart({ files: {}, secretFiles: {} }, remove, olds) : [];
        if (removedUnits.length > 0) await s.run([...systemctl, "stop", ...removedUnits], { sudo, okCodes: [0, 5] });
        for (const path of write) {
            const f = all[path];
            await s.run(["sh", "-c", WRITE_SCRIPT, "senex-write", path, f.mode, f.owner], { sudo, stdin: f.content });
        }
        if (remove.length > 0) await s.run(["rm", "-f", "--", ...remove], { sudo });
        const touchedUnits = [...write, ...remove].some((p) => news.unitDirs.some((d) => p.startsWith(d)) || (olds?.unitDirs ?? []).some((d) => p.startsWith(d)));
        if (touchedUnits) await s.run([...systemctl, "daemon-reload"], { sudo });
        const restart = unitsToRestart(news, write);
        for (const unit of restart) await s.run([...systemctl, "restart", unit], { sudo });
    });
}

function outputs(inputs: HostFilesInputs): HostFilesState {
    const all = { ...inputs.files, ...inputs.secretFiles };
    return { ...inputs, hashes: Object.fromEntries(Object.entries(all).map(([p, f]) => [p, sha256(f.content)])) };
}

/** State: the inputs plus the content hash of every file (what `read` compares with the host). */
export type HostFilesState = HostFilesInputs & { hashes?: Record<string, string> };

export const hostFilesProvider: pulumi.dynamic.ResourceProvider<HostFilesInputs, HostFilesState> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        const all = { ...(news.files ?? {}), ...(news.secretFiles ?? {}) };
        for (const [p, f] of Object.entries(all)) {
            if (!p.startsWith("/") || p.includes("/../") || p.endsWith("/")) failures.push({ property: `files["${p}"]`, reason: "must be an absolute file path" });
            if (!/^0?[0-7]{3}$/.test(f.mode)) failures.push({ property: `files["${p}"].mode`, reason: `"${f.mode}" is not an octal mode like 0644` });
            if (!/^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$/.test(f.owner)) failures.push({ property: `files["${p}"].owner`, reason: `"${f.owner}" is not user or user:group` });
        }
        const dup = Object.keys(news.files ?? {}).filter((p) => p in (news.secretFiles ?? {}));
        for (const p of dup) failures.push({ property: `secretFiles["${p}"]`, reason: "is also listed in files" });
        if (!/^ssh-ed25519 /.test(news.target?.hostKey ?? "")) failures.push({ property: "target.hostKey", reason: "must be the host's pinned ssh-ed25519 key" });
        return { inputs: { ...news, files: news.files ?? {}, secretFiles: news.secretFiles ?? {}, unitDirs: news.unitDirs ?? [] }, failures };
    },

    async diff(_id, olds, news) {
        const replaces = olds.target.host !== news.target.host || olds.layer !== news.layer ? ["target"] : [];
        const { write, remove } = planChanges(olds, news);
        const changed = [...new Set([...write, ...remove].map((p) => (p in (news.secretFiles ?? {}) || p in (olds.secretFiles ?? {}) ? "secretFiles" : "files")))];
        const key = "__provider";
        const providerChanged = (olds as unknown as Record<string, unknown>)[key] !== (news as unknown as Record<string, unknown>)[key];
        const other = (["privateKey", "unitDirs"] as const).filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k])) as string[];
        if (olds.target.hostKey !== news.target.hostKey || olds.target.user !== news.target.user || olds.target.port !== news.target.port) other.push("target");
        const changes = replaces.length > 0 || changed.length > 0 || other.length > 0 || providerChanged;
        return { changes, replaces, deleteBeforeReplace: replaces.length > 0, stables: ["layer"] };
    },

    async create(inputs) {
        await apply(undefined, inputs);
        return { id: `${inputs.target.name}:${inputs.layer}`, outs: outputs(inputs) };
    },

    async update(_id, olds, news) {
        await apply(olds, news);
        return { outs: outputs(news) };
    },

    async read(id, props) {
        if (!props) return { id, props };
        const { withSsh } = transport;
        const paths = [...Object.keys(props.files), ...Object.keys(props.secretFiles)];
        const sudo = props.layer === "system" && props.target.user !== "root";
        const listing = paths.length === 0 ? "" : (await withSsh(sshTarget(props), (s) => s.run(["sh", "-c", HASH_SCRIPT, "senex-hash", ...paths], { sudo }))).stdout;
        const actual = new Map(
            listing
                .split("\n")
                .filter(Boolean)
                .map((l) => {
                    const [hash, ...rest] = l.split(/\s+/);
                    return [rest.join(" ").trim(), hash] as const;
                }),
        );
        const reconcile = (files: Record<string, FileSpec>) =>
            Object.fromEntries(Object.entries(files).map(([p, f]) => [p, actual.get(p) === sha256(f.content) ? f : { ...f, content: `${DRIFT}${actual.get(p) ?? "missing"}` }]));
        const files = reconcile(props.files);
        const secretFiles = reconcile(props.secretFiles);
        return { id, props: { ...props, files, secretFiles, hashes: Object.fromEntries(paths.map((p) => [p, actual.get(p) ?? "missing"])) } };
    },

    async delete(_id, props) {
        const { withSsh, UnreachableHostError } = transport;
        const paths = [...Object.keys(props.files), ...Object.keys(props.secretFiles)];
        if (paths.length === 0) return;
        const sudo = props.layer === "system" && props.target.user !== "root";
        const systemctl = props.layer === "user" ? ["systemctl", "--user"] : ["systemctl"];
        const units = unitsToRestart(props, paths);
        try {
            await withSsh(
                sshTarget(props),
                async (s) => {
                    if (units.length > 0) await s.run([...systemctl, "stop", ...units], { sudo, okCodes: [0, 5] });
                    await s.run(["rm", "-f", "--", ...paths], { sudo });
                    if (paths.some((p) => props.unitDirs.some((d) => p.startsWith(d)))) await s.run([...systemctl, "daemon-reload"], { sudo });
                },
                { connectTimeoutMs: 10_000, attempts: 2, backoffMs: 1000 },
            );
        } catch (e) {
            if (e instanceof UnreachableHostError && process.env.SENEX_FORGET_UNREACHABLE === "1") return;
            if (e instanceof UnreachableHostError)
                throw new Error(`${e.message}. If ${props.target.name} is gone for good, run \`SENEX_FORGET_UNREACHABLE=1 pulumi destroy\` (or \`pulumi state delete\` on this resource) to forget it.`);
            throw e;
        }
    },
};

/** The files of one host and layer (see module comment). */
export class HostFiles extends pulumi.dynamic.Resource {
    declare public readonly hashes: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: HostFilesArgs, opts: pulumi.CustomResourceOptions = {}) {
        super(
            hostFilesProvider,
            name,
            { ...args, secretFiles: args.secretFiles ?? {}, unitDirs: args.unitDirs ?? [], hashes: undefined },
            { ...opts, additionalSecretOutputs: ["privateKey", "secretFiles"] },
        );
    }
}
