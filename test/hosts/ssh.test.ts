/**
 * The SSH transport against a real host (an nspawn Debian trixie server): pinned host keys only,
 * argv quoted at one boundary, secrets on stdin never in the process list, bounded failure on an
 * unreachable address, one connection per operation.
 */
import { CommandError, HostKeyMismatchError, SshTarget, UnreachableHostError, fingerprint, publicKeyBlob, sshStats, withSsh } from "../../providers/ssh/transport";
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

    it("uses one connection for all commands of an operation", async () => {
        const before = sshStats.connections;
        await withSsh(target, async (s) => {
            for (let i = 0; i < 5; i++) await s.run(["true"]);
        });
        expect(sshStats.connections - before).toBe(1);
    });
});
