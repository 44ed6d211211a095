/**
 * The SSH transport every host-side provider uses (ssh2). Rules it enforces in one place:
 * - the host key is pinned: only the configured ED25519 key is accepted, a mismatch fails naming
 *   the host and both fingerprints, and there is no trust-on-first-use path at all;
 * - connecting is bounded (connect timeout) with a few awaited retries and backoff for transient
 *   network errors, never for a key mismatch or an authentication failure;
 * - one connection per host per operation: `withSsh` opens it, runs every command of the
 *   operation over it, closes it;
 * - commands are argument vectors, quoted for the remote shell here and nowhere else; secrets
 *   travel on stdin only, so they never reach a process list or a log;
 * - what a host sends back is untrusted: each stream is read up to a limit (OUTPUT_LIMITS), so a
 *   hostile or broken host cannot exhaust the operator's memory, and host text bound for an error,
 *   state or an output goes through `printable` (no terminal escapes).
 */
import * as crypto from "crypto";
import type { Client, ClientChannel, ConnectConfig } from "ssh2";
import { shellCommand } from "../../render/shell-words";

export interface SshTarget {
    /** Name used in messages (the topology's host name). */
    readonly name: string;
    readonly host: string;
    readonly port: number;
    readonly user: string;
    /** The pinned host key, `ssh-ed25519 AAAA...`. */
    readonly hostKey: string;
    /** OpenSSH private key of the login user. */
    readonly privateKey: string;
}

export interface SshOptions {
    /** Per-attempt bound for TCP connect + handshake (default 10 s). */
    readonly connectTimeoutMs?: number;
    /** Attempts for transient errors (default 3). */
    readonly attempts?: number;
    /** First backoff; doubles per attempt (default 500 ms). */
    readonly backoffMs?: number;
    /** Keepalive interval (default 10 s); 3 unanswered probes end the connection. */
    readonly keepaliveMs?: number;
}

export interface RunOptions {
    /** Bytes for the command's stdin (secrets go here, never into argv). */
    readonly stdin?: string | Buffer;
    /** Run through `sudo -n` (the admin user's system layer). */
    readonly sudo?: boolean;
    /** Exit codes that are not errors (default [0]). */
    readonly okCodes?: readonly number[];
    /** Bound for the command (default 10 minutes). */
    readonly timeoutMs?: number;
}

/**
 * How much of a command's output is held in memory, per stream.
 * - stdout is data a caller parses (hash listings, names): a cut listing would be read as fact, so
 *   more than `stdout` bytes ends the command (the channel is closed) with an OutputLimitError. Our
 *   largest legitimate stdout is a hash listing of a host's files, a few hundred KiB.
 * - stderr only explains a failure, and its end says most: the last `stderr` bytes are kept, the
 *   rest is dropped and the drop is marked at the start of `RunResult.stderr`.
 */
export const OUTPUT_LIMITS = { stdout: 16 * 1024 * 1024, stderr: 256 * 1024 } as const;

export interface RunResult {
    readonly code: number;
    /** As the host sent it (data: callers parse it); pass it through `printable` before it enters an error, state or output. */
    readonly stdout: string;
    /** The host's stderr (its last OUTPUT_LIMITS.stderr bytes), control characters stripped: safe for messages. */
    readonly stderr: string;
}

