/**
 * Test-host harness: Debian trixie hosts booted with systemd-nspawn on a private bridge, shaped
 * like fresh cloud servers (see /work/shared/TESTHOSTS.md for what was measured and why each flag
 * is there). `test/hosts/prepare.sh` builds the rootfs; this module boots, drives and removes hosts.
 *
 * Hosts are driven by PID, cgroup and `nsenter` (no machined here). Everything a host leaves
 * behind — its rootfs copy, cgroups, veth, its address lease — is recorded under STATE_DIR with
 * the owning process, so `cleanupStale()` can remove what a crashed run left, and the shared bits
 * (bridge, apt proxy) are taken down when the last host of any process is gone.
 */
import { spawn, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { cacheRoot } from "../../support/cache";
import type { ToolRun } from "../../support/trixie";

export type { ToolRun } from "../../support/trixie";

/** The bridge every host's veth joins; the gateway address lives on it. */
export const BRIDGE = "senexbr0";
/** First three octets of the hosts' /24. */
const SUBNET = "10.213.7";
export const PREFIX_LENGTH = 24;
/** This machine's address on the bridge: the apt proxy (and a local registry) listen here. */
export const GATEWAY = `${SUBNET}.1`;
const APT_PROXY_PORT = 3142;
/** apt proxy for hosts (they have no route off this machine): use as cloud-init `apt: {proxy: …}`. */
export const APT_PROXY_URL = `http://${GATEWAY}:${APT_PROXY_PORT}`;
/** Host addresses are leased from this range (.2–.9 stay free for services on the gateway side). */
const FIRST_OCTET = 10;
const LAST_OCTET = 250;

/** Where hosts' disks, state files and address leases live (not in the clone; big). */
export const STATE_DIR = process.env.SENEX_HOSTS_DIR || "/var/tmp/senex-hosts";
const CGROUP_TREE = "senex-hosts";
/**
 * apt-cacher-ng's config, cache and logs (made by prepare.sh). Not under ~/.cache: the proxy runs
 * as its own user, which cannot enter /root.
 */
const APT_PROXY_DIR = process.env.SENEX_APT_PROXY_DIR || "/var/cache/senex-infra/apt-cacher-ng";
const PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const PREPARE = "test/hosts/prepare.sh";

/** A NoCloud seed: what a cloud would hand the server's cloud-init. */
export interface CloudInitSeed {
  /** user-data, e.g. "#cloud-config\n…" — the project's own rendered user-data. */
  userData: string;
  /** meta-data; default: a fresh `instance-id` and `local-hostname` = the host's name. */
  metaData?: string;
  /** network-config (v2); default: the host's static address on `host0`, no default route. */
  networkConfig?: string;
}

/** What a host is called and where it lives, known before it boots (seeds are built from it). */
export interface HostAddressing {
  /** Hostname inside the host, e.g. `main` or `web-1`. */
  name: string;
  /** The host's private address on BRIDGE. */
  address: string;
  gateway: string;
  prefixLength: number;
  /** apt proxy URL reachable from the host. */
  aptProxy: string;
}

export interface StartHostsOptions {
  /** Host names (hostnames inside); default `host-1` … `host-n`. */
  names?: string[];
  /**
   * Boot from a NoCloud seed like a cloud server. Without a seed, cloud-init is disabled and the
   * harness itself gives the host its address and an ED25519 host key (an `existing` server).
   */
  seed?: (host: HostAddressing) => CloudInitSeed;
  /** Unseeded hosts only: keys for root's authorized_keys. */
  rootAuthorizedKeys?: string[];
  /**
   * Unseeded hosts only: point apt at APT_PROXY_URL (default true: the proxy stands in for the
   * internet access a real server has). Seeded hosts get it from their user-data.
   */
  aptProxy?: boolean;
  /** Wait until sshd answers on port 22 (default true). */
  waitForSsh?: boolean;
  /** Bound for each host's boot to SSH (default 180 s: under a loaded 2-core CI machine 30 s were seen). */
  bootTimeoutMs?: number;
}

export interface ExecOptions {
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
}

/**
 * cgroups holding everything of one host (nspawn and the container); cgroup.kill cuts power.
 * These are the host's own directories; each boot runs in a fresh `boot-N` directory below them
 * (see `TestHost.boot`), so cleanup can kill and remove a host's every boot at once.
 */
export interface HostCgroups {
  /** cgroup2 directory (has cgroup.kill). */
  unified: string;
  /** the v1 name=systemd directory on hybrid machines (this CI's kind), else undefined. */
  systemd?: string;
}

interface HostState {
  name: string;
  machine: string;
  address: string;
  pid: number;
  ownerPid: number;
  ownerStart: string;
  root: string;
  cgroups: HostCgroups;
}

const liveHosts = new Set<TestHost>();

/** One running (or stopped) test host. Its disk survives stop/kill/restart until `destroy()`. */
export class TestHost implements HostAddressing {
  readonly gateway = GATEWAY;
  readonly prefixLength = PREFIX_LENGTH;
  readonly aptProxy = APT_PROXY_URL;
  /** PID of systemd-nspawn (outside view); 0 while stopped. */
  pid = 0;
  /** The ED25519 host key the host presents (`ssh-ed25519 AAAA…`), pinned by tests. */
  hostKeyPublic = "";
  private exited: Promise<void> = Promise.resolve();
  private leader = 0;
  /** The cgroups of the current (or last) boot: fresh `boot-N` directories below `cgroups`. */
  private bootCgroups: HostCgroups | undefined;
  private boots = 0;

  constructor(
    /** Hostname inside the host. */
    readonly name: string,
    /** Private address on BRIDGE. */
    readonly address: string,
    /** nspawn machine name (`sx<octet>`); unique across concurrent processes; names the veth. */
    readonly machine: string,
    /** Directory of the host's rootfs on this machine. */
    readonly root: string,
    readonly cgroups: HostCgroups,
    private readonly dir: string,
  ) {}

  /** True while systemd-nspawn runs. */
  get running(): boolean {
    return this.pid !== 0 && processAlive(this.pid);
  }

  /** Path of the file receiving the host's console output. */
  get consoleLog(): string {
    return path.join(this.dir, "console.log");
  }

  /** Boots the host (its disk as it is). Resolves once nspawn runs; see waitForSsh. */
  async boot(): Promise<void> {
    if (this.running) throw new Error(`host ${this.name} is already running (pid ${this.pid})`);
    // Every boot starts in cgroups no earlier boot used: how a kernel finishes a cgroup.kill on
    // the old directories (and when it lets them go) must not reach the new boot. Seen on kernel
    // 6.18 with hybrid cgroups: a restart into the killed directories had its sshd and cron
    // SIGKILLed in a loop.
    const fresh = (dir: string) => {
      let d: string;
      do d = path.join(dir, `boot-${++this.boots}`);
      while (fs.existsSync(d));
      return d;
    };
    const unified = fresh(this.cgroups.unified);
    const suffix = path.basename(unified);
    this.bootCgroups = this.cgroups.systemd ? { unified, systemd: path.join(this.cgroups.systemd, suffix) } : { unified };
    for (const dir of [this.bootCgroups.unified, this.bootCgroups.systemd]) if (dir) fs.mkdirSync(dir, { recursive: true });
    const log = fs.openSync(this.consoleLog, "a");
    // The launching shell moves itself into the host's own cgroups first, so that everything the
    // host runs stays below them and cgroup.kill reaches all of it.
    const child = spawn("/bin/sh", ["-c", 'for g in "$@"; do echo $$ > "$g/cgroup.procs" || exit 97; done; exec "$SENEX_NSPAWN" -b -D "$SENEX_ROOT" -M "$SENEX_MACHINE" --hostname="$SENEX_HOSTNAME" --register=no --keep-unit --network-bridge="$SENEX_BRIDGE" --console=read-only --system-call-filter=@keyring',
      "senex-host", ...[this.bootCgroups.unified, this.bootCgroups.systemd].filter((d): d is string => !!d)], {
      detached: true,
      stdio: ["ignore", log, log],
      env: {
        PATH: PATH_ENV,
        // without it podman inside sees cgroup v1 on this hybrid machine
        SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: "1",
        SENEX_NSPAWN: "/usr/bin/systemd-nspawn",
        SENEX_ROOT: this.root,
        SENEX_MACHINE: this.machine,
        SENEX_HOSTNAME: this.name,
        SENEX_BRIDGE: BRIDGE,
      },
    });
    fs.closeSync(log);
    child.unref();
    this.leader = 0;
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    if (child.pid === undefined) throw new Error(`host ${this.name}: could not spawn systemd-nspawn`);
    this.pid = child.pid;
    writeState(this);
  }

  /** Waits until sshd on the host's address (`port`: a stack's ssh.port) sends its banner; fails early if the host died. */
  async waitForSsh(timeoutMs = 90_000, port = 22): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`host ${this.name} exited while booting:\n${this.consoleTail()}`);
      if (await sshBanner(this.address, 1000, port)) {
        if (!this.hostKeyPublic) this.hostKeyPublic = readHostKey(this.root);
        return;
      }
      await sleep(100);
    }
    throw new Error(`host ${this.name} (${this.address}): no SSH banner on port ${port} within ${timeoutMs} ms:\n${this.consoleTail()}`);
  }

  /** The host's PID 1 (systemd) as seen from this machine: the target for nsenter. */
  leaderPid(): number {
    if (this.leader && processAlive(this.leader)) return this.leader;
    if (!this.running) throw new Error(`host ${this.name} is not running`);
    const found = findContainerInit(this.pid);
    if (!found) throw new Error(`host ${this.name}: container init of nspawn pid ${this.pid} not found`);
    this.leader = found;
    return found;
  }

  /** Runs argv inside the host (all its namespaces, as root) — for test assertions, not deployment. */
  exec(argv: string[], opts: ExecOptions = {}): Promise<ToolRun> {
    const leader = this.leaderPid();
    // Join a cgroup inside the host's tree first: from outside it, logind and friends cannot map
    // the caller to a unit (`loginctl enable-linger` fails with "Protocol driver not attached").
    // stdin goes through `cat` so the command reads a real pipe, as over SSH: node gives a
    // socketpair, and e.g. `podman secret create NAME -` refuses anything but a FIFO.
    const args = ["-c", 'echo $$ > "$0" && cat | "$@"', this.execCgroupProcs(leader),
      "/usr/bin/nsenter", "-t", String(leader), "-a", "-r", "-w", "--", ...argv];
    return runProcess("/bin/sh", args, {
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? 60_000,
      env: { PATH: PATH_ENV, HOME: "/root", LANG: "C.UTF-8", TERM: "dumb", ...opts.env },
    });
  }

  /** cgroup.procs of `senex-exec.scope` beside the host's init.scope (made on first use). */
  private execCgroupProcs(leader: number): string {
    const line = fs.readFileSync(`/proc/${leader}/cgroup`, "utf8").split("\n").find((l) => l.startsWith("0::"));
    if (!line) throw new Error(`host ${this.name}: no cgroup2 path for its init (pid ${leader})`);
    const base = this.cgroups.unified.slice(0, this.cgroups.unified.indexOf(`/${CGROUP_TREE}/`));
    const dir = path.join(base, path.dirname(line.slice(3)), "senex-exec.scope");
    fs.mkdirSync(dir, { recursive: true });
    return path.join(dir, "cgroup.procs");
  }

  /** Clean poweroff (SIGTERM to nspawn), bounded; falls back to kill() after timeoutMs. */
  async stop(timeoutMs = 60_000): Promise<void> {
    if (!this.running) return this.afterExit();
    process.kill(this.pid, "SIGTERM");
    if (!(await this.waitExit(timeoutMs))) {
      await this.kill();
      throw new Error(`host ${this.name} did not power off within ${timeoutMs} ms (killed)`);
    }
    return this.afterExit();
  }

  /** Power cut: cgroup.kill on the host's cgroup (nspawn and everything inside). */
  async kill(): Promise<void> {
    if (this.running) {
      killCgroup((this.bootCgroups ?? this.cgroups).unified);
      if (!(await this.waitExit(10_000))) throw new Error(`host ${this.name}: still running after cgroup.kill`);
    }
    return this.afterExit();
  }

  /** Stops (or, with `hard`, kills) and boots again from the same disk; waits for SSH. */
  async restart(opts: { hard?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (opts.hard) await this.kill();
    else await this.stop();
    await this.boot();
    await this.waitForSsh(opts.timeoutMs);
  }

  /** Proportional set size of everything running for this host (nspawn + container), KiB. */
  memoryPssKiB(): number {
    let total = 0;
    for (const pid of cgroupPids(this.cgroups.unified)) {
      try {
        const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
        if (m) total += Number(m[1]);
      } catch {
        // the process ended while we counted
      }
    }
    return total;
  }

  /** Kills the host and removes its disk, cgroups and address lease. */
  async destroy(): Promise<void> {
    await this.kill().catch(() => undefined);
    // Out of sight first (one rename under the lock), so another process's cleanupStale never
    // finds a half-removed host without its state file; then the disk, asynchronously (seconds
    // per host under load), so hosts go in parallel.
    const trash = withLock(() => moveToTrash(this.dir));
    if (trash) await runProcess("/bin/rm", ["-rf", "--one-file-system", trash], { timeoutMs: 300_000 });
    removeHostLeftovers(this.machine, this.dir, this.cgroups);
    liveHosts.delete(this);
    withLock(() => {
      fs.rmSync(leasePath(octetOf(this.address)), { force: true });
      infraDownIfUnused();
    });
  }

  /** Synchronous power cut + removal, for process-exit handlers. */
  destroySync(): void {
    if (this.running) killCgroup(this.cgroups.unified);
    waitSync(() => !this.running, 5000);
    removeHostLeftovers(this.machine, this.dir, this.cgroups);
    liveHosts.delete(this);
    fs.rmSync(leasePath(octetOf(this.address)), { force: true });
  }

  consoleTail(lines = 30): string {
    try {
      return fs.readFileSync(this.consoleLog, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "(no console log)";
    }
  }

  private async waitExit(timeoutMs: number): Promise<boolean> {
    if (await raceTimeout(this.exited, timeoutMs)) return true;
    return !this.running;
  }

  private afterExit(): void {
    this.pid = 0;
    this.leader = 0;
    // The host's cgroup directories go if the kernel has let go of them already; whatever a
    // power cut leaves for a moment is removed with the host (destroy, cleanupStale), and the
    // next boot never reuses it.
    removeCgroupTree(this.cgroups.unified);
    if (this.cgroups.systemd) removeCgroupTree(this.cgroups.systemd);
    spawnSync("/sbin/ip", ["link", "del", `vb-${this.machine}`], { stdio: "ignore" });
    writeState(this);
  }
}

/**
 * Boots n hosts in parallel on BRIDGE, each from its own copy of the cached rootfs, with its own
 * address, machine-id and ED25519 host key. Starts the bridge and apt proxy if needed.
 */
export async function startHosts(n: number, opts: StartHostsOptions = {}): Promise<TestHost[]> {
  const names = opts.names ?? Array.from({ length: n }, (_, i) => `host-${i + 1}`);
  if (names.length !== n) throw new Error(`startHosts: ${n} hosts but ${names.length} \`names\``);
  for (const name of names) {
    if (!/^[a-z][a-z0-9-]{0,62}$/.test(name)) throw new Error(`startHosts: \`${name}\` is not a valid hostname`);
  }
  const tarball = rootfsTarball();
  const hosts: TestHost[] = [];
  try {
    withLock(() => {
      infraUp();
      for (const name of names) hosts.push(allocateHost(name));
    });
    for (const host of hosts) liveHosts.add(host);
    await Promise.all(hosts.map(async (host) => {
      await unpack(tarball, host.root);
      customize(host, opts);
      await host.boot();
    }));
    if (opts.waitForSsh ?? true) await Promise.all(hosts.map((h) => h.waitForSsh(opts.bootTimeoutMs ?? 180_000)));
    return hosts;
  } catch (e) {
    await destroyHosts(hosts);
    withLock(infraDownIfUnused);
    throw e;
  }
}

/** Destroys the given hosts (in parallel); never throws. */
export async function destroyHosts(hosts: TestHost[]): Promise<void> {
  await Promise.all(hosts.map((h) => h.destroy().catch(() => undefined)));
}

/** Destroys every host this process started: call it from `afterAll`. */
export async function destroyAll(): Promise<void> {
  await destroyHosts([...liveHosts]);
}

/**
 * Removes what crashed runs left: hosts whose owning process is gone (killed, with their
 * cgroups, veths, disks and leases), then the bridge and apt proxy if no live host remains.
 * Returns what it removed.
 */
export async function cleanupStale(): Promise<string[]> {
  const removed: string[] = [];
  withLock(() => {
    const hostsDir = path.join(STATE_DIR, "hosts");
    for (const machine of listDir(hostsDir)) {
      const dir = path.join(hostsDir, machine);
      const state = readJson<HostState>(path.join(dir, "state.json"));
      if (state && ownerAlive(state.ownerPid, state.ownerStart)) continue;
      const cgroups = state?.cgroups ?? cgroupPaths(machine);
      if (state?.pid && processAlive(state.pid) && cmdline(state.pid).includes(dir)) {
        killCgroup(cgroups.unified);
        waitSync(() => !processAlive(state.pid), 5000);
      }
      removeHostLeftovers(machine, dir, cgroups);
      if (state) fs.rmSync(leasePath(octetOf(state.address)), { force: true });
      removed.push(`host ${state?.name ?? "?"} (${machine})`);
    }
    for (const lease of listDir(path.join(STATE_DIR, "leases"))) {
      const l = readJson<{ ownerPid: number; ownerStart: string; machine: string; pid?: number; cmdMatch?: string }>(path.join(STATE_DIR, "leases", lease));
      if (!l || (!ownerAlive(l.ownerPid, l.ownerStart) && !fs.existsSync(path.join(hostsDir, l.machine)))) {
        if (l?.pid && l.cmdMatch && processAlive(l.pid) && cmdline(l.pid).includes(l.cmdMatch)) {
          process.kill(l.pid, "SIGKILL");
          removed.push(`${l.machine} pid ${l.pid}`);
        }
        fs.rmSync(path.join(STATE_DIR, "leases", lease), { force: true });
        removed.push(`lease ${lease}`);
      }
    }
    // disks of hosts whose destroy was cut short (moved aside, never reported: nothing of them runs)
    for (const t of listDir(path.join(STATE_DIR, "trash"))) {
      const owner = /^(sx\d+)-/.exec(t)?.[1];
      if (owner && !fs.existsSync(path.join(hostsDir, owner))) spawnSync("/bin/rm", ["-rf", "--one-file-system", path.join(STATE_DIR, "trash", t)], { stdio: "ignore" });
    }
    // cgroups of hosts whose state directory is already gone
    for (const base of cgroupBases()) {
      for (const machine of listDir(base)) {
        if (!/^sx\d+$/.test(machine) || fs.existsSync(path.join(hostsDir, machine))) continue;
        const dir = path.join(base, machine);
        if (fs.existsSync(path.join(dir, "cgroup.kill"))) killCgroup(dir);
        waitSync(() => cgroupPids(dir).length === 0, 5000);
        removeCgroupTree(dir);
        removed.push(`cgroup ${dir}`);
      }
    }
    removed.push(...infraDownIfUnused());
  });
  return removed;
}

/**
 * Brings the bridge (and apt proxy) up for a service of this process that listens on GATEWAY
 * (e.g. the test registry), and records it: the bridge stays while it runs, and cleanupStale()
 * ends it (by `pid`, if its command line still contains `cmdMatch`) after a crashed run.
 */
export function registerGatewayService(name: string, pid: number, cmdMatch: string): void {
  withLock(() => {
    infraUp();
    fs.mkdirSync(path.join(STATE_DIR, "leases"), { recursive: true });
    fs.writeFileSync(path.join(STATE_DIR, "leases", `service-${name}`),
      JSON.stringify({ ownerPid: process.pid, ownerStart: startTime(process.pid), machine: `service-${name}`, name, pid, cmdMatch }));
  });
}

/** Forgets a service registered with registerGatewayService (after stopping it). */
export function unregisterGatewayService(name: string): void {
  withLock(() => {
    fs.rmSync(path.join(STATE_DIR, "leases", `service-${name}`), { force: true });
    infraDownIfUnused();
  });
}

/** The first port from `from` that nobody listens on at GATEWAY (another suite's registry, say). */
export async function freeGatewayPort(from: number): Promise<number> {
  for (let port = from; port < from + 100; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once("error", () => resolve(false));
      server.listen(port, GATEWAY, () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port on ${GATEWAY} in ${from}-${from + 99}`);
}

/** Brings the bridge and apt proxy up (idempotent); they go down with the last host or service. */
export function ensureNetwork(): void {
  withLock(infraUp);
}

// ---- per-host preparation ------------------------------------------------------------------

function allocateHost(name: string): TestHost {
  fs.mkdirSync(path.join(STATE_DIR, "leases"), { recursive: true });
  for (let octet = FIRST_OCTET; octet <= LAST_OCTET; octet++) {
    const machine = `sx${octet}`;
    try {
      fs.writeFileSync(leasePath(octet), JSON.stringify({ ownerPid: process.pid, ownerStart: startTime(process.pid), machine, name }), { flag: "wx" });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw e;
    }
    const dir = path.join(STATE_DIR, "hosts", machine);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const host = new TestHost(name, `${SUBNET}.${octet}`, machine, path.join(dir, "root"), cgroupPaths(machine), dir);
    writeState(host);
    return host;
  }
  throw new Error(`no free address in ${SUBNET}.${FIRST_OCTET}-${LAST_OCTET}: run cleanupStale()`);
}

async function unpack(tarball: string, root: string): Promise<void> {
  fs.mkdirSync(root, { recursive: true });
  const r = await runProcess("/bin/tar", ["--zstd", "-xpf", tarball, "-C", root, "--xattrs", "--xattrs-include=*", "--numeric-owner"], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`unpacking ${tarball} failed: ${r.stderr}`);
}

/** Writes what makes this copy of the image one particular host. */
function customize(host: TestHost, opts: StartHostsOptions): void {
  const at = (p: string) => path.join(host.root, p);
  const write = (p: string, content: string, mode = 0o644) => {
    fs.mkdirSync(path.dirname(at(p)), { recursive: true });
    fs.writeFileSync(at(p), content, { mode });
    fs.chmodSync(at(p), mode);
  };
  write("etc/hostname", `${host.name}\n`);
  write("etc/hosts", `127.0.0.1\tlocalhost\n127.0.1.1\t${host.name}\n::1\tlocalhost ip6-localhost ip6-loopback\n`);
  write("etc/machine-id", ""); // systemd makes a fresh one at boot
  if (opts.seed) {
    const seed = opts.seed({ name: host.name, address: host.address, gateway: host.gateway, prefixLength: host.prefixLength, aptProxy: host.aptProxy });
    const meta = seed.metaData ?? toYaml({ "instance-id": `${host.machine}-${randomBytes(4).toString("hex")}`, "local-hostname": host.name });
    const network = seed.networkConfig ?? toYaml({ network: { version: 2, ethernets: { host0: { addresses: [`${host.address}/${PREFIX_LENGTH}`] } } } });
    write("var/lib/cloud/seed/nocloud/user-data", seed.userData, 0o600);
    write("var/lib/cloud/seed/nocloud/meta-data", meta, 0o600);
    write("var/lib/cloud/seed/nocloud/network-config", network, 0o600);
    host.hostKeyPublic = seededHostKey(seed.userData);
  } else {
    // An `existing` server: no cloud-init run, our address and host key.
    write("etc/cloud/cloud-init.disabled", "");
    write("etc/systemd/network/10-host0.network",
      `[Match]\nName=host0\n\n[Network]\nAddress=${host.address}/${PREFIX_LENGTH}\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n`);
    const keyFile = at("etc/ssh/ssh_host_ed25519_key");
    fs.rmSync(keyFile, { force: true });
    fs.rmSync(`${keyFile}.pub`, { force: true });
    const r = spawnSync("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `root@${host.name}`, "-f", keyFile], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
    host.hostKeyPublic = readHostKey(host.root);
    if (opts.rootAuthorizedKeys?.length) write("root/.ssh/authorized_keys", opts.rootAuthorizedKeys.join("\n") + "\n", 0o600);
    if (opts.aptProxy ?? true) write("etc/apt/apt.conf.d/90senex-test-proxy", `Acquire::http::Proxy "${APT_PROXY_URL}";\n`);
  }
}

/** The ED25519 public host key a seed's user-data hands cloud-init, if any. */
function seededHostKey(userData: string): string {
  try {
    const doc = parseYaml(userData) as { ssh_keys?: Record<string, unknown> } | null;
    const key = doc?.ssh_keys?.ed25519_public;
    return typeof key === "string" ? key.trim().split(/\s+/).slice(0, 2).join(" ") : "";
  } catch {
    return "";
  }
}

function readHostKey(root: string): string {
  try {
    return fs.readFileSync(path.join(root, "etc/ssh/ssh_host_ed25519_key.pub"), "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  } catch {
    return "";
  }
}

function rootfsTarball(): string {
  const link = path.join(cacheRoot(), "trixie-host-current.tar.zst");
  try {
    return fs.realpathSync(link);
  } catch {
    throw new Error(`test-host rootfs not found at ${link}: run \`bash ${PREPARE}\` first (npm run test:hosts does)`);
  }
}

// ---- shared infrastructure: bridge + apt proxy ---------------------------------------------

interface InfraState { aptProxyPid: number; }

function infraUp(): void {
  if (spawnSync("/sbin/ip", ["link", "show", BRIDGE], { stdio: "ignore" }).status !== 0) {
    ip("link", "add", BRIDGE, "type", "bridge");
    ip("addr", "add", `${GATEWAY}/${PREFIX_LENGTH}`, "dev", BRIDGE);
    ip("link", "set", BRIDGE, "up");
  }
  const statePath = path.join(STATE_DIR, "infra.json");
  const state = readJson<InfraState>(statePath);
  if (state && processAlive(state.aptProxyPid) && cmdline(state.aptProxyPid).includes("apt-cacher-ng")) return;
  const acng = APT_PROXY_DIR;
  if (!fs.existsSync(path.join(acng, "conf"))) throw new Error(`apt proxy config missing at ${acng}: run \`bash ${PREPARE}\``);
  const log = fs.openSync(path.join(acng, "log", "daemon.out"), "a");
  // As its own user (it refuses to run as root); bound to the gateway only.
  const child = spawn("/usr/bin/setpriv", ["--reuid=apt-cacher-ng", "--regid=apt-cacher-ng", "--init-groups", "--",
    "/usr/sbin/apt-cacher-ng", "-c", path.join(acng, "conf"), "ForeGround=1", `BindAddress=${GATEWAY}`, `Port=${APT_PROXY_PORT}`,
    `CacheDir=${path.join(acng, "cache")}`, `LogDir=${path.join(acng, "log")}`, "PidFile=", "SocketPath="],
  { detached: true, stdio: ["ignore", log, log] });
  fs.closeSync(log);
  child.unref();
  if (!child.pid) throw new Error("could not start apt-cacher-ng");
  fs.writeFileSync(statePath, JSON.stringify({ aptProxyPid: child.pid } satisfies InfraState));
  if (!waitSync(() => tcpOpenSync(GATEWAY, APT_PROXY_PORT), 10_000)) {
    throw new Error(`apt-cacher-ng did not listen on ${GATEWAY}:${APT_PROXY_PORT}; see ${acng}/log`);
  }
}

/** Takes the bridge and apt proxy down when no host of any process holds a lease. */
function infraDownIfUnused(): string[] {
  if (listDir(path.join(STATE_DIR, "leases")).length > 0) return [];
  const removed: string[] = [];
  const statePath = path.join(STATE_DIR, "infra.json");
  const state = readJson<InfraState>(statePath);
  if (state && processAlive(state.aptProxyPid) && cmdline(state.aptProxyPid).includes("apt-cacher-ng")) {
    process.kill(state.aptProxyPid, "SIGTERM");
    if (!waitSync(() => !processAlive(state.aptProxyPid), 5000)) process.kill(state.aptProxyPid, "SIGKILL");
    removed.push(`apt-cacher-ng pid ${state.aptProxyPid}`);
  }
  fs.rmSync(statePath, { force: true });
  if (spawnSync("/sbin/ip", ["link", "del", BRIDGE], { stdio: "ignore" }).status === 0) removed.push(`bridge ${BRIDGE}`);
  return removed;
}

function ip(...args: string[]): void {
  const r = spawnSync("/sbin/ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
}

// ---- cgroups and processes ------------------------------------------------------------------

/** cgroup roots: hybrid (this CI: cgroup2 at unified/ + v1 name=systemd) or pure cgroup2. */
function cgroupBases(): string[] {
  if (fs.existsSync("/sys/fs/cgroup/unified/cgroup.procs")) {
    return [`/sys/fs/cgroup/unified/${CGROUP_TREE}`, `/sys/fs/cgroup/systemd/${CGROUP_TREE}`];
  }
  return [`/sys/fs/cgroup/${CGROUP_TREE}`];
}

function cgroupPaths(machine: string): HostCgroups {
  const [unified, systemd] = cgroupBases().map((b) => path.join(b, machine));
  return systemd ? { unified, systemd } : { unified };
}

function killCgroup(dir: string): void {
  try {
    fs.writeFileSync(path.join(dir, "cgroup.kill"), "1");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

/** PIDs in a cgroup and all cgroups below it. */
function cgroupPids(dir: string): number[] {
  const pids: number[] = [];
  const walk = (d: string) => {
    try {
      for (const line of fs.readFileSync(path.join(d, "cgroup.procs"), "utf8").split("\n")) if (line) pids.push(Number(line));
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    } catch {
      // gone meanwhile
    }
  };
  walk(dir);
  return pids;
}

/** rmdir depth-first (cgroup directories cannot be removed while they have children). */
function removeCgroupTree(dir: string): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
  try {
    fs.rmdirSync(dir);
  } catch {
    // still has processes (e.g. a zombie being reaped); cleanupStale retries
  }
}

/** Renames a host's directory into STATE_DIR/trash (same file system); undefined if it is gone. */
function moveToTrash(dir: string): string | undefined {
  const trashDir = path.join(STATE_DIR, "trash");
  fs.mkdirSync(trashDir, { recursive: true });
  const target = path.join(trashDir, `${path.basename(dir)}-${randomBytes(4).toString("hex")}`);
  try {
    fs.renameSync(dir, target);
    return target;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

function removeHostLeftovers(machine: string, dir: string, cgroups: HostCgroups): void {
  removeCgroupTree(cgroups.unified);
  if (cgroups.systemd) removeCgroupTree(cgroups.systemd);
  spawnSync("/sbin/ip", ["link", "del", `vb-${machine}`], { stdio: "ignore" });
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The container's PID 1: a descendant of nspawn whose innermost PID is 1. */
function findContainerInit(nspawnPid: number): number | undefined {
  const queue = [nspawnPid];
  while (queue.length) {
    const pid = queue.shift()!;
    let status: string;
    try {
      status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    } catch {
      continue;
    }
    const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1].trim().split(/\s+/) ?? [];
    if (pid !== nspawnPid && nspid.length > 1 && nspid[nspid.length - 1] === "1") return pid;
    queue.push(...childrenOf(pid));
  }
  return undefined;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const tid of listDir(`/proc/${pid}/task`)) {
    try {
      out.push(...fs.readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      // exited
    }
  }
  return out;
}

function processAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Process start time (clock ticks since boot): tells a live owner from a reused PID. */
function startTime(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
}

function ownerAlive(pid: number, start: string): boolean {
  return processAlive(pid) && startTime(pid) === start;
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

// ---- state files and the cross-process lock -------------------------------------------------

function writeState(host: TestHost): void {
  const dir = path.dirname(host.root);
  if (!fs.existsSync(dir)) return;
  const state: HostState = {
    name: host.name, machine: host.machine, address: host.address, pid: host.pid,
    ownerPid: process.pid, ownerStart: startTime(process.pid), root: host.root, cgroups: host.cgroups,
  };
  fs.writeFileSync(path.join(dir, "state.json.tmp"), JSON.stringify(state, null, 2));
  fs.renameSync(path.join(dir, "state.json.tmp"), path.join(dir, "state.json"));
}

function leasePath(octet: number): string {
  return path.join(STATE_DIR, "leases", `${SUBNET}.${octet}`);
}

function octetOf(address: string): number {
  return Number(address.split(".")[3]);
}

/**
 * Serialises address leases and bridge/proxy setup between jest workers (separate processes).
 * A directory is the lock; a lock whose owner died is taken over.
 */
function withLock<T>(fn: () => T): T {
  const lock = path.join(STATE_DIR, "lock");
  fs.mkdirSync(STATE_DIR, { recursive: true });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, "owner"), `${process.pid} ${startTime(process.pid)}`);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const [pid, start] = (readText(path.join(lock, "owner")) ?? "").split(" ");
      const age = Date.now() - (statMtime(lock) ?? Date.now());
      if ((pid && !ownerAlive(Number(pid), start ?? "")) || (!pid && age > 5000)) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`lock ${lock} held by pid ${pid} for over 60 s`);
      sleepSync(50);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function readJson<T>(file: string): T | undefined {
  const text = readText(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function statMtime(file: string): number | undefined {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

// ---- small process and network helpers -----------------------------------------------------

function runProcess(file: string, args: string[], opts: { input?: string; timeoutMs: number; env?: Record<string, string> }): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    // its own process group, so a timeout ends the whole pipeline, not just the first process
    const child = spawn(file, args, { env: opts.env ?? { PATH: PATH_ENV }, stdio: ["pipe", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\nkilled after ${opts.timeoutMs} ms: ${file} ${args.join(" ")}\n`;
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, opts.timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128 + (signal ? (require("os") as typeof import("os")).constants.signals[signal] : 0), stdout, stderr });
    });
    child.stdin.on("error", () => undefined); // the command may exit without reading stdin
    child.stdin.end(opts.input ?? "");
  });
}

/** Resolves true when something on address:22 sends an SSH banner within timeoutMs. */
function sshBanner(address: string, timeoutMs: number, port = 22): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    let data = "";
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.on("data", (d) => {
      data += d.toString("latin1");
      if (data.includes("\n")) finish(data.startsWith("SSH-2.0-"));
    });
    socket.on("error", () => finish(false));
    socket.on("close", () => finish(false));
  });
}

function tcpOpenSync(host: string, port: number): boolean {
  // bash's /dev/tcp keeps this synchronous (used while holding the lock)
  return spawnSync("/bin/bash", ["-c", `exec 3<>/dev/tcp/${host}/${port}`], { stdio: "ignore", timeout: 2000 }).status === 0;
}

/** True if `p` settled within ms; the timer is cleared either way (no handle keeps jest alive). */
export async function raceTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function waitSync(cond: () => boolean, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    sleepSync(50);
  }
  return cond();
}

// A test process that dies without its afterAll still takes its hosts down.
process.once("exit", () => {
  for (const host of [...liveHosts]) {
    try {
      host.destroySync();
    } catch {
      // best effort; cleanupStale() on the next run removes the rest
    }
  }
  try {
    withLock(infraDownIfUnused);
  } catch {
    // as above
  }
});
