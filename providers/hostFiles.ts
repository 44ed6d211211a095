/**
 * HostFiles: the files of one host and layer, applied over SSH in one connection. The `user`
 * layer (rootless containers of `senex`) also holds the host's podman secrets and images.
 *
 * - `diff` compares what state holds with the new inputs: no SSH. A no-op `pulumi up` opens no
 *   connection. Files live in a map property, so the engine's own diff shows one line per file.
 * - Nothing about the endpoint replaces the resource (see `endpointChanged`): a replacement is
 *   delete-then-create, which on the same machine stops every unit, deletes every file and podman
 *   secret and re-seeds Redis. A new address, port, name or host key is an update that checks
 *   the host's files, secrets and images (read only) and writes just what it lacks.
 * - `create`/`update` first run the checks of changed files that name one (`nft -c`: a rejected
 *   content fails the apply before anything is written), (re)create changed podman secrets from stdin, write each changed file atomically (temp file in the same directory, owner
 *   and mode set, then rename), remove files that left the spec, run `daemon-reload` when a unit
 *   changed, pull new images, reload the units that must never stop (the host firewall), and restart exactly the units whose inputs (files, secrets) changed in
 *   one systemd transaction, which orders them by their After= dependencies.
 *   A dropped connection leaves every file either old or new (rename is atomic), and state is only
 *   written after success, so the next run rewrites whatever is still stale.
 * - `read` reports what is really on the host (content hashes): a drifted file comes back as a
 *   drift marker, so `pulumi refresh` shows it and the next `up` rewrites it.
 * - `delete` works from state alone, stops the units it owned, and gives up on an unreachable host
 *   within a bounded time; `SENEX_FORGET_UNREACHABLE=1 pulumi destroy` forgets a host that is gone
 *   or no longer accepts our key, and a host that presents another host key is forgotten only when
 *   its fingerprint is named (see `forgettable`).
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
import { CLOUD_INIT_WAIT, providerCodeChanged, sha256, sshPortChangeFailure } from "./common";
import * as transport from "./ssh/transport";
import type { SshSession, SshTarget } from "./ssh/transport";

export interface FileSpec {
    content: string;
    /** Octal mode, e.g. "0644". */
    mode: string;
    /** `user` or `user:group`. */
    owner: string;
    /** Units to restart when this file changes (e.g. the service that reads it). */
    restarts?: string[];
    /**
     * Units to reload, never restart, when this file changes (`systemctl reload-or-restart`: an
     * active unit is reloaded in place, an inactive one started): units whose stop would undo
     * what they guard, like the host firewall.
     */
    reloads?: string[];
    /**
     * A check the new content must pass before anything of the apply is written: an argument
     * vector run on the host (as the layer's user, with sudo for `system`) with the content on
     * stdin, e.g. `nft -c -f /dev/stdin`. A failure fails the apply with the check's output and
     * leaves every file as it was.
     */
    check?: string[];
    /**
     * `user` layer only: the uid/gid that must own the file inside senex's user namespace (the
     * service user of a rootless container, e.g. 999). A senex-owned 0600 file is root:root inside
     * a container, unreadable to a service that drops root; this is written with `podman unshare`.
     */
    containerOwner?: { uid: number; gid: number };
    /**
     * A seed the service rewrites itself (Redis, Sentinel): written when missing, and replaced later
     * only while the host still holds exactly what we wrote last; `read` never reports it drifted.
     */
    seed?: boolean;
    /**
     * Left on the host, its units running, when the resource is deleted: files the Day-0 bootstrap
     * also owns (the host firewall). A destroy must never leave a server without its firewall.
     */
    keepOnDelete?: boolean;
}

/** A directory of the `user` layer with a mode (and container ownership) of its own. */
export interface DirectorySpec {
    mode: string;
    containerOwner?: { uid: number; gid: number };
}

/** A podman secret of the `user` layer: created from stdin, never on a command line. */
export interface PodmanSecretSpec {
    value: string;
    /** Units to restart when the value changes (the containers that read it). */
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
    /** `user` layer: podman secrets by name (created before any unit starts). */
    podmanSecrets: Record<string, PodmanSecretSpec>;
    /** `user` layer: directories made (and kept) with their mode and owner before any file is written. */
    directories: Record<string, DirectorySpec>;
    /** `user` layer: images pulled before the units restart (a start then never waits on a pull). */
    images: string[];
    /** Wait for cloud-init's first boot to finish before the first write (cloud hosts). */
    waitForCloudInit: boolean;
}