export interface SshSession {
    readonly target: SshTarget;
    /** Runs argv on the host; rejects with CommandError on an exit code outside okCodes. */
    run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

/** SHA256 fingerprint as OpenSSH prints it (`SHA256:base64-without-padding`). */
export function fingerprint(keyBlob: Buffer): string {
    return `SHA256:${crypto.createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

/** The wire blob of an OpenSSH public key line. */
export function publicKeyBlob(line: string): Buffer {
    const [type, b64] = line.trim().split(/\s+/);
    if (type !== "ssh-ed25519" || !b64) throw new Error(`not an ssh-ed25519 public key: ${line.slice(0, 40)}`);
    return Buffer.from(b64, "base64");
}

/**
 * Host text made safe for an error, state or output: every control character but newline and tab
 * is removed (C0 incl. ESC and CR, DEL, C1 incl. the 8-bit CSI), so text from a host cannot move
 * the cursor, retitle or clear the operator's terminal, or hide lines in a CI log.
 */
export function printable(text: string): string {
    return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "");
}

export class HostKeyMismatchError extends Error {
    constructor(
        readonly target: string,
        readonly expected: string,
        readonly presented: string,
    ) {
        super(
            `host key of ${target} does not match the pinned key: expected ${expected}, the host presented ${presented}. ` +
                "Refusing to connect (possible impostor). If the server was really re-keyed, update its pinned host key in the stack config.",
        );
        this.name = "HostKeyMismatchError";
    }
}

export class UnreachableHostError extends Error {
    constructor(
        readonly target: string,
        readonly attempts: number,
        readonly elapsedMs: number,
        override readonly cause: Error,
    ) {
        super(`cannot reach ${target} over SSH: ${attempts} attempt(s) in ${(elapsedMs / 1000).toFixed(1)} s, last error: ${printable(cause.message)}`);
        this.name = "UnreachableHostError";
    }
}

/** The host answered but refused our key (another key, a removed account, a reinstalled server). */
export class AuthenticationError extends Error {
    constructor(
        readonly target: string,
        readonly user: string,
    ) {
        super(`${target}: SSH authentication as ${user} failed (is our deploy key in ~${user}/.ssh/authorized_keys?)`);
        this.name = "AuthenticationError";
    }
}

/** A command printed more on stdout than OUTPUT_LIMITS allows; it was stopped. */
export class OutputLimitError extends Error {
    constructor(
        readonly target: string,
        readonly argv: readonly string[],
        readonly limit: number,
    ) {
        super(`${target}: \`${argv.join(" ")}\` printed more than ${limit} bytes on stdout; stopped reading and closed the command (a hostile or broken host?)`);
        this.name = "OutputLimitError";
    }
}

export class CommandError extends Error {
    constructor(
        readonly target: string,
        readonly argv: readonly string[],
        readonly result: RunResult,
    ) {
        super(`${target}: \`${argv.join(" ")}\` exited with ${result.code}: ${printable(result.stderr.trim().slice(-2000))}`);
        this.name = "CommandError";
    }
}

/** Connections opened by this process (tests prove a no-op apply opens none). */
export const sshStats = { connections: 0 };

const TRANSIENT = /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EAI_AGAIN|Timed out while waiting for handshake|timed out|Connection lost before handshake/i;

function connectOnce(target: SshTarget, opts: Required<SshOptions>): Promise<Client> {
    const pinned = publicKeyBlob(target.hostKey);
    return new Promise((resolve, reject) => {
        // Required here, not imported: a dynamic provider's serialized code then holds
        // `require("ssh2")`, resolved from the program's node_modules wherever it runs (a module
        // imported at the top would be serialized by value when the loader hides its origin).
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { Client: SshClient } = require("ssh2") as typeof import("ssh2");
        const client: Client = new SshClient();
        let mismatch: HostKeyMismatchError | undefined;
        const config: ConnectConfig = {
            host: target.host,
            port: target.port,
            username: target.user,
            privateKey: target.privateKey,
            readyTimeout: opts.connectTimeoutMs,
            keepaliveInterval: opts.keepaliveMs,
            keepaliveCountMax: 3,
            // Only ED25519, so the server cannot steer us to a host key type we did not pin.
            algorithms: { serverHostKey: ["ssh-ed25519"] },
            hostVerifier: (key: Buffer) => {
                if (key.equals(pinned)) return true;
                mismatch = new HostKeyMismatchError(target.name, fingerprint(pinned), fingerprint(key));
                return false;
            },
        };
        client.once("ready", () => resolve(client));
        // `on`, not `once`: after a refused login the socket can still report a reset, and an
        // 'error' event without a listener would crash the process (the provider host).
        client.on("error", (err) => {
            client.end();
            reject(mismatch ?? err);
        });
        sshStats.connections += 1;
        client.connect(config);
    });
}

