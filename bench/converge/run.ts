/**
 * bench/converge: our apply against an Ansible playbook of the seeds' phase-1 steps, in ONE run,
 * on two identical fresh test hosts (same rootfs, apt proxy, registry and images).
 *
 *   A: ansible-playbook bench/converge/playbook.yml (Debian trixie's ansible 12 + containers.podman
 *      1.17, from the chroot bench/converge/prepare.sh builds), first run and no-op re-run;
 *   B: `pulumi up` of the real program's `existing` phase-1 stack through the real engine
 *      (test/engine/existingStack.ts), first run and no-op re-run.
 *
 * Prints wall times, ratios ansible/ours, SSH logins per run (sshd "Accepted publickey" lines in
 * each host's journal), the package-installation share (identical work on both sides), both hosts'
 * /health/ at the end, and the machine's load during the run. Run: bash bench/run.sh converge.
 * Env: SENEX_CONVERGE_ORDER=pulumi-first runs our side first (default: ansible first);
 * SENEX_CONVERGE_ONLY=ansible stops after the Ansible side (for working on the playbook);
 * SENEX_CONVERGE_KEEP=1 keeps the run's files (logs, timing JSON); SENEX_CONVERGE_VERBOSE=1
 * prints the full outputs.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { cacheRoot } from "../../test/support/cache";
import { TestHost, destroyHosts, startHosts } from "../../test/hosts/harness";
import { startAcmeServer, type AcmeServer } from "../../test/hosts/harness/acme";
import { startRegistry, type TestRegistry } from "../../test/hosts/harness/registry";
import { PHASE1_IMAGES, allowLowPorts, bootstrapKeyPair, createExistingStack, pushImages } from "../../test/engine/existingStack";
import type { PulumiCli } from "../../test/engine/cli";

const DOMAIN = "app.test";
const STACK = "converge";
const UP_TIMEOUT_MS = 1_800_000;
const BENCH_DIR = __dirname;
/** What the playbook needs from this directory (copied into the chroot for each run). */
const PLAYBOOK_FILES = ["playbook.yml", "ansible.cfg", "files", "templates", "callback_plugins"];
/** Same list as render/cloudinit.ts BASE_PACKAGES + the host files' extra packages (lego). */
const SYSTEM_PACKAGES = ["podman", "uidmap", "passt", "nftables", "fail2ban", "python3-systemd", "unattended-upgrades", "dbus-user-session", "openssl", "sudo", "lego"];

interface Timed { ms: number; logins: number; load: string }
interface AnsibleRun extends Timed { timing: AnsibleTiming; exitCode: number; log: string }
interface AnsibleTiming {
    total_s: number;
    plays: { name: string; s: number }[];
    tasks: { play: string; name: string; s: number; changed: boolean; handler: boolean; tags: string[]; results?: Record<string, number> }[];
    stats: Record<string, Record<string, number>>;
}

// ---------------------------------------------------------------------------------------------
// machine load during the run

const loadSamples: number[] = [];
function sampleLoad(): void {
    loadSamples.push(Number(fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0]));
}
/** Mean 1-min load over the samples taken since index `from` (one is taken now). */
function loadSince(from: number): string {
    sampleLoad();
    const xs = loadSamples.slice(from);
    return (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1);
}

// ---------------------------------------------------------------------------------------------
// hosts

async function sshLogins(host: TestHost): Promise<number> {
    const r = await host.exec(["sh", "-c", "journalctl -q --no-pager -t sshd-session -t sshd -g 'Accepted publickey' | wc -l"]);
    return Number(r.stdout.trim());
}

/** Accepted logins with their user, host-side time (µs since epoch), in order. */
async function loginTimes(host: TestHost): Promise<{ user: string; us: number }[]> {
    const r = await host.exec(["sh", "-c", "journalctl -q --no-pager -o json -t sshd-session -t sshd -g 'Accepted publickey'"]);
    return r.stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { MESSAGE: string; __REALTIME_TIMESTAMP: string })
        .map((e) => ({ user: /Accepted publickey for (\S+)/.exec(e.MESSAGE)?.[1] ?? "?", us: Number(e.__REALTIME_TIMESTAMP) }));
}