export interface HostFilesArgs {
    target: pulumi.Input<HostFilesTarget>;
    privateKey: pulumi.Input<string>;
    layer: "system" | "user";
    files: pulumi.Input<Record<string, pulumi.Input<FileSpec>>>;
    secretFiles?: pulumi.Input<Record<string, pulumi.Input<FileSpec>>>;
    unitDirs?: string[];
    podmanSecrets?: pulumi.Input<Record<string, pulumi.Input<PodmanSecretSpec>>>;
    directories?: pulumi.Input<Record<string, pulumi.Input<DirectorySpec>>>;
    images?: pulumi.Input<pulumi.Input<string>[]>;
    waitForCloudInit?: boolean;
}

type FileSets = Pick<HostFilesInputs, "files" | "secretFiles">;
type SecretSets = Pick<HostFilesInputs, "podmanSecrets">;

/** What differs between two specs: paths to write and paths to remove. Pure; exported for tests. */
export function planChanges(olds: FileSets | undefined, news: FileSets): { write: string[]; remove: string[] } {
    const all = (x?: FileSets) => ({ ...(x?.files ?? {}), ...(x?.secretFiles ?? {}) });
    const before = all(olds);
    const after = all(news);
    const same = (a?: FileSpec, b?: FileSpec) =>
        !!a && !!b && a.content === b.content && a.mode === b.mode && a.owner === b.owner && JSON.stringify(a.containerOwner) === JSON.stringify(b.containerOwner);
    return {
        write: Object.keys(after).filter((p) => !same(before[p], after[p])),
        remove: Object.keys(before).filter((p) => !(p in after)),
    };
}

/** Podman secrets to (re)create and to remove. Pure; exported for tests. */
export function planSecrets(olds: Partial<SecretSets> | undefined, news: Partial<SecretSets>): { create: string[]; remove: string[] } {
    const before = olds?.podmanSecrets ?? {};
    const after = news.podmanSecrets ?? {};
    return {
        create: Object.keys(after).filter((n) => before[n]?.value !== after[n].value),
        remove: Object.keys(before).filter((n) => !(n in after)),
    };
}

/** Units to restart for the given changed paths: union of their `restarts`, first-listed first. */
export function unitsToRestart(spec: FileSets, changed: readonly string[], removedFrom?: FileSets): string[] {
    const all = { ...(removedFrom?.files ?? {}), ...(removedFrom?.secretFiles ?? {}), ...spec.files, ...spec.secretFiles };
    const units: string[] = [];
    for (const p of Object.keys(all)) if (changed.includes(p)) for (const u of all[p].restarts ?? []) if (!units.includes(u)) units.push(u);
    return units;
}

/** Units to reload for the given changed paths (their `reloads`), minus those restarted anyway. */
export function unitsToReload(spec: FileSets, changed: readonly string[]): string[] {
    const all = { ...spec.files, ...spec.secretFiles };
    const restarted = unitsToRestart(spec, changed);
    const units: string[] = [];
    for (const p of Object.keys(all)) if (changed.includes(p)) for (const u of all[p].reloads ?? []) if (!units.includes(u) && !restarted.includes(u)) units.push(u);
    return units;
}

/**
 * The one shell text run on hosts for a write: fixed, arguments positional, content on stdin.
 * $1 path, $2 mode, $3 owner. stdin: one header line `<seed guard> <sha256 of the content>`
 * (guard: "-" | "absent" | sha256 of our last write), then the content. The hashes travel on stdin
 * like the content: a hash of a secret file lets anyone who sees it test guesses of the secret,
 * and argv is visible to every local user in `ps` and lands in error messages. `read` takes exactly
 * the header line (the shell reads a pipe byte by byte), `cat` the rest. The temp file only
 * replaces the target when the whole content arrived (a connection cut mid-stream ends `cat`
 * early: the hash then differs and nothing is renamed), and a hangup removes it.
 */