async function connect(target: SshTarget, options: SshOptions = {}): Promise<Client> {
    const opts: Required<SshOptions> = { connectTimeoutMs: 10_000, attempts: 3, backoffMs: 500, keepaliveMs: 10_000, ...options };
    const started = Date.now();
    let last: Error = new Error("no attempt made");
    for (let attempt = 1; attempt <= opts.attempts; attempt++) {
        try {
            return await connectOnce(target, opts);
        } catch (e) {
            last = e as Error;
            if (last instanceof HostKeyMismatchError || !TRANSIENT.test(last.message)) {
                if (last instanceof HostKeyMismatchError) throw last;
                if (/authentication/i.test(last.message)) throw new AuthenticationError(target.name, target.user);
                throw new UnreachableHostError(target.name, attempt, Date.now() - started, last);
            }
            if (attempt < opts.attempts) await new Promise((r) => setTimeout(r, opts.backoffMs * 2 ** (attempt - 1)));
        }
    }
    throw new UnreachableHostError(target.name, opts.attempts, Date.now() - started, last);
}

/** Keeps the last `limit` bytes of a stream (whole chunks, trimmed at the end) and counts what it dropped. */
class TailBuffer {
    private chunks: Buffer[] = [];
    private held = 0;
    private dropped = 0;
    constructor(private readonly limit: number) {}
    push(d: Buffer): void {
        this.chunks.push(d);
        this.held += d.length;
        while (this.held - this.chunks[0].length >= this.limit) {
            this.held -= this.chunks[0].length;
            this.dropped += this.chunks.shift()!.length;
        }
    }
    text(): string {
        const all = Buffer.concat(this.chunks);
        const cut = Math.max(0, all.length - this.limit);
        const mark = this.dropped + cut > 0 ? `[senex: first ${this.dropped + cut} bytes dropped]\n` : "";
        return mark + all.subarray(cut).toString();
    }
}

function exec(client: Client, target: SshTarget, argv: readonly string[], opts: RunOptions): Promise<RunResult> {
    const command = shellCommand(opts.sudo ? ["sudo", "-n", "--", ...argv] : argv);
    const timeoutMs = opts.timeoutMs ?? 600_000;
    return new Promise((resolve, reject) => {
        client.exec(command, (err: Error | undefined, stream: ClientChannel) => {
            if (err) return reject(err);
            const out: Buffer[] = [];
            let outBytes = 0;
            const errOut = new TailBuffer(OUTPUT_LIMITS.stderr);
            let settled = false;
            // Declared before `fail` uses it (Pulumi's closure serializer cannot capture a binding in its TDZ).
            let timer: ReturnType<typeof setTimeout> | undefined;
            const fail = (e: Error) => {
                if (settled) return;
                settled = true;
                clearTimeout(timer);
                stream.close();
                reject(e);
            };
            timer = setTimeout(() => fail(new Error(`${target.name}: \`${argv.join(" ")}\` did not finish within ${timeoutMs} ms`)), timeoutMs);
            stream.on("data", (d: Buffer) => {
                if (settled) return;
                outBytes += d.length;
                if (outBytes > OUTPUT_LIMITS.stdout) return fail(new OutputLimitError(target.name, argv, OUTPUT_LIMITS.stdout));
                out.push(d);
            });
            stream.stderr.on("data", (d: Buffer) => {
                if (!settled) errOut.push(d);
            });
            stream.on("close", (code: number | null) => {
                if (settled) return;
                settled = true;
                clearTimeout(timer);
                resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: printable(errOut.text()) });
            });
            if (opts.stdin !== undefined) stream.end(opts.stdin);
            else stream.end();
        });
    });
}

/**
 * Opens one connection to the host, runs `fn` with a session over it, and closes it whatever
 * happens. Every command of one provider operation goes through the same connection.
 */
export async function withSsh<T>(target: SshTarget, fn: (session: SshSession) => Promise<T>, options: SshOptions = {}): Promise<T> {
    const client = await connect(target, options);
    const session: SshSession = {
        target,
        async run(argv, opts = {}) {
            const result = await exec(client, target, argv, opts);
            if (!(opts.okCodes ?? [0]).includes(result.code)) throw new CommandError(target.name, argv, result);
            return result;
        },
    };
    try {
        return await fn(session);
    } finally {
        client.end();
    }
}