/** apt-get install runs on the host (from /var/log/apt/history.log): seconds each, with what they installed. */
async function aptInstalls(host: TestHost): Promise<{ commandLine: string; seconds: number; packages: number }[]> {
    const r = await host.exec(["cat", "/var/log/apt/history.log"]);
    const out: { commandLine: string; seconds: number; packages: number }[] = [];
    for (const block of r.stdout.split(/\n\s*\n/)) {
        const start = /^Start-Date: (.+)$/m.exec(block)?.[1];
        const end = /^End-Date: (.+)$/m.exec(block)?.[1];
        const cmd = /^Commandline: (.+)$/m.exec(block)?.[1] ?? "";
        const installed = /^Install: (.+)$/m.exec(block)?.[1] ?? "";
        if (!start || !end) continue;
        const t = (s: string) => Date.parse(s.trim().replace(/^(\d{4}-\d{2}-\d{2})\s+/, "$1T"));
        out.push({ commandLine: cmd, seconds: (t(end) - t(start)) / 1000, packages: installed ? installed.split("), ").length : 0 });
    }
    return out;
}

/** HTTP(S) status of a GET from this machine (0 when it fails); bounded at 10 s whatever happens. */
function get(url: string, hostHeader?: string): Promise<number> {
    return new Promise((resolve) => {
        const u = new URL(url);
        const mod = u.protocol === "https:" ? https : http;
        const timer = setTimeout(() => (req.destroy(), resolve(0)), 10_000);
        const done = (status: number) => (clearTimeout(timer), resolve(status));
        const req = mod.request(
            { host: u.hostname, port: u.port || (u.protocol === "https:" ? 443 : 80), path: u.pathname, agent: false, headers: hostHeader ? { host: hostHeader } : {}, ...(u.protocol === "https:" ? { servername: hostHeader, rejectUnauthorized: false } : {}) },
            (res) => {
                res.resume();
                res.on("end", () => done(res.statusCode ?? 0));
            },
        );
        req.on("error", () => done(0));
        req.end();
    });
}

/** /health/ through nginx from this machine (HTTPS, SNI), and from each Daphne on the host itself (its firewall keeps 8001/8002 private). */
async function health(host: TestHost): Promise<string> {
    const viaNginx = await get(`https://${host.address}/health/`, DOMAIN);
    const daphne = await host.exec(["sh", "-c", `for p in 8001 8002; do curl -s -o /dev/null -w '%{http_code} ' --max-time 10 http://${host.address}:$p/health/; done`], { timeoutMs: 30_000 });
    return `nginx ${viaNginx}, daphne ${daphne.stdout.trim().split(" ").join("/")}`;
}

const UNITS = ["senex-postgres", "senex-redis-broker", "senex-redis-cache", "senex-migrate", "senex-collectstatic", "senex-daphne-8001", "senex-daphne-8002", "senex-celery-worker", "senex-celery-beat", "senex-nginx"];

/** What went wrong on a host's senex services (for a failed run's message). */
async function diagnostics(host: TestHost): Promise<string> {
    const r = await host.exec(["runuser", "-u", "senex", "--", "sh", "-c", "export XDG_RUNTIME_DIR=/run/user/$(id -u); systemctl --user --failed --no-pager; journalctl --user --no-pager -n 80 -o cat; ls -l ~/.config/containers/systemd; cat ~/.config/containers/systemd/senex-postgres.container"], { timeoutMs: 60_000 });
    return `${r.stdout}\n${r.stderr}`.slice(-12000);
}

/**
 * Seconds from PostgreSQL's start to the last service started, in senex's user journal: the
 * container starts and their health gates, as systemd saw them (image pulls and volume creation
 * before it are not counted). Ansible's window also holds its own task overhead between starts.
 */