const WRITE_SCRIPT = [
    "set -eu",
    "read -r guard sum",
    'if [ "$guard" != - ] && [ -e "$1" ] && { [ "$guard" = absent ] || [ "$(sha256sum < "$1" | cut -d" " -f1)" != "$guard" ]; }; then echo kept; exit 0; fi',
    'd=$(dirname "$1"); mkdir -p "$d"; t=$(mktemp "$d/.senex-write.XXXXXX")',
    "trap 'rm -f \"$t\"' EXIT; trap 'exit 129' HUP INT TERM PIPE",
    'cat > "$t"',
    '[ "$(sha256sum < "$t" | cut -d" " -f1)" = "$sum" ] || { echo "senex-write: $1: content arrived incomplete" >&2; exit 3; }',
    'chown "$3" "$t"; chmod "$2" "$t"; mv -f "$t" "$1"; trap - EXIT',
].join("; ");
/** $1 directory, $2 mode, $3 owner (uid:gid inside senex's user namespace, or empty). Idempotent. */
const DIR_SCRIPT = 'set -eu; install -d "$1"; if [ -n "$3" ]; then chown "$3" "$1"; fi; chmod "$2" "$1"';
const HASH_SCRIPT = 'for f in "$@"; do if [ -f "$f" ]; then sha256sum "$f"; else echo "missing  $f"; fi; done';
const DRIFT = "senex:drifted:";


function sshTarget(inputs: HostFilesInputs): SshTarget {
    return { ...inputs.target, privateKey: inputs.privateKey };
}

/** How commands of a layer run: sudo for the system layer (unless logged in as root), `--user` units for the user layer. */
function layerOf(inputs: HostFilesInputs) {
    const sudo = inputs.layer === "system" && inputs.target.user !== "root";
    const systemctl = inputs.layer === "user" ? ["systemctl", "--user"] : ["systemctl"];
    // Files owned by a container's service user are written and read inside senex's user namespace.
    const anyContainerOwned = Object.values({ ...inputs.files, ...inputs.secretFiles }).some((f) => f.containerOwner);
    const unshare = (argv: string[], f?: FileSpec) => (inputs.layer === "user" && (f ? f.containerOwner : anyContainerOwned) ? ["podman", "unshare", ...argv] : argv);
    return { sudo, systemctl, unshare };
}

/** What a host holds now for a spec: each file's content hash (or "missing"), podman secret names, images present. */
interface HostView {
    hashes: Map<string, string>;
    secrets: string[];
    images: Set<string>;
}

/**
 * Reads the host's side of a spec over an open session (read only). Host output is parsed
 * strictly: a line that is not `<sha256>  <path>` or `missing  <path>` is ignored (that file then
 * counts as missing), so nothing a host prints reaches state but a hex hash.
 */
async function inspect(s: SshSession, inputs: HostFilesInputs): Promise<HostView> {
    const paths = [...Object.keys(inputs.files), ...Object.keys(inputs.secretFiles)];
    const { sudo, unshare } = layerOf(inputs);
    const secretNames = Object.keys(inputs.podmanSecrets ?? {});
    const images = inputs.images ?? [];
    const listing = paths.length === 0 ? "" : (await s.run(unshare(["sh", "-c", HASH_SCRIPT, "senex-hash", ...paths]), { sudo })).stdout;
    const secrets = secretNames.length === 0 ? [] : (await s.run(["podman", "secret", "ls", "--format", "{{.Name}}"])).stdout.split("\n").filter(Boolean);
    const present = images.length === 0 ? [] : (await s.run(["sh", "-c", 'for i in "$@"; do podman image exists "$i" && echo 1 || echo 0; done', "senex-images", ...images])).stdout.split("\n").filter(Boolean);
    const hashes = new Map<string, string>();
    for (const line of listing.split("\n")) {
        const m = /^([0-9a-f]{64}|missing) {2}(.*)$/.exec(line);
        if (m && paths.includes(m[2])) hashes.set(m[2], m[1]);
    }
    for (const p of paths) if (!hashes.has(p)) hashes.set(p, "missing");
    return { hashes, secrets, images: new Set(images.filter((_, i) => present[i] === "1")) };
}

/**
 * Whether the resource now points at another endpoint: address, port, name or pinned host key.
 * None of them proves the machine is the same or a new one (a cloud server replaced under the same
 * name keeps its pinned key and gets a new address; a host renamed as the topology grows keeps both
 * key and address), so such an update checks the host before it writes (see `apply`).
 */
