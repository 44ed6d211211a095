/**
 * The HostFiles dynamic provider, its methods called as the engine calls them, against a real
 * Debian trixie host: atomic writes with owner and mode, restarts of exactly the affected units,
 * no SSH for a no-op, drift seen by read, convergence after a failed apply, bounded delete.
 */
import { HostFilesInputs, hostFilesProvider, planChanges } from "../../providers/hostFiles";
import { sshStats } from "../../providers/ssh/transport";
import { loginKeyPair } from "../support/keys";
import { GATEWAY, TestHost, destroyAll, startHosts } from "./harness";

jest.setTimeout(300_000);

const loginKey = loginKeyPair();
let host: TestHost;
let base: HostFilesInputs;
const UNIT_DIR = "/etc/systemd/system/";

const unit = (name: string) => ({
    content: `[Unit]\nDescription=${name}\n[Service]\nEnvironmentFile=/etc/senex-test/${name}.env\nExecStart=/bin/sh -c 'echo "$GREETING" > /run/${name}.out; exec sleep infinity'\n[Install]\nWantedBy=multi-user.target\n`,
    mode: "0644",
    owner: "root:root",
    restarts: [`${name}.service`],
});
const env = (name: string, greeting: string) => ({ content: `GREETING=${greeting}\n`, mode: "0640", owner: "root:root", restarts: [`${name}.service`] });

async function sh(cmd: string): Promise<string> {
    const r = await host.exec(["sh", "-c", cmd]);
    return r.stdout.trim();
}
const invocation = (name: string) => sh(`systemctl show -p InvocationID --value ${name}.service`);

beforeAll(async () => {
    [host] = await startHosts(1, { names: ["files-a"], rootAuthorizedKeys: [loginKey.public], aptProxy: false });
    base = {
        target: { name: "files-a", host: host.address, port: 22, user: "root", hostKey: host.hostKeyPublic },
        privateKey: loginKey.private,
        layer: "system",
        files: {
            "/etc/systemd/system/senex-alpha.service": unit("senex-alpha"),
            "/etc/systemd/system/senex-beta.service": unit("senex-beta"),
            "/etc/senex-test/senex-alpha.env": env("senex-alpha", "hello"),
            "/etc/senex-test/senex-beta.env": env("senex-beta", "bonjour"),
        },
        secretFiles: { "/etc/senex-test/secret.conf": { content: "password=correct-horse-battery-staple\n", mode: "0600", owner: "root:root", restarts: [] } },
        unitDirs: [UNIT_DIR],
        podmanSecrets: {},
        directories: {},
        images: [],
        waitForCloudInit: false,
    };
});

afterAll(async () => {
    await destroyAll();
});

