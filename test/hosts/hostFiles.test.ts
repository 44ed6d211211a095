/**
 * The HostFiles dynamic provider, its methods called as the engine calls them, against a real
 * Debian trixie host: atomic writes with owner and mode, restarts of exactly the affected units,
 * no SSH for a no-op, drift seen by read, convergence after a failed apply, bounded delete that
 * can be cleared, hashes of secrets out of argv, and an SSH address change that touches nothing.
 */
import { sha256 } from "../../providers/common";
import { HostFilesInputs, HostFilesState, hostFilesProvider, planChanges } from "../../providers/hostFiles";
import { fingerprint, publicKeyBlob, sshStats, withSsh } from "../../providers/ssh/transport";
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

    // #11.9: a hash of a secret file lets anyone who sees it test guesses offline; argv is visible
    // to every local user (`ps`) and ends up in error messages.
    it("hashes of secret files stay out of the write's argv (ps), its error text and the plain outputs", async () => {
        const path = "/etc/senex-test/secret-seed.conf";
        const secret = (content: string) => ({ content, mode: "0600", owner: "root:root", seed: true });
        const v1 = `requirepass first-${Date.now()}\n`;
        const v2 = `requirepass second-${Date.now()}\n${"#".repeat(64 * 1024 * 1024)}\n`; // long enough to list processes while it streams
        const withV1 = { ...base, secretFiles: { ...base.secretFiles, [path]: secret(v1) } };
        const withV2 = { ...base, secretFiles: { ...base.secretFiles, [path]: secret(v2) } };
        await hostFilesProvider.update!("files-a:system", base, withV1);
        try {
            // v2 replaces v1 (a seed: its guard is v1's hash) while every process's full argv is listed.
            let done = false;
            const writing = hostFilesProvider.update!("files-a:system", withV1, withV2).finally(() => (done = true));
            const listings: string[] = [];
            while (!done) listings.push(await sh("ps -eww -o args="));
            const { outs } = await writing;
            const seen = listings.join("\n");
            expect(seen).toContain(`senex-write ${path}`); // the write was running while ps looked
            expect({ v1: seen.includes(sha256(v1)), v2: seen.includes(sha256(v2)) }).toEqual({ v1: false, v2: false });
            expect(await sh(`sha256sum < ${path} | cut -d' ' -f1`)).toBe(sha256(v2));
            expect(JSON.stringify(outs?.hashes)).not.toContain(sha256(v2));
            expect(Object.keys(outs?.hashes ?? {})).not.toContain(path);
            // A write that fails: its error names the file, never its hashes or content.
            const v3 = `requirepass third-${Date.now()}\n`;
            const broken = { ...base, secretFiles: { ...base.secretFiles, [path]: { ...secret(v3), owner: "nosuchuser" } } };
            const err: Error = await hostFilesProvider.update!("files-a:system", withV2, broken).catch((e) => e);
            expect(err.message).toMatch(/nosuchuser|invalid user/);
            expect(err.message).toContain(path);
            expect({ v2: err.message.includes(sha256(v2)), v3: err.message.includes(sha256(v3)), content: err.message.includes("requirepass") }).toEqual({ v2: false, v3: false, content: false });
            await hostFilesProvider.update!("files-a:system", withV2, base);
            expect(await sh(`test -e ${path} && echo present || echo gone`)).toBe("gone");
        } finally {
            await sh(`rm -f ${path}`); // a failed assertion above must not leave the file to the tests below
        }
    });

    // #11.12: a delete that cannot log in must be clearable, with the way out in its error.
    it("delete against a host that refuses our key says how to forget it, and SENEX_FORGET_UNREACHABLE=1 does", async () => {
        const refused = { ...base, privateKey: loginKeyPair().private };
        const err = await hostFilesProvider.delete!("files-a:system", refused).catch((e) => e);
        expect(String(err)).toMatch(/files-a: SSH authentication as root failed.*SENEX_FORGET_UNREACHABLE=1 pulumi destroy/s);
        process.env.SENEX_FORGET_UNREACHABLE = "1";
        try {
            await expect(hostFilesProvider.delete!("files-a:system", refused)).resolves.toBeUndefined();
        } finally {
            delete process.env.SENEX_FORGET_UNREACHABLE;
        }
        expect(await sh("systemctl is-active senex-alpha; cat /etc/senex-test/senex-beta.env")).toBe("active\nGREETING=second"); // forgotten, not touched
    });

    it("delete against a host presenting another host key is forgotten only when that key's fingerprint is named", async () => {
        const pinnedElsewhere = { ...base, target: { ...base.target, hostKey: loginKeyPair().public } };
        const presented = fingerprint(publicKeyBlob(host.hostKeyPublic));
        const attempt = () => hostFilesProvider.delete!("files-a:system", pinnedElsewhere).then(() => "forgotten", (e: Error) => e.message);
        expect(await attempt()).toContain(`SENEX_FORGET_MISMATCHED_HOST=${presented} pulumi destroy`);
        try {
            process.env.SENEX_FORGET_UNREACHABLE = "1"; // the blanket switch does not cover a possible impostor
            expect(await attempt()).toMatch(/does not match the pinned key/);
            process.env.SENEX_FORGET_MISMATCHED_HOST = "SHA256:someOtherKeyEntirely";
            expect(await attempt()).toMatch(/does not match the pinned key/);
            process.env.SENEX_FORGET_MISMATCHED_HOST = `SHA256:someOtherKeyEntirely,${presented}`;
            expect(await attempt()).toBe("forgotten");
        } finally {
            delete process.env.SENEX_FORGET_UNREACHABLE;
            delete process.env.SENEX_FORGET_MISMATCHED_HOST;
        }
        expect(await sh("systemctl is-active senex-alpha; cat /etc/senex-test/senex-beta.env")).toBe("active\nGREETING=second");
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

/**
 * #11.5: a host's layer is not replaced when its SSH address changes. A replacement is
 * delete-then-create: on the same machine it stopped every unit, deleted every file and podman
 * secret and re-seeded Redis (pointing it back at an old master after a failover). The host is
 * reached at a second address; the engine's steps (diff, then update or delete+create) are
 * replayed as the engine runs them.
 */
describe("the user layer on a host reached at another address", () => {
    let u: TestHost;
    let uid: string;
    let layer: HostFilesInputs;
    let state: HostFilesState;
    const HOME = "/home/senex";
    const UNITS = `${HOME}/.config/systemd/user/`;
    /** Outside the harness's lease range (.10-.250) and the gateway's services (.1-.9): no other host has it. */
    const SECOND = GATEWAY.replace(/\.1$/, ".251");
    const SEED = `${HOME}/app/redis.conf`;

    const senex = async (cmd: string): Promise<string> => {
        const r = await u.exec(["runuser", "-u", "senex", "--", "env", `XDG_RUNTIME_DIR=/run/user/${uid}`, "HOME=/home/senex", "sh", "-c", cmd]);
        if (r.code !== 0) throw new Error(`${cmd}: exit ${r.code}\n${r.stdout}${r.stderr}`);
        return r.stdout.trim();
    };
    const userUnit = (name: string, envFile?: string) => ({
        content: `[Unit]\nDescription=${name}\n[Service]\n${envFile ? `EnvironmentFile=${envFile}\n` : ""}ExecStart=/bin/sleep infinity\n[Install]\nWantedBy=default.target\n`,
        mode: "0644",
        owner: "senex",
        restarts: [`${name}.service`],
    });
    /** What a needless re-apply would change: unit invocations, file inodes and times, the seed's text, the podman secret's identity. */
    const snapshot = async () => ({
        invocations: await senex("systemctl --user show -p InvocationID --value senex-echo.service senex-cache.service"),
        files: await senex(`stat -c '%i %Y %n' ${Object.keys({ ...layer.files, ...layer.secretFiles }).join(" ")}`),
        seed: await senex(`cat ${SEED}`),
        podmanSecret: await senex("podman secret inspect --format '{{.ID}} {{.UpdatedAt}}' senex-test-pw"),
    });
    /** As the engine runs a change: diff, then update, or delete and create for a replacement. */
    async function engineStep(olds: HostFilesState, news: HostFilesInputs): Promise<HostFilesState> {
        const d = await hostFilesProvider.diff!("files-u:user", olds, news);
        if ((d.replaces ?? []).length > 0) {
            if (d.deleteBeforeReplace) await hostFilesProvider.delete!("files-u:user", olds);
            const created = await hostFilesProvider.create!(news);
            if (!d.deleteBeforeReplace) await hostFilesProvider.delete!("files-u:user", olds);
            return created.outs as HostFilesState;
        }
        return d.changes ? ((await hostFilesProvider.update!("files-u:user", olds, news)).outs as HostFilesState) : olds;
    }

    beforeAll(async () => {
        // An existing server with podman and a lingering `senex` that logs in with our key (what the bootstrap leaves).
        [u] = await startHosts(1, { names: ["files-u"], rootAuthorizedKeys: [loginKey.public] });
        const setup = await u.exec(["sh", "-c", [
            "set -e; export DEBIAN_FRONTEND=noninteractive",
            "apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends podman uidmap >/dev/null",
            "useradd -m -s /bin/bash senex",
            "grep -q '^senex:' /etc/subuid || usermod --add-subuids 100000-165535 --add-subgids 100000-165535 senex",
            `install -d -m 0700 -o senex -g senex /home/senex/.ssh && printf '%s\\n' '${loginKey.public}' > /home/senex/.ssh/authorized_keys`,
            "chown senex:senex /home/senex/.ssh/authorized_keys && chmod 0600 /home/senex/.ssh/authorized_keys",
            "loginctl enable-linger senex",
            'for i in $(seq 100); do test -S /run/user/$(id -u senex)/bus && exit 0; sleep 0.1; done; exit 1',
        ].join("\n")], { timeoutMs: 600_000 });
        if (setup.code !== 0) throw new Error(`setting up files-u: ${setup.stdout}${setup.stderr}`);
        uid = (await u.exec(["id", "-u", "senex"])).stdout.trim();
        layer = {
            target: { name: "files-u", host: u.address, port: 22, user: "senex", hostKey: u.hostKeyPublic },
            privateKey: loginKey.private,
            layer: "user",
            files: {
                [`${UNITS}senex-echo.service`]: userUnit("senex-echo", `${HOME}/app/app.env`),
                [`${UNITS}senex-cache.service`]: userUnit("senex-cache"),
                [`${HOME}/app/app.env`]: { content: "GREETING=hello\n", mode: "0640", owner: "senex", restarts: ["senex-echo.service"] },
            },
            secretFiles: { [SEED]: { content: "requirepass pw-1\n", mode: "0600", owner: "senex", seed: true, restarts: ["senex-cache.service"] } },
            unitDirs: [UNITS],
            podmanSecrets: { "senex-test-pw": { value: "pw-1", restarts: ["senex-cache.service"] } },
            directories: { [`${HOME}/app`]: { mode: "0750" } },
            images: [],
            waitForCloudInit: false,
        };
        state = (await hostFilesProvider.create!(layer)).outs as HostFilesState;
        expect(await senex("systemctl --user is-active senex-echo.service senex-cache.service")).toBe("active\nactive");
        // After a failover Redis rewrites its own config: the seed must keep that, never go back to ours.
        await senex(`printf 'requirepass pw-1\\nreplicaof 10.213.7.77 6379\\n' > ${SEED}`);
        // The same machine at a second address (as after a move to a floating IP or a DNS name).
        await u.exec(["ip", "addr", "add", `${SECOND}/32`, "dev", "host0"]);
    }, 900_000);

    it("an address change is an update that restarts nothing, rewrites nothing and keeps Redis's seed and the podman secrets", async () => {
        const moved = { ...layer, target: { ...layer.target, host: SECOND } };
        // The second address reaches this very host: its pinned key answers there.
        expect((await withSsh({ ...moved.target, privateKey: loginKey.private }, (s) => s.run(["cat", "/etc/hostname"]))).stdout.trim()).toBe("files-u");
        const before = await snapshot();
        const d = await hostFilesProvider.diff!("files-u:user", state, moved);
        state = await engineStep(state, moved);
        expect(await snapshot()).toEqual(before);
        expect(before.seed).toContain("replicaof 10.213.7.77");
        expect(d).toMatchObject({ changes: true, replaces: [] });
        expect(state.target.host).toBe(SECOND);
    });

    it("after an endpoint change the update checks the host and writes only what it lacks", async () => {
        await senex(`rm ${HOME}/app/app.env`);
        const before = await snapshot().catch(() => undefined); // app.env is gone: stat fails
        expect(before).toBeUndefined();
        const [echo, cache] = (await senex("systemctl --user show -p InvocationID --value senex-echo.service senex-cache.service")).split("\n");
        const files = await senex(`stat -c '%i %Y %n' ${UNITS}senex-echo.service ${UNITS}senex-cache.service ${SEED}`);
        const podmanSecret = await senex("podman secret inspect --format '{{.ID}} {{.UpdatedAt}}' senex-test-pw");
        state = await engineStep(state, layer); // back to the first address
        expect(await senex(`cat ${HOME}/app/app.env`)).toBe("GREETING=hello");
        const [echoAfter, cacheAfter] = (await senex("systemctl --user show -p InvocationID --value senex-echo.service senex-cache.service")).split("\n");
        expect({ echoRestarted: echoAfter !== echo, cacheRestarted: cacheAfter !== cache }).toEqual({ echoRestarted: true, cacheRestarted: false });
        expect(await senex(`stat -c '%i %Y %n' ${UNITS}senex-echo.service ${UNITS}senex-cache.service ${SEED}`)).toBe(files);
        expect(await senex(`cat ${SEED}`)).toContain("replicaof 10.213.7.77");
        expect(await senex("podman secret inspect --format '{{.ID}} {{.UpdatedAt}}' senex-test-pw")).toBe(podmanSecret);
    });
});
