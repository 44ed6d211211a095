/**
 * The Day-0 bootstrap on real trixie hosts, both routes, from ONE typed spec
 * (topology/bootstrap.ts `bootstrapSpec` → render/cloudinit.ts `BootstrapSpec`):
 *
 * 1. cloud route: a fresh host boots with `renderCloudInit(spec)` as its NoCloud user-data, exactly
 *    as a Hetzner/DigitalOcean server gets it (spec built as components/deployment.ts `userData`
 *    builds it: pinned ED25519 host key, deploy key, the stack's apt proxy);
 * 2. existing-host route: an unseeded host (cloud-init disabled, root login with the operator's
 *    key) gets `renderBootstrapScript(spec)` through the dynamic provider's methods, called as the
 *    engine calls them (spec built as components/hostServices.ts builds it).
 *
 * Both routes are checked by the SAME list of end-state assertions (`endStateTests`), each
 * assertion derived from the spec itself (files byte for byte, packages, keys, firewall): that is
 * the proof that one spec gives one end state, whichever way it reaches the host. Timings are
 * printed at the end (first boot → SSH → cloud-init done; bootstrap over SSH; no-op and changed
 * updates).
 */
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import type { StackConfig } from "../../config/types";
import { parseStackConfig } from "../../config/schema";
import { rawConfigFromValues } from "../../plan/stackFile";
import { hostBootstrapProvider, type HostBootstrapInputs, type HostBootstrapState } from "../../providers/bootstrap";
import { HostKeyMismatchError, fingerprint, publicKeyBlob, sshStats, withSsh, type SshSession } from "../../providers/ssh/transport";
import { bootstrapFiles, bootstrapPackages, renderBootstrapScript, renderCloudInit, type BootstrapSpec } from "../../render/cloudinit";
import { buildTopology } from "../../topology";
import { bootstrapSpec } from "../../topology/bootstrap";
import { loginKeyPair } from "../support/keys";
import { APT_PROXY_URL, GATEWAY, TestHost, destroyAll, destroyHosts, startHosts } from "./harness";

jest.setTimeout(900_000);

type KeyPair = { private: string; public: string };

/** The operator: their key is in adminSshKeys and, on the existing server, in root's authorized_keys. */
const operator = loginKeyPair("operator@senex-test");
/** The deployment key (tls-generated or `deploySshKey` in real stacks). */
const deploy = loginKeyPair("deploy@senex-test");
/** A second admin added later (the changed spec of the update test). */
const secondAdmin = loginKeyPair("second-admin@senex-test");
/** The cloud host's pinned host key, generated before the server exists (OpenSSH private key). */
const cloudHostKey = loginKeyPair("main-host-key");
/** A test CA the stack's `caCertificates` asks every host to trust. */
const testCa = makeTestCa();

const timings: Record<string, number> = {};
const seconds = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

afterAll(async () => {
    await destroyAll();
    const lines = Object.entries(timings).map(([k, v]) => `  ${k.padEnd(58)} ${seconds(v)}`);
    // eslint-disable-next-line no-console
    console.log(`bootstrap timings (load ${require("os").loadavg()[0].toFixed(1)}):\n${lines.join("\n")}`);
});

// ---- the stacks and the spec, built as the program builds them --------------------------------

const common = {
    "senex-infra:phase": 1,
    "senex-infra:domain": "example.com",
    "senex-infra:acme": { email: "ops@example.com" },
    "senex-infra:aptProxy": APT_PROXY_URL,
    "senex-infra:caCertificates": [testCa],
};

/** The cloud stack; Day 2 changes its admin keys and turns backups on (restic on the host). */
function cloudConfig(adminKeys: string[] = [operator.public], backups = false): StackConfig {
    const raw = rawConfigFromValues({
        ...common,
        "senex-infra:cloud": "hetzner",
        "senex-infra:region": "fsn1",
        "senex-infra:adminSshKeys": adminKeys,
        ...(backups ? { "senex-infra:backups": { enabled: true }, "senex-infra:s3AccessKeyId": "bootstrap-test-key-id", "senex-infra:s3SecretAccessKey": "bootstrap-test-secret" } : {}),
    });
    const secretKeys = new Set([...raw.secretKeys, ...(backups ? ["senex-infra:s3AccessKeyId", "senex-infra:s3SecretAccessKey"] : [])]);
    return parseStackConfig({ values: raw.values, secretKeys }, "senex-infra", "bootstrap-cloud");
}

function existingConfig(host: TestHost, adminKeys: string[]): StackConfig {
    const raw = rawConfigFromValues({
            ...common,
            "senex-infra:cloud": "existing",
            "senex-infra:adminSshKeys": adminKeys,
            "senex-infra:bootstrapSshKey": operator.private,
            "senex-infra:deploySshKey": deploy.private,
            "senex-infra:network": { cidr: "10.213.0.0/16", subnet: "10.213.7.0/24" },
            "senex-infra:hosts": [{ name: "main", address: host.address, privateAddress: host.address, hostKey: host.hostKeyPublic, roles: ["main"] }],
    });
    // The private keys are secrets in a real stack (`pulumi config set --secret`): mark them so.
    const secretKeys = new Set([...raw.secretKeys, "senex-infra:bootstrapSshKey", "senex-infra:deploySshKey"]);
    return parseStackConfig({ values: raw.values, secretKeys }, "senex-infra", "bootstrap-existing");
}

/** As components/deployment.ts `userData` builds a cloud host's spec. */
function cloudSpec(config: StackConfig): BootstrapSpec {
    const topology = buildTopology(config);
    const host = topology.hosts.find((h) => h.name === "main")!;
    return bootstrapSpec(config, topology, host, { deployPublicKey: deploy.public, hostKey: { ed25519Private: cloudHostKey.private, ed25519Public: cloudHostKey.public } });
}