describe("HostFiles provider on a real host", () => {
    it("check rejects relative paths, bad modes and owners before anything runs", async () => {
        const bad = { ...base, files: { "etc/x": { content: "", mode: "644x", owner: "Root!" } } };
        const r = await hostFilesProvider.check!(base, bad);
        expect(r.failures?.map((f) => f.property)).toEqual(['files["etc/x"]', 'files["etc/x"].mode', 'files["etc/x"].owner']);
    });

    it("create writes every file with its owner and mode, reloads systemd and starts the units", async () => {
        const created = await hostFilesProvider.create!(base);
        expect(created.id).toBe("files-a:system");
        expect(await sh("stat -c '%a %U:%G' /etc/senex-test/secret.conf /etc/senex-test/senex-alpha.env")).toBe("600 root:root\n640 root:root");
        expect(await sh("cat /etc/senex-test/secret.conf")).toBe("password=correct-horse-battery-staple");
        expect(await sh("systemctl is-active senex-alpha senex-beta")).toBe("active\nactive");
        expect(await sh("cat /run/senex-alpha.out /run/senex-beta.out")).toBe("hello\nbonjour");
        expect(await sh("ls -a /etc/senex-test | grep -c senex-write || true")).toBe("0");
    });

    it("a no-op diff opens no SSH connection and reports no change", async () => {
        const before = sshStats.connections;
        const d = await hostFilesProvider.diff!("files-a:system", { ...base }, { ...base });
        expect(d.changes).toBe(false);
        expect(sshStats.connections).toBe(before);
    });

    it("a new provider version reaches state without touching the host", async () => {
        const olds = { ...base, __provider: "old-code" } as HostFilesInputs;
        const news = { ...base, __provider: "new-code" } as HostFilesInputs;
        expect((await hostFilesProvider.diff!("id", olds, news)).changes).toBe(true);
        const before = sshStats.connections;
        await hostFilesProvider.update!("id", olds, news);
        expect(sshStats.connections).toBe(before);
    });

    it("changing one env value restarts only the unit that reads it", async () => {
        const [alpha, beta] = [await invocation("senex-alpha"), await invocation("senex-beta")];
        const news = { ...base, files: { ...base.files, "/etc/senex-test/senex-alpha.env": env("senex-alpha", "hallo") } };
        expect(planChanges(base, news)).toEqual({ write: ["/etc/senex-test/senex-alpha.env"], remove: [] });
        await hostFilesProvider.update!("files-a:system", base, news);
        expect(await invocation("senex-alpha")).not.toBe(alpha);
        expect(await invocation("senex-beta")).toBe(beta);
        expect(await sh("cat /run/senex-alpha.out")).toBe("hallo");
        base = news;
    });

    it("read reports drift on the host; the next update puts the file back", async () => {
        await sh("echo GREETING=tampered > /etc/senex-test/senex-beta.env");
        const read = await hostFilesProvider.read!("files-a:system", base);
        const state = read.props as HostFilesInputs;
        expect(state.files["/etc/senex-test/senex-beta.env"].content).toMatch(/^senex:drifted:[0-9a-f]{64}$/);
        expect(state.files["/etc/senex-test/senex-alpha.env"]).toEqual(base.files["/etc/senex-test/senex-alpha.env"]);
        expect(JSON.stringify(state.secretFiles)).toContain("correct-horse"); // unchanged secret: state keeps the input (encrypted by the engine)
        expect((await hostFilesProvider.diff!("id", state, base)).changes).toBe(true);
        await hostFilesProvider.update!("files-a:system", state, base);
        expect(await sh("cat /etc/senex-test/senex-beta.env")).toBe("GREETING=bonjour");
        expect(await sh("cat /run/senex-beta.out")).toBe("bonjour");
    });

    it("an apply that fails midway leaves no half-written file, and a re-run converges", async () => {
        const broken = {
            ...base,
            files: {
                ...base.files,
                "/etc/senex-test/senex-alpha.env": env("senex-alpha", "first"),
                "/etc/senex-test/senex-beta.env": { ...env("senex-beta", "second"), owner: "nosuchuser" },
            },
        };
        await expect(hostFilesProvider.update!("files-a:system", base, broken)).rejects.toThrow(/nosuchuser|invalid user/);
        expect(await sh("cat /etc/senex-test/senex-beta.env")).toBe("GREETING=bonjour"); // old, whole
        expect(await sh("ls -a /etc/senex-test | grep -c senex-write || true")).toBe("0"); // no temp file left
        const fixed = { ...broken, files: { ...broken.files, "/etc/senex-test/senex-beta.env": env("senex-beta", "second") } };
        await hostFilesProvider.update!("files-a:system", base, fixed); // state was not updated by the failure: diff against base
        expect(await sh("cat /etc/senex-test/senex-alpha.env /etc/senex-test/senex-beta.env")).toBe("GREETING=first\nGREETING=second");
        base = fixed;
    });

    it("a connection cut in the middle of a write leaves the old file whole, and a re-run converges", async () => {
        const big = "x".repeat(48 * 1024 * 1024) + "\n"; // long enough to still be streaming when the cut comes
        const path = "/etc/senex-test/big.conf";
        await hostFilesProvider.update!("files-a:system", base, { ...base, files: { ...base.files, [path]: { content: "old\n", mode: "0644", owner: "root:root" } } });
        const withBig = { ...base, files: { ...base.files, [path]: { content: big, mode: "0644", owner: "root:root" } } };
        const before = { ...base, files: { ...base.files, [path]: { content: "old\n", mode: "0644", owner: "root:root" } } };
        const applying = hostFilesProvider.update!("files-a:system", before, withBig);
        const outcome = applying.then(() => "finished", (e: Error) => e.message);
        // Cut the connection from the host's side while the content streams into the temp file.
        let cut = false;
        for (let i = 0; i < 200 && !cut; i++) {
            cut = (await sh(`ls ${"/etc/senex-test"}/.senex-write.* 2>/dev/null | head -1`)) !== "";
            if (!cut) await new Promise((r) => setTimeout(r, 25));
        }
        expect(cut).toBe(true);
        await sh("pkill -KILL -f 'sshd-session: root' || pkill -KILL -f 'sshd: root@' || true");
        expect(await outcome).not.toBe("finished");
        await new Promise((r) => setTimeout(r, 500));
        expect(await sh(`cat ${path}`)).toBe("old"); // never a truncated file in place
        expect(await sh("ls -a /etc/senex-test | grep -c senex-write || true")).toBe("0"); // the hangup removed the temp file
        await hostFilesProvider.update!("files-a:system", before, withBig); // state still says `before`: the re-run
        expect(await sh(`sha256sum < ${path} | cut -d' ' -f1`)).toBe(require("crypto").createHash("sha256").update(big).digest("hex"));
        await hostFilesProvider.update!("files-a:system", withBig, base);
        expect(await sh(`test -e ${path} && echo present || echo gone`)).toBe("gone");
    });

    it("delete against an unreachable host ends within its bound and says how to forget it", async () => {
        const gone = { ...base, target: { ...base.target, name: "gone-1", host: GATEWAY.replace(/\.1$/, ".248") } };
        const t0 = Date.now();
        const err = await hostFilesProvider.delete!("gone-1:system", gone).catch((e) => e);
        expect(Date.now() - t0).toBeLessThan(30_000);
        expect(String(err)).toMatch(/cannot reach gone-1 .*SENEX_FORGET_UNREACHABLE=1/s);
        process.env.SENEX_FORGET_UNREACHABLE = "1";
        try {
            await expect(hostFilesProvider.delete!("gone-1:system", gone)).resolves.toBeUndefined();
        } finally {
            delete process.env.SENEX_FORGET_UNREACHABLE;
        }
    });

    it("delete from state alone stops the units and removes every file, except those kept on delete (the firewall)", async () => {
        const kept = { content: "# the host firewall stays\n", mode: "0600", owner: "root:root", restarts: ["senex-beta.service"], keepOnDelete: true };
        const withKept = { ...base, files: { ...base.files, "/etc/senex-kept/firewall.nft": kept } };
        await hostFilesProvider.update!("files-a:system", base, withKept);
        await hostFilesProvider.delete!("files-a:system", withKept);
        expect(await sh("cat /etc/senex-kept/firewall.nft")).toBe("# the host firewall stays");
        expect(await sh("find /etc/senex-test -type f")).toBe("");
        expect(await sh("test -e /etc/systemd/system/senex-alpha.service && echo present || echo absent")).toBe("absent");
        expect(await sh("systemctl is-active senex-alpha senex-beta || true")).not.toMatch(/^active/m);
    });
});
