/**
 * The SSH transport against a real host (an nspawn Debian trixie server): pinned host keys only,
 * argv quoted at one boundary, secrets on stdin never in the process list, bounded failure on an
 * unreachable address, one connection per operation; a hostile host's output bounded in size and
 * stripped of terminal control on its way into errors, state and outputs.
 */
import { hostBootstrapProvider, HostBootstrapInputs } from "../../providers/bootstrap";
import { CommandError, HostKeyMismatchError, OUTPUT_LIMITS, OutputLimitError, SshTarget, UnreachableHostError, fingerprint, publicKeyBlob, sshStats, withSsh } from "../../providers/ssh/transport";
import { loginKeyPair } from "../support/keys";
import { GATEWAY, TestHost, destroyAll, startHosts } from "./harness";

jest.setTimeout(300_000);

const loginKey = loginKeyPair();
let host: TestHost;
let peer: TestHost;
let target: SshTarget;

beforeAll(async () => {
    [host, peer] = await startHosts(2, { names: ["ssh-a", "ssh-b"], rootAuthorizedKeys: [loginKey.public], aptProxy: false });
    target = { name: "ssh-a", host: host.address, port: 22, user: "root", hostKey: host.hostKeyPublic, privateKey: loginKey.private };
});

afterAll(async () => {
    await destroyAll();
});

const MiB = 1024 * 1024;
/** Any control character but newline and tab (what a terminal would act on). */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** Runs `fn` while sampling this process's resident memory; returns its outcome and the peak growth. */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ outcome: T | Error; growthMiB: number }> {
    const base = process.memoryUsage().rss;
    let peak = base;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    try {
        const outcome = await fn().catch((e: Error) => e);
        peak = Math.max(peak, process.memoryUsage().rss);
        return { outcome, growthMiB: (peak - base) / MiB };
    } finally {
        clearInterval(timer);
    }
}