export function endpointChanged(olds: HostFilesTarget, news: HostFilesTarget): boolean {
    return olds.host !== news.host || olds.port !== news.port || olds.name !== news.name || olds.hostKey !== news.hostKey;
}

/**
 * Brings the host from `olds` to `news`. With `verify` (the endpoint changed: state may not describe
 * the machine we now reach) it first reads the host and adds to the plan whatever the host lacks: a
 * file whose content differs (a seed only when missing: Redis's own rewrite stays), a missing podman
 * secret or image. On the same machine that adds nothing, so nothing is written and no unit restarts;
 * a new machine gets everything, and its units start. Nothing is ever done to the old endpoint.
 */
async function apply(olds: HostFilesInputs | undefined, news: HostFilesInputs, verify = false): Promise<void> {
    const planned = planChanges(olds, news);
    const plannedSecrets = planSecrets(olds, news);
    const plannedPulls = news.images.filter((i) => !(olds?.images ?? []).includes(i));
    const dirsChanged = JSON.stringify(olds?.directories ?? {}) !== JSON.stringify(news.directories);
    const nothing = (write: string[], create: string[], pulls: string[]) => write.length + planned.remove.length + create.length + plannedSecrets.remove.length + pulls.length === 0 && !dirsChanged;
    if (!verify && nothing(planned.write, plannedSecrets.create, plannedPulls)) return; // e.g. only the provider's code changed: no SSH
    const { withSsh, CommandError, printable } = transport;
    const { sudo, systemctl, unshare } = layerOf(news);
    const all = { ...news.files, ...news.secretFiles };
    await withSsh(sshTarget(news), async (s) => {
        if ((!olds || verify) && news.waitForCloudInit) await s.run(["sh", "-c", CLOUD_INIT_WAIT], { timeoutMs: 1_200_000 });
        let write = planned.write;
        let createSecrets = plannedSecrets.create;
        let pulls = plannedPulls;
        if (verify) {
            const seen = await inspect(s, news);
            const lacks = (p: string) => (all[p].seed ? seen.hashes.get(p) === "missing" : seen.hashes.get(p) !== sha256(all[p].content));
            write = Object.keys(all).filter((p) => planned.write.includes(p) || lacks(p));
            createSecrets = Object.keys(news.podmanSecrets).filter((n) => plannedSecrets.create.includes(n) || !seen.secrets.includes(n));
            pulls = news.images.filter((i) => plannedPulls.includes(i) || !seen.images.has(i));
            if (nothing(write, createSecrets, pulls)) return;
        }
        // Checks first: a content its consumer rejects stops the apply before anything changed.
        for (const path of write) {
            const check = all[path].check;
            if (!check || check.length === 0) continue;
            try {
                await s.run(check, { sudo, stdin: all[path].content });
            } catch (e) {
                if (!(e instanceof CommandError)) throw e;
                throw new Error(`${news.target.name}: the new ${path} failed its check (\`${check.join(" ")}\`); nothing was written, the host keeps the old file.\n${e.message}`);
            }
        }
        const removedUnits = olds ? unitsToRestart({ files: {}, secretFiles: {} }, planned.remove, olds) : [];
        if (removedUnits.length > 0) await s.run([...systemctl, "stop", ...removedUnits], { sudo, okCodes: [0, 5] });
        // Secrets first: a unit that starts below finds every secret it names.
        for (const name of createSecrets) await s.run(["podman", "secret", "create", "--replace", name, "-"], { stdin: news.podmanSecrets[name].value });
        // Enforced on every apply that touches the host (a service may have changed them).
        for (const [dir, d] of Object.entries(news.directories)) {
            const owner = d.containerOwner ? `${d.containerOwner.uid}:${d.containerOwner.gid}` : "";
            await s.run([...(d.containerOwner ? ["podman", "unshare"] : []), "sh", "-c", DIR_SCRIPT, "senex-dir", dir, d.mode, owner], { sudo });
        }
        for (const path of write) {
            const f = all[path];
            const owner = f.containerOwner ? `${f.containerOwner.uid}:${f.containerOwner.gid}` : f.owner;
            // A seed is replaced only if nobody rewrote it since our last write (else the service's version stays).
            const before = olds?.files[path] ?? olds?.secretFiles[path];
            const guard = f.seed ? (before ? sha256(before.content) : "absent") : "-";
            await s.run(unshare(["sh", "-c", WRITE_SCRIPT, "senex-write", path, f.mode, owner], f), { sudo, stdin: `${guard} ${sha256(f.content)}\n${f.content}` });
        }
        if (planned.remove.length > 0) await s.run(unshare(["rm", "-f", "--", ...planned.remove]), { sudo });
        const touchedUnits = [...write, ...planned.remove].some((p) => news.unitDirs.some((d) => p.startsWith(d)) || (olds?.unitDirs ?? []).some((d) => p.startsWith(d)));
        if (touchedUnits) await s.run([...systemctl, "daemon-reload"], { sudo });
        for (const image of pulls) await s.run(["podman", "pull", "--quiet", image], { timeoutMs: 1_200_000 });
        /**
         * `systemctl VERB UNITS`; if it fails, the error names the units and carries their status
         * (unit descriptions and journal lines are host text: a service writes its own log).
         */
        const unitsOrExplain = async (verb: "reload-or-restart" | "restart", units: string[], timeoutMs: number) => {
            if (units.length === 0) return;
            try {
                await s.run([...systemctl, verb, ...units], { sudo, timeoutMs });
            } catch (e) {
                if (!(e instanceof CommandError)) throw e;
                const failed = await s.run([...systemctl, "--failed", "--no-legend", "--plain", ...units], { sudo, okCodes: [0, 1, 3] });
                const status = await s.run([...systemctl, "status", "--no-pager", "--lines=15", ...units], { sudo, okCodes: [0, 1, 3, 4] });
                const doing = verb === "restart" ? "restarting" : "reloading";
                throw new Error(`${news.target.name}: ${doing} ${units.join(" ")} failed.\nfailed units:\n${printable(failed.stdout)}\n${printable(status.stdout.slice(-6000))}`);
            }
        };
        await unitsOrExplain("reload-or-restart", unitsToReload(news, write), 600_000);
        const restart = unitsToRestart(news, write);
        for (const name of createSecrets) for (const u of news.podmanSecrets[name].restarts ?? []) if (!restart.includes(u)) restart.push(u);
        // One job transaction: systemd orders it by the units' After= (PostgreSQL before the app).
        await unitsOrExplain("restart", restart, 1_800_000);
        if (plannedSecrets.remove.length > 0) await s.run(["podman", "secret", "rm", "--ignore", ...plannedSecrets.remove]);
    });
}