/** As components/hostServices.ts builds a cloud host's spec for the script over SSH (Day 2): no host key. */
function cloudDay2Spec(config: StackConfig, deployKey: KeyPair): BootstrapSpec {
    const topology = buildTopology(config);
    const host = topology.hosts.find((h) => h.name === "main")!;
    return bootstrapSpec(config, topology, host, { deployPublicKey: deployKey.public });
}

/** As components/hostServices.ts builds an existing host's spec (no host key: the host keeps its own). */
function existingSpec(config: StackConfig): BootstrapSpec {
    const topology = buildTopology(config);
    const host = topology.hosts.find((h) => h.name === "main")!;
    return bootstrapSpec(config, topology, host, { deployPublicKey: deploy.public });
}

// ---- helpers ------------------------------------------------------------------------------------

function makeTestCa(): string {
    const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ed25519", "-nodes", "-keyout", "/dev/null", "-days", "2",
        "-subj", "/CN=senex bootstrap test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], { encoding: "utf8" });
    if (r.status !== 0 || !r.stdout.includes("BEGIN CERTIFICATE")) throw new Error(`openssl could not make a test CA: ${r.stderr}`);
    return r.stdout;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** What each route hands the shared end-state assertions. */
interface Route {
    host: TestHost;
    spec: BootstrapSpec;
    /** The host key the host must present. */
    hostKey: string;
    /** Output of the bootstrap run, where the route keeps one (cloud-init's output log). */
    bootstrapOutput(): Promise<string | undefined>;
}

function ssh<T>(route: Route, user: string, key: KeyPair, fn: (s: SshSession) => Promise<T>, hostKey = route.hostKey): Promise<T> {
    return withSsh({ name: route.host.name, host: route.host.address, port: 22, user, hostKey, privateKey: key.private }, fn, { attempts: 1 });
}

/** Runs one shell line over SSH and returns its exit code and output (never throws on the code). */
async function shellAs(route: Route, user: string, key: KeyPair, line: string) {
    return ssh(route, user, key, (s) => s.run(["sh", "-c", line], { okCodes: Array.from({ length: 256 }, (_, i) => i) }));
}

/** As root inside the host (the harness, not SSH): for inspection only. */
async function rootSh(host: TestHost, line: string, timeoutMs = 60_000): Promise<string> {
    const r = await host.exec(["sh", "-c", line], { timeoutMs });
    if (r.code !== 0) throw new Error(`\`${line}\` exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout.trim();
}

/**
 * The authentication methods sshd offers `user` after the `none` probe (ssh2's authHandler sees
 * the server's list): proves which methods exist at all, independent of any key.
 */
function offeredAuthMethods(route: Route, user: string): Promise<string[]> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Client } = require("ssh2") as typeof import("ssh2");
    const pinned = publicKeyBlob(route.hostKey);
    return new Promise((resolve, reject) => {
        const client = new Client();
        let offered: string[] | undefined;
        client.on("ready", () => {
            client.end();
            reject(new Error(`${user} logged in with no authentication at all`));
        });
        client.on("error", (e) => {
            client.end();
            if (offered) resolve(offered);
            else reject(e);
        });
        client.connect({
            host: route.host.address,
            port: 22,
            username: user,
            readyTimeout: 10_000,
            algorithms: { serverHostKey: ["ssh-ed25519"] },
            hostVerifier: (key: Buffer) => key.equals(pinned),
            authHandler: (methodsLeft: string[] | null, _partial: boolean | null, next: (m: false | "none") => void) => {
                if (methodsLeft === null) return next("none");
                offered = [...methodsLeft];
                return next(false);
            },
        } as never);
    });
}

/**
 * sshd's log (by its syslog identifiers: attributing a line to ssh.service races the login's move
 * into its session scope on a loaded machine).
 */
function sshdJournal(host: TestHost): Promise<string> {
    return rootSh(host, "journalctl --no-pager -o cat SYSLOG_IDENTIFIER=sshd SYSLOG_IDENTIFIER=sshd-session");
}

/** Host keys sshd presents, one per type, as `type base64` (ssh-keyscan from this machine). */
function keyscan(address: string): string[] {
    const r = spawnSync("ssh-keyscan", ["-T", "10", address], { encoding: "utf8" });
    return r.stdout.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(/\s+/).slice(1, 3).join(" ")).sort();
}

/** owner, mode and sha256 of every file and directory under /etc and /home (for "nothing changed"). */
function snapshot(host: TestHost): Promise<string> {
    return rootSh(host, "find /etc /home -xdev -printf '%p %y %m %u:%g\\n' | sort; find /etc /home -xdev -type f -print0 | sort -z | xargs -0 sha256sum", 120_000);
}

/** Paths (not directories) under /etc and /home modified after the marker file. */
async function newerThan(host: TestHost, marker: string): Promise<string[]> {
    // Files, links and the like; not directories (a put_file that finds the content unchanged
    // still makes and removes its temp file beside the target, which touches the directory).
    const out = await rootSh(host, `find /etc /home -xdev ! -type d -newer ${marker} | sort`, 120_000);
    return out ? out.split("\n") : [];
}

// ---- the end state both routes must reach -------------------------------------------------------

/**
 * Every assertion about the bootstrapped host, derived from the spec: registered as `it`s inside
 * the calling describe, run after its earlier `it`s (which made the host).
 */
function endStateTests(route: () => Route): void {
    it("presents exactly the pinned host key; a connect pinned to another key fails naming both fingerprints", async () => {
        const r = route();
        expect(keyscan(r.host.address)).toEqual([r.hostKey.split(/\s+/).slice(0, 2).join(" ")]);
        expect(await ssh(r, "admin", deploy, async (s) => (await s.run(["hostname"])).stdout.trim())).toBe(r.spec.hostname);
        const impostorPin = loginKeyPair("not-the-host").public;
        const attempt = ssh(r, "admin", deploy, async () => "connected", impostorPin);
        await expect(attempt).rejects.toBeInstanceOf(HostKeyMismatchError);
        await expect(attempt).rejects.toThrow(fingerprint(publicKeyBlob(impostorPin)));
        await expect(attempt).rejects.toThrow(fingerprint(publicKeyBlob(r.hostKey)));
    });

    it("admin logs in with the deploy key and has passwordless sudo", async () => {
        const r = route();
        const out = await ssh(r, "admin", deploy, async (s) => [(await s.run(["id", "-un"])).stdout.trim(), (await s.run(["id", "-u"], { sudo: true })).stdout.trim()]);
        expect(out).toEqual(["admin", "0"]);
    });

    it("senex logs in, has no sudo and cannot become root (no sudoers entry, locked root, no setuid shell)", async () => {
        const r = route();
        const senex = await shellAs(r, "senex", deploy,
            'echo "user=$(id -un) groups=$(id -Gn)"; sudo -n true 2>/dev/null; echo "sudo=$?"; sudo -n -l >/dev/null 2>&1; echo "sudo-l=$?"; su -c true root </dev/null >/dev/null 2>&1; echo "su=$?"');
        const lines = senex.stdout.trim().split("\n");
        expect(lines[0]).toBe("user=senex groups=senex");
        expect(lines.slice(1).map((l) => l.replace(/=(?!0$)\d+$/, "=failed"))).toEqual(["sudo=failed", "sudo-l=failed", "su=failed"]);
        expect(await rootSh(r.host, "sudo -l -U senex")).toMatch(/User senex is not allowed to run sudo/);
        // passwd -S: L = locked (no password can ever be typed for su)
        expect(await rootSh(r.host, "for u in root admin senex; do passwd -S $u | cut -d' ' -f1,2; done")).toBe("root L\nadmin L\nsenex L");
        const shells = await rootSh(r.host, "grep '^/' /etc/shells | xargs -r realpath -e 2>/dev/null | sort -u");
        const setuid = await rootSh(r.host, "find / -xdev -type f -perm /6000 2>/dev/null | xargs -r realpath | sort -u");
        const setuidShells = setuid.split("\n").filter((p) => p && shells.split("\n").includes(p));
        expect(setuidShells).toEqual([]);
    });

    it("root cannot log in over SSH (deploy key nor the operator's key)", async () => {
        const r = route();
        for (const key of [deploy, operator]) {
            await expect(ssh(r, "root", key, async () => "logged in as root")).rejects.toThrow(/authentication as root failed/);
        }
        expect(await rootSh(r.host, "sshd -T | grep -E '^(permitrootlogin|allowusers) ' | sort")).toBe("allowusers admin\nallowusers senex\npermitrootlogin no");
    });

    it("password and keyboard-interactive authentication are off: sshd offers publickey only", async () => {
        const r = route();
        expect(await offeredAuthMethods(r, "admin")).toEqual(["publickey"]);
        expect(await offeredAuthMethods(r, "senex")).toEqual(["publickey"]);
        expect(await rootSh(r.host, "sshd -T | grep -E '^(passwordauthentication|kbdinteractiveauthentication) ' | sort")).toBe("kbdinteractiveauthentication no\npasswordauthentication no");
    });

    it("every key of the spec is authorized for admin and senex", async () => {
        const r = route();
        const keys = async (user: string) => (await rootSh(r.host, `cut -d' ' -f1,2 /home/${user}/.ssh/authorized_keys | sort`)).split("\n");
        const want = (list: readonly string[]) => list.map((k) => k.split(" ").slice(0, 2).join(" ")).sort();
        expect(await keys("admin")).toEqual(want(r.spec.adminSshKeys));
        expect(await keys("senex")).toEqual(want(r.spec.senexSshKeys ?? r.spec.adminSshKeys));
    });

    it("linger is on for senex and `systemctl --user` works for senex over SSH", async () => {
        const r = route();
        expect(await rootSh(r.host, "loginctl show-user senex -p Linger --value")).toBe("yes");
        const user = await shellAs(r, "senex", deploy, "systemctl --user is-system-running --wait; systemctl --user show -p Version --value >/dev/null && echo user-manager-ok");
        expect(user.stdout.trim().split("\n")).toEqual(["running", "user-manager-ok"]);
    });

    it("rootless podman works as senex: podman info says rootless, a container runs in senex's user namespace", async () => {
        const r = route();
        const uid = await rootSh(r.host, "id -u senex");
        const run = await shellAs(r, "senex", deploy, [
            "set -e",
            "podman info --format 'rootless={{.Host.Security.Rootless}}'",
            // A tiny image made from the host's own dash and libc (no registry, no download).
            "tar -C / -cf - bin lib64 usr/bin/dash usr/lib64/ld-linux-x86-64.so.2 usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 usr/lib/x86_64-linux-gnu/libc.so.6 2>/dev/null"
            + " | podman import --quiet - localhost/senex-bootstrap-probe:1 >/dev/null",
            "podman run --rm --network=none localhost/senex-bootstrap-probe:1 /usr/bin/dash -c 'while read a b c; do echo map $a $b $c; done < /proc/self/uid_map'",
            "podman rmi --force localhost/senex-bootstrap-probe:1 >/dev/null",
        ].join("\n"));
        expect({ code: run.code, stderr: run.code === 0 ? "" : run.stderr }).toEqual({ code: 0, stderr: "" });
        const lines = run.stdout.trim().split("\n");
        expect(lines[0]).toBe("rootless=true");
        // container root is senex; the rest of the container's ids come from senex's subordinate range
        expect(lines[1]).toBe(`map 0 ${uid} 1`);
        expect(lines[2]).toMatch(/^map 1 \d+ 65536$/);
    });

    it("senex's subordinate id range is the spec's (container volumes' ownership is planned for it)", async () => {
        const r = route();
        const ids = r.spec.subordinateIds ?? { start: 100000, count: 65536 };
        expect(await rootSh(r.host, "grep '^senex:' /etc/subuid; grep '^senex:' /etc/subgid")).toBe(`senex:${ids.start}:${ids.count}\nsenex:${ids.start}:${ids.count}`);
    });

    it("every bootstrap file is on the host byte for byte, with its owner and mode", async () => {
        const r = route();
        for (const f of bootstrapFiles(r.spec)) {
            expect({ path: f.path, meta: await rootSh(r.host, `stat -c '%a %U:%G' ${f.path}`) }).toEqual({ path: f.path, meta: `${Number.parseInt(f.mode, 8).toString(8)} ${f.owner}` });
            expect({ path: f.path, sha256: (await rootSh(r.host, `sha256sum ${f.path}`)).split(" ")[0] }).toEqual({ path: f.path, sha256: sha256(f.content) });
        }
    });

    it("every package of the spec is installed", async () => {
        const r = route();
        const pkgs = bootstrapPackages(r.spec);
        const status = await rootSh(r.host, `dpkg-query -W -f '\${Package} \${db:Status-Status}\\n' ${pkgs.join(" ")} | sort`);
        expect(status.split("\n")).toEqual(pkgs.map((p) => `${p} installed`).sort());
    });

    it("the nftables table inet senex is loaded from the spec's firewall and its unit is active and enabled", async () => {
        const r = route();
        expect(await rootSh(r.host, "systemctl is-active senex-firewall.service; systemctl is-enabled senex-firewall.service")).toBe("active\nenabled");
        const table = await rootSh(r.host, "nft list table inet senex");
        expect(table).toMatch(/chain input \{[\s\S]*policy drop;/);
        expect(table).toMatch(/tcp dport 22 accept comment "ssh"/);
        if (r.spec.firewall.publicHttp) expect(table).toMatch(/tcp dport \{ 80, 443 \} accept/);
        expect(table).toMatch(/ip daddr 169\.254\.169\.254 meta skuid != 0 reject/);
    });

    it("fail2ban's sshd jail is enabled (nftables ban action)", async () => {
        const r = route();
        expect(await rootSh(r.host, "systemctl is-active fail2ban.service")).toBe("active");
        const jail = await rootSh(r.host, "fail2ban-client status sshd");
        expect(jail).toMatch(/Status for the jail: sshd/);
        // A ban must reach the kernel: ban a documentation address, look for it in nftables, lift it.
        const probe = "192.0.2.77";
        await rootSh(r.host, `fail2ban-client set sshd banip ${probe}`);
        const actions = await rootSh(r.host, "fail2ban-client get sshd actions");
        const ruleset = await rootSh(r.host, "nft list ruleset");
        await rootSh(r.host, `fail2ban-client set sshd unbanip ${probe}`);
        expect({ actions: actions.split("\n").slice(-1)[0], bannedInNftables: ruleset.includes(probe) }).toEqual({ actions: "nftables-multiport", bannedInNftables: true });
    });

    it("unattended-upgrades is installed and configured for security updates, no automatic reboot", async () => {
        const r = route();
        const apt = await rootSh(r.host, "apt-config dump");
        expect(apt).toMatch(/^APT::Periodic::Unattended-Upgrade "1";$/m);
        expect(apt).toMatch(/^APT::Periodic::Update-Package-Lists "1";$/m);
        expect(apt).toMatch(/Unattended-Upgrade::Origins-Pattern::? "origin=Debian,codename=\$\{distro_codename\}-security,label=Debian-Security";/);
        expect(apt).toMatch(/^Unattended-Upgrade::Automatic-Reboot "false";$/m);
    });

    it("apt goes through the spec's proxy", async () => {
        const r = route();
        expect(await rootSh(r.host, "apt-config dump Acquire::http::Proxy")).toBe(`Acquire::http::Proxy "${r.spec.aptProxy}";`);
    });

    it("the sysctl file exists; its value applied, or the bootstrap warned (read-only /proc/sys) without failing", async () => {
        const r = route();
        if (r.spec.unprivilegedPortStart === undefined) return;
        expect(await rootSh(r.host, "cat /etc/sysctl.d/60-senex.conf")).toMatch(new RegExp(`^net\\.ipv4\\.ip_unprivileged_port_start = ${r.spec.unprivilegedPortStart}$`, "m"));
        const live = await rootSh(r.host, "sysctl -n net.ipv4.ip_unprivileged_port_start");
        const output = (await r.bootstrapOutput()) ?? "";
        expect(live === String(r.spec.unprivilegedPortStart) || /senex-bootstrap: WARNING: \/etc\/sysctl\.d\/60-senex\.conf not applied/.test(output)).toBe(true);
    });

    it("the stack's CA certificates are trusted (config `caCertificates`)", async () => {
        const r = route();
        const body = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s+/g, "");
        const bundle = body(await rootSh(r.host, "cat /etc/ssl/certs/ca-certificates.crt"));
        // inSpec: did the spec carry the stack's CA at all (the spec is what both routes render)?
        for (const pem of [testCa]) {
            expect({ inSpec: (r.spec.caCertificates ?? []).includes(pem), trusted: bundle.includes(body(pem)) }).toEqual({ inSpec: true, trusted: true });
        }
    });
}

// ---- #11.1: links senex plants in its home ------------------------------------------------------

/** A bootstrap re-run on a route: the spec with these admin keys, through the provider's update (throws what it throws). */
type Rerun = (adminKeys: string[]) => Promise<void>;

interface PlantedLink {
    what: string;
    /** Run as senex over SSH. */
    plant: string;
    /** The operator's clean-up (as root), if the re-run refused. */
    restore?: string;
    /** Whether the re-run must refuse (a link to something senex cannot change) or converge. */
    refused: boolean;
}

const PLANTED_LINKS: PlantedLink[] = [
    {
        what: "~/.config/containers/systemd -> /etc/systemd/system",
        plant: "rm -rf ~/.config/containers/systemd && ln -s /etc/systemd/system ~/.config/containers/systemd",
        restore: "rm /home/senex/.config/containers/systemd",
        refused: true,
    },
    {
        what: "~/.ssh -> /etc/systemd/system",
        plant: "mv ~/.ssh ~/.ssh.moved && ln -s /etc/systemd/system ~/.ssh",
        restore: "rm /home/senex/.ssh && mv /home/senex/.ssh.moved /home/senex/.ssh",
        refused: true,
    },
    {
        // senex's keys are admin's keys: a run by root finds the link's target "unchanged" and chowns it.
        what: "~/.ssh/authorized_keys -> /home/admin/.ssh/authorized_keys",
        plant: "ln -sf /home/admin/.ssh/authorized_keys ~/.ssh/authorized_keys",
        refused: false,
    },
];

/**
 * senex (e.g. after a container escape) replaces a path in its home by a link to something it
 * must never own; the next bootstrap re-run (an admin key change is enough) hands it nothing.
 */
function plantedLinkTests(route: () => Route, rerun: Rerun, adminKeysNow: () => string[]): void {
    it.each(PLANTED_LINKS)("#11.1: senex plants $what; the next re-run gives senex nothing", async (link) => {
        const r = route();
        const planted = await shellAs(r, "senex", deploy, `set -e; ${link.plant}`);
        expect({ code: planted.code, stderr: planted.stderr }).toEqual({ code: 0, stderr: "" });
        const keys = [...adminKeysNow(), loginKeyPair("one-more-admin@senex-test").public];
        const outcome = await rerun(keys).then(() => "applied", (e: Error) => e.message);
        // root's directory and admin's keys are as they were; senex owns nothing under /etc or admin's home, and cannot write there
        expect(await rootSh(r.host, "stat -c '%n %U:%G %a' /etc/systemd/system /home/admin/.ssh /home/admin/.ssh/authorized_keys")).toBe(
            "/etc/systemd/system root:root 755\n/home/admin/.ssh admin:admin 700\n/home/admin/.ssh/authorized_keys admin:admin 600",
        );
        expect(await rootSh(r.host, "find /etc /home/admin -xdev -user senex")).toBe("");
        expect(await rootSh(r.host, "ls /etc/systemd/system | grep -E 'authorized_keys|senex-[A-Za-z0-9]{6}$' || true")).toBe("");
        expect(await rootSh(r.host, "setpriv --reuid=senex --regid=senex --init-groups sh -c 'touch /etc/systemd/system/senex-probe.service' 2>/dev/null; echo $?")).not.toBe("0");
        if (link.refused) {
            expect(outcome).toMatch(/Operation not permitted/);
            await rootSh(r.host, link.restore!);
            await rerun(keys);
        } else {
            expect(outcome).toBe("applied");
        }
        // converged: senex's own paths are senex's again, and its keys are the spec's
        expect(await rootSh(r.host, "stat -c '%n %F %U:%G' /home/senex/.ssh /home/senex/.ssh/authorized_keys /home/senex/.config/containers/systemd")).toBe(
            "/home/senex/.ssh directory senex:senex\n/home/senex/.ssh/authorized_keys regular file senex:senex\n/home/senex/.config/containers/systemd directory senex:senex",
        );
        expect(await ssh(r, "senex", deploy, async (s) => (await s.run(["id", "-un"])).stdout.trim())).toBe("senex");
    });
}

// ---- route 1: cloud-init ------------------------------------------------------------------------

describe("cloud route: renderCloudInit(spec) as NoCloud user-data on first boot", () => {
    let r: Route;

    beforeAll(async () => {
        const spec = cloudSpec(cloudConfig());
        const userData = renderCloudInit(spec);
        const t0 = Date.now();
        const [host] = await startHosts(1, { names: ["main"], seed: () => ({ userData }), waitForSsh: false });
        const booted = Date.now();
        timings["cloud: unpack rootfs + start nspawn"] = booted - t0;
        await host!.waitForSsh(300_000);
        timings["cloud: first boot → SSH banner"] = Date.now() - booted;
        await host!.exec(["cloud-init", "status", "--wait"], { timeoutMs: 800_000 });
        timings["cloud: first boot → cloud-init done"] = Date.now() - booted;
        r = { host: host!, spec, hostKey: cloudHostKey.public, bootstrapOutput: () => rootSh(host!, "cat /var/log/cloud-init-output.log") };
    });

    afterAll(async () => {
        if (r) await destroyHosts([r.host]);
    });

    it("cloud-init finished without errors (status --long exit 0)", async () => {
        const status = await r.host.exec(["cloud-init", "status", "--long"]);
        const details = status.code === 0 ? "" : `${status.stdout}\n${await rootSh(r.host, "grep -E 'WARNING|ERROR|Traceback' /var/log/cloud-init.log | tail -40 || true")}`;
        expect({ code: status.code, details }).toEqual({ code: 0, details: "" });
        expect(status.stdout).toMatch(/status: done/);
    });

    it("the host has no host key but the pinned one (ssh_deletekeys, no other types generated)", async () => {
        expect(await rootSh(r.host, "ls /etc/ssh/ | grep '^ssh_host_' | sort")).toBe("ssh_host_ed25519_key\nssh_host_ed25519_key.pub");
        expect((await rootSh(r.host, "cat /etc/ssh/ssh_host_ed25519_key.pub")).split(" ").slice(0, 2)).toEqual(cloudHostKey.public.split(" ").slice(0, 2));
    });

    endStateTests(() => r);

    // ---- Day 2 over SSH, from the same spec (#11.2) ----------------------------------------------
    let config = cloudConfig();
    let deployKey = deploy;
    let inputs: HostBootstrapInputs;
    let state: HostBootstrapState;
    const id = "main:bootstrap";
    /** As components/hostServices.ts wires a cloud host's HostBootstrap. */
    const cloudInputs = (cfg: StackConfig, key: KeyPair): HostBootstrapInputs => ({
        target: { name: "main", host: r.host.address, port: 22, hostKey: cloudHostKey.public },
        firstLogin: { user: "admin", privateKey: key.private },
        adminLogin: { user: "admin", privateKey: key.private },
        script: renderBootstrapScript(cloudDay2Spec(cfg, key)),
        waitForCloudInit: true,
    });
    const apply = async (cfg: StackConfig, key: KeyPair) => {
        const next = cloudInputs(cfg, key);
        state = (await hostBootstrapProvider.update!(id, state, next)).outs as HostBootstrapState;
        inputs = next;
        config = cfg;
        deployKey = key;
        r = { ...r, spec: cloudDay2Spec(cfg, key) };
    };
    const adminLogins = async () => (await sshdJournal(r.host)).split("Accepted publickey for admin ").length - 1;

    it("#11.2: the bootstrap's create on a cloud host logs in as admin with the deploy key after cloud-init and stamps the spec", async () => {
        inputs = cloudInputs(config, deployKey);
        const t0 = Date.now();
        const created = await hostBootstrapProvider.create!(inputs);
        timings["cloud: create (bootstrap over SSH as admin, after cloud-init)"] = Date.now() - t0;
        state = created.outs as HostBootstrapState;
        expect(created.id).toBe(id);
        expect(await rootSh(r.host, "cat /etc/senex/bootstrap.sha256")).toBe(sha256(inputs.script));
    });

    it("#11.2: a no-op up opens no SSH session (diff on the script's hash)", async () => {
        const before = sshStats.connections;
        const same = cloudInputs(config, deployKey);
        expect((await hostBootstrapProvider.diff!(id, state, same)).changes).toBe(false);
        await hostBootstrapProvider.update!(id, state, same);
        expect(sshStats.connections - before).toBe(0);
    });

    it("#11.2: Day 2: an admin key removed from adminSshKeys stops working; a package a newly enabled feature needs (backups: restic) arrives", async () => {
        const installed = async (pkg: string) => (await r.host.exec(["dpkg-query", "-W", "-f", "${db:Status-Status}", pkg])).stdout.trim() || "not-installed";
        // before: the operator's key works as admin, restic is not there
        expect(await ssh(r, "admin", operator, async (s) => (await s.run(["id", "-un"])).stdout.trim())).toBe("admin");
        expect(await installed("restic")).toBe("not-installed");
        const changed = cloudConfig([secondAdmin.public], true);
        expect(bootstrapPackages(cloudDay2Spec(changed, deployKey))).toContain("restic");
        expect((await hostBootstrapProvider.diff!(id, state, cloudInputs(changed, deployKey))).changes).toBe(true);
        const before = sshStats.connections;
        const t0 = Date.now();
        await apply(changed, deployKey);
        timings["cloud: Day-2 update (key removed, restic added)"] = Date.now() - t0;
        expect(sshStats.connections - before).toBe(1);
        for (const user of ["admin", "senex"]) {
            await expect(ssh(r, user, operator, async () => "logged in")).rejects.toThrow(/authentication as (admin|senex) failed/);
        }
        expect(await ssh(r, "admin", secondAdmin, async (s) => (await s.run(["id", "-u"], { sudo: true })).stdout.trim())).toBe("0");
        expect(await installed("restic")).toBe("installed");
        expect(await rootSh(r.host, "cut -d' ' -f1,2 /home/admin/.ssh/authorized_keys | sort")).toBe([secondAdmin.public, deployKey.public].map((k) => k.split(" ").slice(0, 2).join(" ")).sort().join("\n"));
    });

    plantedLinkTests(() => r, (adminKeys) => apply(cloudConfig(adminKeys, true), deployKey), () => [...config.adminSshKeys]);

    it("#11.2: the deploy key rotates: the run logs in with the key the host still holds, installs the new one and drops the old; the program is never locked out", async () => {
        const newDeploy = loginKeyPair("deploy-2@senex-test");
        const loginsBefore = await adminLogins();
        const before = sshStats.connections;
        await apply(config, newDeploy);
        // one refused try with the new key, then the run with the previous one
        expect(sshStats.connections - before).toBe(2);
        expect((await adminLogins()) - loginsBefore).toBe(1);
        expect(await ssh(r, "admin", newDeploy, async (s) => (await s.run(["id", "-u"], { sudo: true })).stdout.trim())).toBe("0");
        expect(await ssh(r, "senex", newDeploy, async (s) => (await s.run(["id", "-un"])).stdout.trim())).toBe("senex");
        for (const user of ["admin", "senex"]) {
            await expect(ssh(r, user, deploy, async () => "logged in")).rejects.toThrow(/authentication as (admin|senex) failed/);
        }
        // the next change runs with the new key at the first try; refresh reads with it too
        const next = sshStats.connections;
        await apply(cloudConfig([...config.adminSshKeys, operator.public], true), newDeploy);
        expect(sshStats.connections - next).toBe(1);
        expect((await hostBootstrapProvider.read!(id, state)).props?.scriptHash).toBe(sha256(inputs.script));
    });
});

// ---- route 2: existing host, the dynamic provider over SSH --------------------------------------

describe("existing-host route: hostBootstrapProvider applies renderBootstrapScript(spec) over SSH", () => {
    let r: Route;
    let config: StackConfig;
    let inputs: HostBootstrapInputs;
    let state: HostBootstrapState;
    let id: string;

    const inputsFor = (host: TestHost, cfg: StackConfig): HostBootstrapInputs => ({
        target: { name: "main", host: host.address, port: 22, hostKey: host.hostKeyPublic },
        firstLogin: { user: cfg.hosts[0]!.bootstrapUser, privateKey: cfg.bootstrapSshKey!.reveal() },
        adminLogin: { user: "admin", privateKey: deploy.private },
        script: renderBootstrapScript(existingSpec(cfg)),
    });

    beforeAll(async () => {
        const t0 = Date.now();
        // An existing server: cloud-init disabled, the operator's key for root, no apt proxy (the
        // spec's aptProxy must set it up).
        const [host] = await startHosts(1, { names: ["main"], rootAuthorizedKeys: [operator.public], aptProxy: false, bootTimeoutMs: 300_000 });
        timings["existing: start (unpack + boot) → SSH"] = Date.now() - t0;
        config = existingConfig(host!, [operator.public]);
        inputs = inputsFor(host!, config);
        r = { host: host!, spec: existingSpec(config), hostKey: host!.hostKeyPublic, bootstrapOutput: async () => undefined };
    });

    it("check accepts the engine's inputs and rejects a missing host key", async () => {
        expect((await hostBootstrapProvider.check!({} as HostBootstrapInputs, inputs)).failures).toEqual([]);
        const bad = await hostBootstrapProvider.check!({} as HostBootstrapInputs, { ...inputs, target: { ...inputs.target, hostKey: "" } });
        expect(bad.failures?.map((f) => f.property)).toEqual(["target.hostKey"]);
    });

    it("before the bootstrap, root logs in with the operator's key (the first login)", async () => {
        expect(await ssh(r, "root", operator, async (s) => (await s.run(["id", "-u"])).stdout.trim())).toBe("0");
        expect(await rootSh(r.host, "id admin senex 2>&1 || true")).toMatch(/no such user/);
    });

    /** sshd's log of accepted logins per user, and of root's refusals (AllowUsers). */
    const sshdLog = async () => {
        const journal = await sshdJournal(r.host);
        const count = (text: string) => journal.split(text).length - 1;
        return { admin: count("Accepted publickey for admin "), root: count("Accepted publickey for root "), rootRefused: count("User root from ") };
    };

    it("#11.12a: a create that dies after its sshd reload (here: the stamp cannot be written) ran as root and fails", async () => {
        // What an interrupted first run leaves: sshd already refuses root, admin holds the deploy key.
        await rootSh(r.host, "install -d -m 0755 /etc/senex/bootstrap.sha256");
        const before = await sshdLog();
        const t0 = Date.now();
        await expect(hostBootstrapProvider.create!(inputs)).rejects.toThrow(/bootstrap\.sha256: Is a directory/);
        timings["existing: create (bootstrap over SSH as root, dies at the stamp)"] = Date.now() - t0;
        const after = await sshdLog();
        expect({ root: after.root - before.root, admin: after.admin - before.admin }).toEqual({ root: 1, admin: 0 });
        expect(await rootSh(r.host, "sshd -T | grep '^permitrootlogin '")).toBe("permitrootlogin no");
    });

    it("#11.12a: the retried create finds root refused, logs in as admin with the deploy key, runs the script and stamps its hash", async () => {
        await rootSh(r.host, "rmdir /etc/senex/bootstrap.sha256");
        const before = await sshdLog();
        const t0 = Date.now();
        const created = await hostBootstrapProvider.create!(inputs);
        timings["existing: retried create (as admin)"] = Date.now() - t0;
        const after = await sshdLog();
        expect({ root: after.root - before.root, rootRefused: after.rootRefused - before.rootRefused, admin: after.admin - before.admin }).toEqual({ root: 0, rootRefused: 1, admin: 1 });
        id = created.id;
        state = created.outs as HostBootstrapState;
        expect(id).toBe("main:bootstrap");
        expect(state.scriptHash).toBe(sha256(inputs.script));
        expect(await rootSh(r.host, "cat /etc/senex/bootstrap.sha256")).toBe(sha256(inputs.script));
    });

    endStateTests(() => r);

    it("an update with the unchanged script opens no SSH connection and diff reports no change", async () => {
        const before = sshStats.connections;
        const same = inputsFor(r.host, config);
        const d = await hostBootstrapProvider.diff!(id, state, same);
        const t0 = Date.now();
        const updated = await hostBootstrapProvider.update!(id, state, same);
        timings["existing: update, unchanged script (no-op)"] = Date.now() - t0;
        expect(d.changes).toBe(false);
        expect(sshStats.connections - before).toBe(0);
        expect((updated.outs as HostBootstrapState).scriptHash).toBe(state.scriptHash);
    });

    it("an update with a changed spec (one more admin key) re-runs as admin and converges", async () => {
        const changedConfig = existingConfig(r.host, [operator.public, secondAdmin.public]);
        const changed = inputsFor(r.host, changedConfig);
        expect(changed.script).not.toBe(inputs.script);
        expect((await hostBootstrapProvider.diff!(id, state, changed)).changes).toBe(true);
        const logins = async () => {
            const journal = await sshdJournal(r.host);
            return { admin: journal.split("Accepted publickey for admin ").length - 1, root: journal.split("Accepted publickey for root ").length - 1 };
        };
        const loginsBefore = await logins();
        const t0 = Date.now();
        const before = sshStats.connections;
        const updated = await hostBootstrapProvider.update!(id, state, changed);
        timings["existing: update, changed script (re-run as admin)"] = Date.now() - t0;
        expect(sshStats.connections - before).toBe(1);
        // it ran as admin: sshd logged exactly one more admin login, and no root login
        const loginsAfter = await logins();
        expect({ admin: loginsAfter.admin - loginsBefore.admin, root: loginsAfter.root - loginsBefore.root }).toEqual({ admin: 1, root: 0 });
        state = updated.outs as HostBootstrapState;
        config = changedConfig;
        inputs = changed;
        r = { ...r, spec: existingSpec(config) };
        expect(await rootSh(r.host, "cat /etc/senex/bootstrap.sha256")).toBe(sha256(changed.script));
        // the new key is authorized, for admin (sudo) and senex
        expect(await ssh(r, "admin", secondAdmin, async (s) => (await s.run(["id", "-u"], { sudo: true })).stdout.trim())).toBe("0");
        expect(await ssh(r, "senex", secondAdmin, async (s) => (await s.run(["id", "-un"])).stdout.trim())).toBe("senex");
    });

    plantedLinkTests(
        () => r,
        async (adminKeys) => {
            const next = existingConfig(r.host, adminKeys);
            const nextInputs = inputsFor(r.host, next);
            state = (await hostBootstrapProvider.update!(id, state, nextInputs)).outs as HostBootstrapState;
            config = next;
            inputs = nextInputs;
            r = { ...r, spec: existingSpec(config) };
        },
        () => [...config.adminSshKeys],
    );

    it("running the script a second time changes nothing under /etc and /home", async () => {
        const marker = "/run/senex-bootstrap-test.marker";
        const before = await snapshot(r.host);
        await rootSh(r.host, `touch ${marker}`);
        const t0 = Date.now();
        const run = await ssh(r, "admin", deploy, (s) => s.run(["bash", "-s"], { sudo: true, stdin: renderBootstrapScript(r.spec), timeoutMs: 600_000 }));
        timings["existing: second run of the same script (idempotent)"] = Date.now() - t0;
        expect(run.stdout).toMatch(/senex-bootstrap: done/);
        expect(await newerThan(r.host, marker)).toEqual([]);
        expect(await snapshot(r.host)).toBe(before);
    });

    it("read reports the stamp from the host; a tampered stamp makes diff report a change, and update repairs it", async () => {
        const read = await hostBootstrapProvider.read!(id, state);
        expect(read.props?.scriptHash).toBe(sha256(inputs.script));
        expect((await hostBootstrapProvider.diff!(id, read.props as HostBootstrapState, inputs)).changes).toBe(false);

        await rootSh(r.host, "echo 0000tampered > /etc/senex/bootstrap.sha256");
        const drifted = await hostBootstrapProvider.read!(id, state);
        expect(drifted.props?.scriptHash).toBe("0000tampered");
        expect((await hostBootstrapProvider.diff!(id, drifted.props as HostBootstrapState, inputs)).changes).toBe(true);

        const repaired = await hostBootstrapProvider.update!(id, drifted.props as HostBootstrapState, inputs);
        state = repaired.outs as HostBootstrapState;
        expect((await hostBootstrapProvider.read!(id, state)).props?.scriptHash).toBe(sha256(inputs.script));
    });

    it("delete touches nothing on the host (documented: undoing users, sshd and firewall would lock the operator out)", async () => {
        const marker = "/run/senex-bootstrap-test.delete-marker";
        const before = await snapshot(r.host);
        await rootSh(r.host, `touch ${marker}`);
        const connections = sshStats.connections;
        await hostBootstrapProvider.delete!(id, state);
        expect(sshStats.connections - connections).toBe(0);
        expect(await newerThan(r.host, marker)).toEqual([]);
        expect(await snapshot(r.host)).toBe(before);
        expect(await ssh(r, "admin", deploy, async (s) => (await s.run(["id", "-u"], { sudo: true })).stdout.trim())).toBe("0");
        expect(await rootSh(r.host, "systemctl is-active senex-firewall.service")).toBe("active");
    });

    it("#11.12a: a create no login works for fails naming the logins tried and the way out, never a key", async () => {
        // This run's refused root logins (retried create, end-state checks, this one) would reach
        // fail2ban's maxretry: the test runner is the operator's trusted address here.
        await rootSh(r.host, `fail2ban-client set sshd addignoreip ${GATEWAY} >/dev/null`);
        const stranger = loginKeyPair("stranger@senex-test");
        const locked = { ...inputs, firstLogin: { user: "root", privateKey: stranger.private }, adminLogin: { user: "admin", privateKey: stranger.private } };
        const error = await hostBootstrapProvider.create!(locked).then(() => undefined, (e: Error) => e.message);
        expect(error).toMatch(/^main: the host refused every login the bootstrap can use \(root with the first-login key; admin with the deployment key\)\. .*console.*\/home\/admin\/\.ssh\/authorized_keys.*pulumi up/);
        expect(error).not.toContain(stranger.private.split("\n")[1]!);
    });
});