describe("SSH transport", () => {
    it("runs argument vectors exactly, whatever characters they hold", async () => {
        const tricky = ["it's", 'a "quoted" word', "$(touch /tmp/pwned)", "back`tick`", "new\nline", "glob*", "semi;colon", ""];
        const r = await withSsh(target, (s) => s.run(["printf", "%s\\0", ...tricky]));
        expect(r.stdout.split("\0").slice(0, -1)).toEqual(tricky);
        const pwned = await withSsh(target, (s) => s.run(["test", "-e", "/tmp/pwned"], { okCodes: [0, 1] }));
        expect(pwned.code).toBe(1);
    });

    it("passes secrets on stdin: they never appear in the host's process list", async () => {
        const secret = `s3cr3t-${Date.now()}-value`;
        const listing = await withSsh(target, async (s) => {
            // The reader holds the secret on stdin for 2 s while a second command lists every process.
            const reader = s.run(["sh", "-c", "sleep 2; cat > /root/received; chmod 600 /root/received"], { stdin: secret });
            await new Promise((r) => setTimeout(r, 500));
            const ps = await s.run(["ps", "-eo", "args"]);
            await reader;
            return ps.stdout;
        });
        expect(listing).toContain("sleep 2");
        expect(listing).not.toContain(secret);
        const stored = await withSsh(target, (s) => s.run(["cat", "/root/received"]));
        expect(stored.stdout).toBe(secret);
    });

    it("refuses an impostor: another host's key pinned for this address", async () => {
        const impostor = { ...target, hostKey: peer.hostKeyPublic };
        const err = await withSsh(impostor, (s) => s.run(["true"])).catch((e) => e);
        expect(err).toBeInstanceOf(HostKeyMismatchError);
        expect(err.message).toContain("ssh-a");
        expect(err.message).toContain(fingerprint(publicKeyBlob(peer.hostKeyPublic)));
        expect(err.message).toContain(fingerprint(publicKeyBlob(host.hostKeyPublic)));
    });

    it("gives up on an unreachable address within its bound, with a clear error", async () => {
        const nobody = { ...target, name: "gone", host: GATEWAY.replace(/\.1$/, ".249") };
        const t0 = Date.now();
        const err = await withSsh(nobody, (s) => s.run(["true"]), { connectTimeoutMs: 2000, attempts: 2, backoffMs: 200 }).catch((e) => e);
        const elapsed = Date.now() - t0;
        expect(err).toBeInstanceOf(UnreachableHostError);
        expect(err.message).toMatch(/cannot reach gone over SSH: 2 attempt/);
        expect(elapsed).toBeLessThan(2 * 2000 + 200 + 3000);
    });

    it("reports a failing command with its exit code and stderr", async () => {
        const err = await withSsh(target, (s) => s.run(["sh", "-c", "echo boom >&2; exit 3"])).catch((e) => e);
        expect(err).toBeInstanceOf(CommandError);
        expect(err.result.code).toBe(3);
        expect(err.message).toMatch(/exited with 3: boom/);
    });

    // #11.10: what a host sends is read up to a limit per stream; old code held all of it (256 MiB
    // here, ~3x that in RSS while concatenated and decoded).
    it("a host flooding stdout: reading stops at the documented limit and the operator's memory stays bounded", async () => {
        const { outcome, growthMiB } = await withPeakRss(() => withSsh(target, (s) => s.run(["head", "-c", String(256 * MiB), "/dev/zero"])));
        expect(outcome).toBeInstanceOf(OutputLimitError);
        expect((outcome as Error).message).toContain(`more than ${OUTPUT_LIMITS.stdout} bytes on stdout`);
        expect(growthMiB).toBeLessThan(96);
        // The session is usable afterwards: the flood did not wedge the host side either.
        expect((await withSsh(target, (s) => s.run(["echo", "ok"]))).stdout).toBe("ok\n");
    });

    it("a host flooding stderr with terminal escapes: the error keeps a marked tail, bounded, with no control characters", async () => {
        const script = `head -c ${256 * MiB} /dev/zero | tr '\\0' x >&2; printf '\\033]0;pwned\\007\\033[2J\\rboom\\n' >&2; exit 1`;
        const { outcome, growthMiB } = await withPeakRss(() => withSsh(target, (s) => s.run(["sh", "-c", script])));
        expect(outcome).toBeInstanceOf(CommandError);
        const err = outcome as CommandError;
        expect(err.message).toMatch(/exited with 1: .*\]0;pwned\[2Jboom$/s);
        expect(err.message).not.toMatch(CONTROL);
        expect(err.result.stderr).not.toMatch(CONTROL);
        expect(err.result.stderr).toMatch(/^\[senex: first \d+ bytes dropped\]\n/);
        expect(err.result.stderr.length).toBeLessThanOrEqual(OUTPUT_LIMITS.stderr + 100);
        expect(growthMiB).toBeLessThan(96);
    });

    it("bootstrap warnings and the stamp read back reach state and outputs without terminal control", async () => {
        const inputs: HostBootstrapInputs = {
            target: { name: "ssh-a", host: host.address, port: 22, hostKey: host.hostKeyPublic },
            firstLogin: { user: "root", privateKey: loginKey.private },
            adminLogin: { user: "root", privateKey: loginKey.private },
            // A host that answers with escapes where the bootstrap prints its warnings (stdout and stderr).
            script: "#!/bin/bash\nprintf 'senex-bootstrap: WARNING \\033[2J\\033]0;pwned\\007sysctl refused\\r\\n'\nprintf 'senex-bootstrap: WARNING \\033[31mon stderr\\n' >&2\n",
        };
        const created = await hostBootstrapProvider.create!(inputs);
        const warnings: string[] = created.outs!.warnings;
        expect(warnings).toEqual(["senex-bootstrap: WARNING [2J]0;pwnedsysctl refused", "senex-bootstrap: WARNING [31mon stderr"]);
        await host.exec(["sh", "-c", "printf '\\033]0;pwned\\007\\033[2Jdeadbeef\\n' > /etc/senex/bootstrap.sha256"]);
        const read = await hostBootstrapProvider.read!(created.id, created.outs);
        expect(read.props?.scriptHash).toBe("]0;pwned[2Jdeadbeef");
    });

    it("uses one connection for all commands of an operation", async () => {
        const before = sshStats.connections;
        await withSsh(target, async (s) => {
            for (let i = 0; i < 5; i++) await s.run(["true"]);
        });
        expect(sshStats.connections - before).toBe(1);
    });
});