/**
 * Output properties that hold secrets or values derived from them (the engine stores outputs in
 * plain text unless listed). `hashes` is not one of them because it covers `files` only: a hash of
 * a secret file's content lets anyone who reads the state test guesses of the secret offline.
 */
export const HOST_FILES_SECRET_OUTPUTS = ["privateKey", "secretFiles", "podmanSecrets"];

function outputs(inputs: HostFilesInputs): HostFilesState {
    return { ...inputs, hashes: Object.fromEntries(Object.entries(inputs.files).map(([p, f]) => [p, sha256(f.content)])) };
}

/** State: the inputs plus the content hash of every non-secret file (what `read` compares with the host). */
export type HostFilesState = HostFilesInputs & { hashes?: Record<string, string> };

/**
 * Whether a failed delete may forget the host (state only; nothing is sent to any host).
 * - Unreachable, or it refuses our key: `SENEX_FORGET_UNREACHABLE=1`. The server is gone, was
 *   reinstalled or handed back; we cannot remove anything there any more, and staying stuck helps
 *   nobody.
 * - It presents another host key: only when `SENEX_FORGET_MISMATCHED_HOST` names the presented
 *   fingerprint. Such a host is either re-keyed/reinstalled (forget it) or an impostor between us
 *   and the real server, which then still holds our units, files and secrets and must be cleaned
 *   by hand. The blanket switch, set for some dead host in the same destroy, must not swallow that
 *   silently: naming this key means someone looked at it. (We never authenticate to a mismatched
 *   key: the check runs in the key exchange, before our key is offered.)
 */
function forgettable(e: unknown): boolean {
    const { UnreachableHostError, AuthenticationError, HostKeyMismatchError } = transport;
    if (e instanceof HostKeyMismatchError) return (process.env.SENEX_FORGET_MISMATCHED_HOST ?? "").split(",").map((x) => x.trim()).includes(e.presented);
    return (e instanceof UnreachableHostError || e instanceof AuthenticationError) && process.env.SENEX_FORGET_UNREACHABLE === "1";
}