async function startWindow(host: TestHost): Promise<number | undefined> {
    const r = await host.exec(["runuser", "-u", "senex", "--", "sh", "-c", "export XDG_RUNTIME_DIR=/run/user/$(id -u); journalctl --user -o short-unix --no-pager | grep -E ' (Starting|Started|Finished) senex-(postgres|redis-broker|redis-cache|migrate|collectstatic|daphne-[0-9]+|celery-worker|celery-beat|nginx)\\.service' || true"], { timeoutMs: 60_000 });
    const lines = r.stdout.trim().split("\n").filter(Boolean);
    const t = (l: string) => Number(l.split(" ")[0]);
    const first = lines.find((l) => / Starting senex-postgres\.service/.test(l));
    const last = [...lines].reverse().find((l) => / (Started|Finished) /.test(l));
    return first && last ? t(last) - t(first) : undefined;
}

async function activeUnits(host: TestHost): Promise<string> {
    const r = await host.exec(["runuser", "-u", "senex", "--", "sh", "-c", `export XDG_RUNTIME_DIR=/run/user/$(id -u); systemctl --user is-active ${UNITS.map((u) => `${u}.service`).join(" ")}`]);
    const states = r.stdout.trim().split("\n");
    const inactive = UNITS.filter((_, i) => states[i] !== "active");
    return inactive.length === 0 ? `all ${UNITS.length} units active` : `NOT active: ${inactive.join(", ")}`;
}

// ---------------------------------------------------------------------------------------------
// the Ansible side: its own trixie chroot, run in this machine's network namespace

function ansibleRoot(): string {
    const link = path.join(cacheRoot(), "trixie-ansible-current");
    try {
        return fs.realpathSync(link);
    } catch {
        throw new Error(`${link} missing: run bash bench/converge/prepare.sh (bash bench/run.sh converge does)`);
    }
}

/**
 * Runs argv inside the Ansible chroot: own mount and PID namespaces (fresh /proc, /dev/shm for
 * Python's multiprocessing, private /tmp), this machine's network. When argv's first process
 * exits, the PID namespace takes every process it left (ssh ControlPersist masters) with it.
 */