/** The failed delete's error with the way out (who may be forgotten, and how). */
function deleteError(e: unknown, name: string): unknown {
    const { UnreachableHostError, AuthenticationError, HostKeyMismatchError } = transport;
    const leftBehind = "(its files, units and podman secrets stay there: remove them by hand if the server lives on)";
    if (e instanceof UnreachableHostError || e instanceof AuthenticationError)
        return new Error(`${e.message}. If ${name} is gone for good or no longer ours, run \`SENEX_FORGET_UNREACHABLE=1 pulumi destroy\` (or \`pulumi state delete\` on this resource) to forget it ${leftBehind}.`);
    if (e instanceof HostKeyMismatchError)
        return new Error(
            `${e.message} If you know why (the server was re-keyed or reinstalled) and want to forget it, run \`SENEX_FORGET_MISMATCHED_HOST=${e.presented} pulumi destroy\` ${leftBehind}. ` +
                "SENEX_FORGET_UNREACHABLE does not cover a changed host key: it may be an impostor.",
        );
    return e;
}

export const hostFilesProvider: pulumi.dynamic.ResourceProvider<HostFilesInputs, HostFilesState> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        const all = { ...(news.files ?? {}), ...(news.secretFiles ?? {}) };
        for (const [p, f] of Object.entries(all)) {
            if (!p.startsWith("/") || p.includes("/../") || p.endsWith("/")) failures.push({ property: `files["${p}"]`, reason: "must be an absolute file path" });
            if (!/^0?[0-7]{3}$/.test(f.mode)) failures.push({ property: `files["${p}"].mode`, reason: `"${f.mode}" is not an octal mode like 0644` });
            if (!/^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$/.test(f.owner)) failures.push({ property: `files["${p}"].owner`, reason: `"${f.owner}" is not user or user:group` });
            if (f.check !== undefined && (!Array.isArray(f.check) || f.check.length === 0 || !f.check.every((a) => typeof a === "string")))
                failures.push({ property: `files["${p}"].check`, reason: "must be a non-empty argument vector" });
            if (f.containerOwner && (news.layer !== "user" || !Number.isInteger(f.containerOwner.uid) || !Number.isInteger(f.containerOwner.gid)))
                failures.push({ property: `files["${p}"].containerOwner`, reason: "needs integer uid and gid, and only applies to the user layer" });
        }
        const dup = Object.keys(news.files ?? {}).filter((p) => p in (news.secretFiles ?? {}));
        for (const p of dup) failures.push({ property: `secretFiles["${p}"]`, reason: "is also listed in files" });
        for (const n of Object.keys(news.podmanSecrets ?? {}))
            if (news.layer !== "user" || !/^[a-z0-9][a-z0-9_.-]*$/.test(n)) failures.push({ property: `podmanSecrets["${n}"]`, reason: "must be a podman secret name (lower case) of the user layer" });
        for (const [dir, d] of Object.entries(news.directories ?? {})) {
            if (news.layer !== "user" || !dir.startsWith("/") || dir.includes("/../")) failures.push({ property: `directories["${dir}"]`, reason: "must be an absolute directory of the user layer" });
            if (!/^0?[0-7]{3,4}$/.test(d.mode)) failures.push({ property: `directories["${dir}"].mode`, reason: `"${d.mode}" is not an octal mode like 0770` });
        }
        if ((news.images ?? []).length > 0 && news.layer !== "user") failures.push({ property: "images", reason: "images are pulled by the user layer only" });
        if (!/^ssh-ed25519 /.test(news.target?.hostKey ?? "")) failures.push({ property: "target.hostKey", reason: "must be the host's pinned ssh-ed25519 key" });
        const portChange = sshPortChangeFailure(_olds, news);
        if (portChange) failures.push(portChange);
        return {
            inputs: { ...news, files: news.files ?? {}, secretFiles: news.secretFiles ?? {}, unitDirs: news.unitDirs ?? [], podmanSecrets: news.podmanSecrets ?? {}, directories: news.directories ?? {}, images: news.images ?? [], waitForCloudInit: news.waitForCloudInit ?? false },
            failures,
        };
    },

    async diff(_id, olds, news) {
        // Only another layer is another resource; an endpoint change is an update (module comment).
        const replaces = olds.layer !== news.layer ? ["layer"] : [];
        const { write, remove } = planChanges(olds, news);
        const changed: string[] = [...new Set([...write, ...remove].map((p) => (p in (news.secretFiles ?? {}) || p in (olds.secretFiles ?? {}) ? "secretFiles" : "files")))];
        const secrets = planSecrets(olds, news);
        if (secrets.create.length + secrets.remove.length > 0) changed.push("podmanSecrets");
        const providerChanged = providerCodeChanged(olds, news);
        const other = (["privateKey", "unitDirs", "images", "waitForCloudInit", "directories"] as const).filter((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null)) as string[];
        if (endpointChanged(olds.target, news.target) || olds.target.user !== news.target.user) other.push("target");
        const changes = replaces.length > 0 || changed.length > 0 || other.length > 0 || providerChanged;
        return { changes, replaces, deleteBeforeReplace: replaces.length > 0, stables: ["layer"] };
    },

    async create(inputs) {
        await apply(undefined, inputs);
        return { id: `${inputs.target.name}:${inputs.layer}`, outs: outputs(inputs) };
    },

    async update(_id, olds, news) {
        // State written by an older provider version may lack the newer fields.
        await apply({ ...olds, podmanSecrets: olds.podmanSecrets ?? {}, images: olds.images ?? [], directories: olds.directories ?? {} }, news, endpointChanged(olds.target, news.target));
        return { outs: outputs(news) };
    },

    async read(id, props) {
        if (!props) return { id, props };
        const { withSsh } = transport;
        const seen = await withSsh(sshTarget(props), (s) => inspect(s, props));
        const reconcile = (files: Record<string, FileSpec>) =>
            Object.fromEntries(
                Object.entries(files).map(([p, f]) => {
                    const actual = seen.hashes.get(p) ?? "missing";
                    return [p, actual === sha256(f.content) || (f.seed && actual !== "missing") ? f : { ...f, content: `${DRIFT}${actual}` }];
                }),
            );
        const files = reconcile(props.files);
        const secretFiles = reconcile(props.secretFiles);
        // A podman secret removed on the host comes back as a drifted value, so the next `up` recreates it.
        const podmanSecrets = Object.fromEntries(Object.entries(props.podmanSecrets ?? {}).map(([n, v]) => [n, seen.secrets.includes(n) ? v : { ...v, value: `${DRIFT}missing` }]));
        return {
            id,
            props: { ...props, files, secretFiles, podmanSecrets, images: (props.images ?? []).filter((i) => seen.images.has(i)), hashes: Object.fromEntries(Object.keys(props.files).map((p) => [p, seen.hashes.get(p) ?? "missing"])) },
        };
    },

    async delete(_id, props) {
        const { withSsh } = transport;
        const all = { ...props.files, ...props.secretFiles };
        const paths = Object.keys(all).filter((p) => !all[p].keepOnDelete);
        const secretNames = Object.keys(props.podmanSecrets ?? {});
        if (paths.length === 0 && secretNames.length === 0) return;
        const { sudo, systemctl, unshare } = layerOf(props);
        const units = unitsToRestart(props, paths);
        try {
            await withSsh(
                sshTarget(props),
                async (s) => {
                    if (units.length > 0) await s.run([...systemctl, "stop", ...units], { sudo, okCodes: [0, 5] });
                    if (paths.length > 0) await s.run(unshare(["rm", "-f", "--", ...paths]), { sudo });
                    if (paths.some((p) => props.unitDirs.some((d) => p.startsWith(d)))) await s.run([...systemctl, "daemon-reload"], { sudo });
                    if (secretNames.length > 0) await s.run(["podman", "secret", "rm", "--ignore", ...secretNames]);
                },
                { connectTimeoutMs: 10_000, attempts: 2, backoffMs: 1000 },
            );
        } catch (e) {
            if (forgettable(e)) return;
            throw deleteError(e, props.target.name);
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
            { ...args, secretFiles: args.secretFiles ?? {}, unitDirs: args.unitDirs ?? [], podmanSecrets: args.podmanSecrets ?? {}, directories: args.directories ?? {}, images: args.images ?? [], waitForCloudInit: args.waitForCloudInit ?? false, hashes: undefined },
            { ...opts, additionalSecretOutputs: HOST_FILES_SECRET_OUTPUTS },
        );
    }
}