function inChroot(root: string, cwd: string, argv: string[], env: Record<string, string>, timeoutMs: number): Promise<{ code: number; out: string; ms: number }> {
    const enter = `
set -e
root="$1"; cwd="$2"; shift 2
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
exec chroot "$root" /bin/sh -c 'cd "$0" && exec "$@"' "$cwd" "$@"`;
    return new Promise((resolve, reject) => {
        const started = Date.now();
        const child = spawn("/usr/bin/unshare", ["--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--", "/bin/sh", "-c", enter, "senex-ansible", root, cwd, ...argv], {
            env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", LANG: "C.UTF-8", ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
        child.stderr.on("data", (d: Buffer) => (out += d.toString("utf8")));
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        child.once("error", reject);
        child.once("close", (code) => {
            clearTimeout(timer);
            resolve({ code: code ?? 1, out, ms: Date.now() - started });
        });
    });
}

interface AnsibleSetup {
    root: string;
    /** The run directory as seen inside the chroot. */
    inside: string;
    outside: string;
    vaultPass: string;
}

/** Copies the playbook into the chroot and writes the inventory, vars, vault and SSH material. */
async function prepareAnsible(host: TestHost, registry: TestRegistry, acme: AcmeServer, images: Record<string, string>, key: { private: string; public: string }): Promise<AnsibleSetup> {
    const root = ansibleRoot();
    const inside = `/senex-converge/run-${process.pid}`;
    const outside = path.join(root, inside);
    fs.rmSync(outside, { recursive: true, force: true });
    fs.mkdirSync(outside, { recursive: true, mode: 0o700 });
    for (const f of PLAYBOOK_FILES) fs.cpSync(path.join(BENCH_DIR, f), path.join(outside, f), { recursive: true });
    fs.writeFileSync(path.join(outside, "id_ed25519"), key.private, { mode: 0o600 });
    // The host key pinned, as for our side: never trust on first use.
    fs.writeFileSync(path.join(outside, "known_hosts"), `${host.address} ${host.hostKeyPublic}\n`);
    const inv = path.join(outside, "inventory");
    fs.mkdirSync(path.join(inv, "group_vars", "all"), { recursive: true });
    fs.writeFileSync(
        path.join(inv, "hosts.yml"),
        toYaml({
            all: {
                children: {
                    senex: {
                        hosts: {
                            main: {
                                ansible_host: host.address,
                                ansible_ssh_private_key_file: `${inside}/id_ed25519`,
                                ansible_ssh_common_args: `-o UserKnownHostsFile=${inside}/known_hosts -o StrictHostKeyChecking=yes`,
                            },
                        },
                    },
                },
            },
        }),
    );
    fs.writeFileSync(
        path.join(inv, "group_vars", "all", "vars.yml"),
        toYaml({
            domain: DOMAIN,
            host_address: host.address,
            system_packages: SYSTEM_PACKAGES,
            ca_certificates: [registry.caCertPem, acme.caCertPem],
            deploy_public_key: key.public.trim(),
            registry: registry.address,
            registry_username: registry.username,
            registry_password: "{{ vault_registry_password }}",
            images,
            acme_email: `ops@${DOMAIN}`,
            acme_directory_url: acme.directoryUrl,
            celery_concurrency: 4,
        }),
    );
    const rnd = (n: number) => require("crypto").randomBytes(n).toString("hex") as string;
    const fernet = require("crypto").randomBytes(32).toString("base64").replace(/\+/g, "-").replace(/\//g, "_") as string;
    const vault = path.join(inv, "group_vars", "all", "vault.yml");
    fs.writeFileSync(
        vault,
        toYaml({
            vault_secret_key: `django-${rnd(24)}`,
            vault_field_encryption_key: fernet,
            vault_db_password: `db-${rnd(18)}`,
            vault_db_replication_password: `repl-${rnd(18)}`,
            vault_redis_password: `redis-${rnd(18)}`,
            vault_registry_password: registry.password,
        }),
        { mode: 0o600 },
    );
    // Day 3-4 of the seeds: secrets in an Ansible Vault.
    const vaultPass = path.join(outside, ".vault_pass");
    fs.writeFileSync(vaultPass, rnd(16), { mode: 0o600 });
    const enc = await inChroot(root, inside, ["ansible-vault", "encrypt", "--vault-password-file", `${inside}/.vault_pass`, "inventory/group_vars/all/vault.yml"], { ANSIBLE_CONFIG: `${inside}/ansible.cfg` }, 120_000);
    if (enc.code !== 0) throw new Error(`ansible-vault encrypt failed:\n${enc.out}`);
    return { root, inside, outside, vaultPass: `${inside}/.vault_pass` };
}

async function runAnsible(setup: AnsibleSetup, host: TestHost, label: string, extra: string[]): Promise<AnsibleRun> {
    const timingFile = `${setup.inside}/timing-${label}.json`;
    const before = await sshLogins(host);
    sampleLoad();
    const from = loadSamples.length - 1;
    const r = await inChroot(
        setup.root,
        setup.inside,
        ["ansible-playbook", "-i", "inventory/hosts.yml", "--vault-password-file", setup.vaultPass, "playbook.yml", ...extra],
        { ANSIBLE_CONFIG: `${setup.inside}/ansible.cfg`, ANSIBLE_HOME: `${setup.inside}/.ansible`, SENEX_TIMING_FILE: timingFile, ANSIBLE_FORCE_COLOR: "0", ANSIBLE_NOCOLOR: "1" },
        UP_TIMEOUT_MS,
    );
    const logins = (await sshLogins(host)) - before;
    fs.writeFileSync(path.join(setup.outside, `ansible-${label}.log`), r.out);
    let timing: AnsibleTiming = { total_s: 0, plays: [], tasks: [], stats: {} };
    try {
        timing = JSON.parse(fs.readFileSync(path.join(setup.root, timingFile), "utf8")) as AnsibleTiming;
    } catch {
        // the run died before its stats
    }
    return { ms: r.ms, logins, timing, exitCode: r.code, log: r.out, load: loadSince(from) };
}

// ---------------------------------------------------------------------------------------------
// our side

interface PulumiRun extends Timed { exitCode: number; stdout: string; resourceSeconds: Record<string, number>; engineDuration: string }

async function runPulumi(cli: PulumiCli, host: TestHost): Promise<PulumiRun> {
    const before = await sshLogins(host);
    sampleLoad();
    const from = loadSamples.length - 1;
    const t = Date.now();
    const up = await cli.up(STACK, ["--refresh=false"], { timeoutMs: UP_TIMEOUT_MS, allowFailure: true });
    const ms = Date.now() - t;
    const logins = (await sshLogins(host)) - before;
    // "senex-main-services-bootstrap created (95s)"
    const resourceSeconds: Record<string, number> = {};
    for (const m of up.stdout.matchAll(/\s(\S+) (?:created|updated) \((\d+(?:\.\d+)?)s\)/g)) resourceSeconds[m[1]!] = Number(m[2]);
    const engineDuration = /^Duration: (\S+)/m.exec(up.stdout)?.[1] ?? "?";
    return { ms, logins, exitCode: up.exitCode, stdout: `${up.stdout}\n${up.stderr}`, resourceSeconds, engineDuration, load: loadSince(from) };
}

// ---------------------------------------------------------------------------------------------

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}x` : "n/a");

async function main(): Promise<void> {
    const order = process.env.SENEX_CONVERGE_ORDER === "pulumi-first" ? "pulumi-first" : "ansible-first";
    const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), "senex-converge-"));
    let hosts: TestHost[] = [];
    let registry: TestRegistry | undefined;
    let acme: AcmeServer | undefined;
    let setup: AnsibleSetup | undefined;
    let cleaned = false;
    const cleanup = async () => {
        if (cleaned) return;
        cleaned = true;
        await destroyHosts(hosts);
        await acme?.stop().catch(() => undefined);
        await registry?.stop().catch(() => undefined);
        if (setup && !process.env.SENEX_CONVERGE_KEEP) fs.rmSync(setup.outside, { recursive: true, force: true });
        if (!process.env.SENEX_CONVERGE_KEEP) fs.rmSync(tempRoot, { recursive: true, force: true });
    };
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
        process.once(sig, () => {
            console.error(`converge: ${sig}, cleaning up`);
            void cleanup().finally(() => process.exit(130));
        });
    }
    const loadTimer = setInterval(sampleLoad, 5000);
    sampleLoad();
    const loadAtStart = fs.readFileSync("/proc/loadavg", "utf8").trim();
    try {
        const bootstrapKey = bootstrapKeyPair();
        // The Ansible user's own key, made the usual way.
        const keyFile = path.join(tempRoot, "ansible_ed25519");
        const kg = spawnSync("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ansible@bench", "-f", keyFile], { encoding: "utf8" });
        if (kg.status !== 0) throw new Error(`ssh-keygen: ${kg.stderr}`);
        const ansibleKey = { private: fs.readFileSync(keyFile, "utf8"), public: fs.readFileSync(`${keyFile}.pub`, "utf8") };

        let t = Date.now();
        // Two identical hosts: same rootfs, apt proxy, both root keys authorized on both.
        hosts = await startHosts(2, { names: ["cv-ansible", "cv-pulumi"], rootAuthorizedKeys: [bootstrapKey.public, ansibleKey.public.trim()] });
        const [hostA, hostB] = hosts as [TestHost, TestHost];
        for (const h of hosts) allowLowPorts(h);
        registry = await startRegistry();
        // Free ports of its own, so a test suite running at the same time does not get in the way.
        acme = await startAcmeServer({ [DOMAIN]: hostB.address, [`www.${DOMAIN}`]: hostB.address });
        const stack = await createExistingStack(
            { tempRoot, stack: STACK, domain: DOMAIN, phase: 1, hosts: [{ host: hostB, name: "main", roles: ["main"] }], registry, images: PHASE1_IMAGES, acme, extraConfig: { "senex-infra:daphnePerHost": 2 } },
            bootstrapKey,
        );
        // createExistingStack pushed the images; the same references for Ansible (pushImages is idempotent).
        const images = await pushImages(registry, PHASE1_IMAGES);
        setup = await prepareAnsible(hostA, registry, acme, images, ansibleKey);
        console.log(`converge: hosts ${hostA.name} ${hostA.address} (ansible), ${hostB.name} ${hostB.address} (ours); setup ${s(Date.now() - t)}; order ${order}`);

        const doAnsible = async () => {
            console.log("converge: ansible-playbook, first run ...");
            const first = await runAnsible(setup!, hostA, "first", ["-e", "bootstrap_user=root"]);
            if (first.exitCode !== 0) throw new Error(`ansible-playbook first run failed (${first.exitCode}):\n${first.log.slice(-8000)}\n--- host\n${await diagnostics(hostA)}`);
            console.log(`converge: ansible first run ${s(first.ms)}; re-run ...`);
            const rerun = await runAnsible(setup!, hostA, "rerun", []);
            if (rerun.exitCode !== 0) throw new Error(`ansible-playbook re-run failed (${rerun.exitCode}):\n${rerun.log.slice(-8000)}\n--- host\n${await diagnostics(hostA)}`);
            console.log(`converge: ansible re-run ${s(rerun.ms)}`);
            return { first, rerun };
        };
        const doPulumi = async () => {
            console.log("converge: pulumi up, first run ...");
            const first = await runPulumi(stack.cli, hostB);
            if (first.exitCode !== 0) throw new Error(`pulumi up failed (${first.exitCode}):\n${first.stdout.slice(-8000)}\n--- host\n${await diagnostics(hostB)}`);
            console.log(`converge: pulumi up first run ${s(first.ms)}; re-run ...`);
            const rerun = await runPulumi(stack.cli, hostB);
            if (rerun.exitCode !== 0) throw new Error(`pulumi up re-run failed (${rerun.exitCode}):\n${rerun.stdout.slice(-8000)}`);
            console.log(`converge: pulumi up re-run ${s(rerun.ms)}`);
            return { first, rerun };
        };
        let ansible: Awaited<ReturnType<typeof doAnsible>>;
        let ours: Awaited<ReturnType<typeof doPulumi>>;
        if (process.env.SENEX_CONVERGE_ONLY === "ansible") {
            const a = await doAnsible();
            console.log(`${a.first.log}\n${a.rerun.log}\nend state: ${await health(hostA)}, ${await activeUnits(hostA)}; logins ${a.first.logins}/${a.rerun.logins}`);
            return;
        }
        if (order === "ansible-first") {
            ansible = await doAnsible();
            ours = await doPulumi();
        } else {
            ours = await doPulumi();
            ansible = await doAnsible();
        }

        // Both ends in the same state?
        const [healthA, healthB, unitsA, unitsB] = await Promise.all([health(hostA), health(hostB), activeUnits(hostA), activeUnits(hostB)]);
        const [aptA, aptB] = await Promise.all([aptInstalls(hostA), aptInstalls(hostB)]);
        const [loginsA, loginsB] = await Promise.all([loginTimes(hostA), loginTimes(hostB)]);
        clearInterval(loadTimer);
        sampleLoad();

        // --- package installation share (identical work on both sides) ---
        const aptSeconds = (runs: { seconds: number; packages: number }[]) => runs.filter((r) => r.packages > 0).reduce((a, r) => a + r.seconds, 0);
        const pkgTask = ansible.first.timing.tasks.filter((x) => x.tags.includes("packages")).reduce((a, x) => a + x.s, 0);
        const play1 = ansible.first.timing.plays[0]?.s ?? 0;
        const play2 = ansible.first.timing.plays[1]?.s ?? 0;
        const bootstrapS = ours.first.resourceSeconds["senex-main-services-bootstrap"];
        // Host-side fallback: first user-layer login (senex) minus first root login.
        const firstOf = (l: { user: string; us: number }[], user: string) => l.find((x) => x.user === user)?.us;
        const rootB = firstOf(loginsB, "root");
        const senexB = firstOf(loginsB, "senex");
        const bootstrapHostS = rootB && senexB ? (senexB - rootB) / 1e6 : undefined;

        const rows: [string, string, string, string][] = [
            ["first apply (wall)", s(ansible.first.ms), s(ours.first.ms), ratio(ansible.first.ms, ours.first.ms)],
            ["no-op re-run (wall)", s(ansible.rerun.ms), s(ours.rerun.ms), ratio(ansible.rerun.ms, ours.rerun.ms)],
            ["  mean 1-min load during the first apply", ansible.first.load, ours.first.load, ""],
            ["  mean 1-min load during the re-run", ansible.rerun.load, ours.rerun.load, ""],
            ["SSH logins, first apply", String(ansible.first.logins), String(ours.first.logins), ratio(ansible.first.logins, ours.first.logins)],
            ["SSH logins, no-op re-run", String(ansible.rerun.logins), String(ours.rerun.logins), ours.rerun.logins === 0 ? "n/a (ours 0)" : ratio(ansible.rerun.logins, ours.rerun.logins)],
        ];
        const bootOurs = bootstrapS ?? bootstrapHostS;
        if (bootOurs !== undefined) {
            const oursRest = ours.first.ms - bootOurs * 1000;
            const ansibleRest = ansible.first.ms - play1 * 1000;
            rows.push(["system prep (ansible play 1 / our HostBootstrap)", s(play1 * 1000), s(bootOurs * 1000), ratio(play1, bootOurs)]);
            rows.push(["first apply excluding system prep", s(ansibleRest), s(oursRest), ratio(ansibleRest, oursRest)]);
        }
        const aptA_s = aptSeconds(aptA);
        const aptB_s = aptSeconds(aptB);
        rows.push(["apt-get install on the host (history.log)", `${aptA_s.toFixed(0)} s`, `${aptB_s.toFixed(0)} s`, ratio(aptA_s, aptB_s)]);
        rows.push(["first apply excluding apt-get install", s(ansible.first.ms - aptA_s * 1000), s(ours.first.ms - aptB_s * 1000), ratio(ansible.first.ms - aptA_s * 1000, ours.first.ms - aptB_s * 1000)]);

        // Identical host work on both sides, measured on the hosts themselves: the package install
        // and the services' start (container starts gated by health checks). What is left is each
        // tool's own cost (plus the image pulls, which both do once per image).
        const [winA, winB] = await Promise.all([startWindow(hostA), startWindow(hostB)]);
        if (winA !== undefined && winB !== undefined) {
            const restA = ansible.first.ms - (aptA_s + winA) * 1000;
            const restB = ours.first.ms - (aptB_s + winB) * 1000;
            rows.push(["services' start (postgres start to last started)", s(winA * 1000), s(winB * 1000), ratio(winA, winB)]);
            rows.push(["first apply excluding apt install + services' start", s(restA), s(restB), ratio(restA, restB)]);
        }
        const w = [Math.max(...rows.map((r) => r[0].length)), 12, 12, 10];
        const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[0]!) : c.padStart(w[i]!))).join("  ");
        console.log("");
        console.log(line(["", "ansible", "ours", "ansible/ours"]));
        for (const r of rows) console.log(line(r));
        console.log("");
        console.log(`goal: ours >= 5x faster on the first apply: ${ansible.first.ms / ours.first.ms >= 5 ? "MET" : "NOT met"} (${ratio(ansible.first.ms, ours.first.ms)}); excluding the package install: ${ratio(ansible.first.ms - aptA_s * 1000, ours.first.ms - aptB_s * 1000)}`);
        console.log(`ansible first run: play 1 (system) ${play1.toFixed(1)} s, of which the apt task ${pkgTask.toFixed(1)} s; play 2 (services) ${play2.toFixed(1)} s; ${ansible.first.timing.tasks.length} tasks; recap ${JSON.stringify(ansible.first.timing.stats)}`);
        console.log(`ansible re-run: ${ansible.rerun.timing.tasks.length} tasks, recap ${JSON.stringify(ansible.rerun.timing.stats)}`);
        const slow = [...ansible.first.timing.tasks].sort((a, b) => b.s - a.s).slice(0, 8);
        console.log(`ansible slowest tasks (first run): ${slow.map((x) => `${x.name} ${x.s.toFixed(1)} s`).join("; ")}`);
        const slowRerun = [...ansible.rerun.timing.tasks].sort((a, b) => b.s - a.s).slice(0, 5);
        console.log(`ansible slowest tasks (re-run): ${slowRerun.map((x) => `${x.name} ${x.s.toFixed(1)} s`).join("; ")}`);
        console.log(`ours, per resource (pulumi up): ${Object.entries(ours.first.resourceSeconds).map(([k, v]) => `${k} ${v} s`).join(", ") || "(no durations printed)"}; bootstrap from host logins: ${bootstrapHostS?.toFixed(1) ?? "?"} s`);
        console.log(`services' start (PostgreSQL's start to the last service started, senex's journal): ansible host ${winA?.toFixed(1) ?? "?"} s, our host ${winB?.toFixed(1) ?? "?"} s`);
        const executions = (t: AnsibleTiming) => t.tasks.reduce((a, x) => a + ((x.results?.item_ok ?? 0) + (x.results?.item_skipped ?? 0) || (x.results?.ok ?? 0) + (x.results?.skipped ?? 0)), 0);
        console.log(`ansible module executions over its SSH connections: first run ${executions(ansible.first.timing)}, re-run ${executions(ansible.rerun.timing)}`);
        console.log(`pulumi's own "Duration" (update inside the engine) vs wall: first ${ours.first.engineDuration} / ${s(ours.first.ms)}, re-run ${ours.rerun.engineDuration} / ${s(ours.rerun.ms)}`);
        const loginSeq = (l: { user: string; us: number }[]) => l.map((x) => x.user).join(",");
        console.log(`SSH logins by user: ansible host ${loginSeq(loginsA)}; our host ${loginSeq(loginsB)}`);
        console.log(`apt installs: ansible host ${JSON.stringify(aptA)}; our host ${JSON.stringify(aptB)}`);
        console.log(`end state: ansible host: /health/ ${healthA}, ${unitsA}; our host: /health/ ${healthB}, ${unitsB}`);
        const avg = loadSamples.reduce((a, b) => a + b, 0) / loadSamples.length;
        console.log(`machine load (1-min avg, ${os.cpus().length} cores): at start ${loadAtStart.split(" ").slice(0, 3).join(" ")}; during the run min ${Math.min(...loadSamples).toFixed(2)} / mean ${avg.toFixed(2)} / max ${Math.max(...loadSamples).toFixed(2)} (${loadSamples.length} samples)`);
        if (!/nginx 200, daphne 200\/200/.test(healthA) || !/nginx 200, daphne 200\/200/.test(healthB)) throw new Error("a host does not serve /health/ 200 at the end");
        if (process.env.SENEX_CONVERGE_VERBOSE) {
            console.log(`--- pulumi up (first) ---\n${ours.first.stdout}`);
            console.log(`--- pulumi up (re-run) ---\n${ours.rerun.stdout}`);
            console.log(`--- ansible (first) ---\n${ansible.first.log}`);
            console.log(`--- ansible (re-run) ---\n${ansible.rerun.log}`);
        }
    } finally {
        clearInterval(loadTimer);
        await cleanup();
    }
}

main().catch((e) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
});
