/**
 * Smoke test of the test-host harness itself: hosts boot from a NoCloud seed like cloud servers
 * (user + pinned ED25519 host key from our user-data), reach each other on the private bridge,
 * and survive stop / power cut / restart; an unseeded host stands in for an `existing` server.
 * Prints the measured boot-to-SSH times and per-host memory.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import { Client } from "ssh2";
import { stringify as toYaml } from "yaml";
import * as path from "path";
import { loginKeyPair } from "../support/keys";
import { BRIDGE, GATEWAY, STATE_DIR, TestHost, cleanupStale, destroyAll, startHosts } from "./harness";

jest.setTimeout(300_000);

const userKey = loginKeyPair();
const hostKeys = new Map<string, { private: string; public: string }>();

/** The cgroup2 path of the host's PID 1 as this machine sees it (below `/…/sxN/boot-K/`). */
function initCgroup(host: TestHost): string {
  const line = fs.readFileSync(`/proc/${host.leaderPid()}/cgroup`, "utf8").split("\n").find((l) => l.startsWith("0::"));
  if (!line) throw new Error(`host ${host.name}: no cgroup2 line for its init`);
  return line.slice(3);
}

/** Runs one command over SSH, accepting only the pinned host key. */
function sshRun(host: TestHost, user: string, pinned: string, command: string): Promise<{ code: number; stdout: string }> {
  const expected = Buffer.from(pinned.split(" ")[1], "base64");
  return new Promise((resolve, reject) => {
    const conn = new Client();
    conn.on("ready", () => {
      conn.exec(command, (err, stream) => {
        if (err) return reject(err);
        let stdout = "";
        stream.on("data", (d: Buffer) => (stdout += d.toString()));
        stream.stderr.on("data", () => undefined);
        stream.on("close", (code: number) => {
          conn.end();
          resolve({ code, stdout });
        });
      });
    });
    conn.on("error", reject);
    conn.connect({
      host: host.address, port: 22, username: user, privateKey: userKey.private, readyTimeout: 15_000,
      hostVerifier: (key: Buffer) => key.equals(expected),
    });
  });
}

/** One-letter state from /proc/<pid>/stat, or "gone". */
function processState(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return "gone";
  }
}

function seedFor(name: string): string {
  const key = loginKeyPair(`root@${name}`);
  hostKeys.set(name, key);
  return "#cloud-config\n" + toYaml({
    users: [{ name: "tester", shell: "/bin/bash", sudo: "ALL=(ALL) NOPASSWD:ALL", ssh_authorized_keys: [userKey.public] }],
    ssh_deletekeys: true,
    ssh_genkeytypes: ["ed25519"],
    ssh_keys: { ed25519_private: key.private, ed25519_public: key.public },
    write_files: [{ path: "/etc/senex-seeded", content: `${name}\n` }],
  });
}

describe("nspawn test hosts", () => {
  let seeded: TestHost[] = [];
  let plain: TestHost;

  beforeAll(async () => {
    const t0 = Date.now();
    seeded = await startHosts(2, { names: ["alpha", "beta"], seed: (h) => ({ userData: seedFor(h.name) }) });
    const seededMs = Date.now() - t0;
    const t1 = Date.now();
    [plain] = await startHosts(1, { names: ["gamma"], rootAuthorizedKeys: [userKey.public] });
    console.log(`boot to SSH: 2 seeded hosts in parallel ${seededMs} ms; 1 unseeded host ${Date.now() - t1} ms`);
  });

  afterAll(async () => {
    await destroyAll();
  });

  it("gives each host its own address and the ED25519 host key from its seed", () => {
    const all = [...seeded, plain];
    expect(new Set(all.map((h) => h.address)).size).toBe(3);
    expect(new Set(all.map((h) => h.hostKeyPublic)).size).toBe(3);
    for (const h of seeded) expect(h.hostKeyPublic).toBe(hostKeys.get(h.name)!.public.split(" ").slice(0, 2).join(" "));
    for (const h of all) expect(h.hostKeyPublic).toMatch(/^ssh-ed25519 AAAA/);
  });

  it("lets the seeded user in over SSH with the pinned host key, and refuses a wrong pin", async () => {
    for (const h of seeded) {
      const r = await sshRun(h, "tester", h.hostKeyPublic, "hostname; id -un; cat /etc/senex-seeded; sudo -n true && echo sudo-ok");
      expect(r).toEqual({ code: 0, stdout: `${h.name}\ntester\n${h.name}\nsudo-ok\n` });
    }
    await expect(sshRun(seeded[0], "tester", seeded[1].hostKeyPublic, "true")).rejects.toThrow(/verification failed/i);
  });

  it("finishes cloud-init without errors", async () => {
    for (const h of seeded) {
      const r = await h.exec(["cloud-init", "status", "--wait", "--long"], { timeoutMs: 120_000 });
      expect(r.stdout).toMatch(/status: done/);
      expect(r.stdout).toMatch(/errors: \[\]/);
      expect(r.code).toBe(0);
    }
  });

  it("lets an unseeded host (an `existing` server) in as root with its harness-made host key", async () => {
    const r = await sshRun(plain, "root", plain.hostKeyPublic, "hostname; test -e /etc/cloud/cloud-init.disabled && echo no-cloud-init");
    expect(r).toEqual({ code: 0, stdout: "gamma\nno-cloud-init\n" });
  });

  it("installs Debian packages through the apt proxy on the gateway (no other route out)", async () => {
    const r = await plain.exec(["sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends hello >/dev/null && hello"], { timeoutMs: 240_000 });
    expect(r.stderr).not.toMatch(/^E:/m);
    expect(r.stdout).toBe("Hello, world!\n");
  });

  it("runs exec'd commands inside the host's cgroup tree, so logind serves them (linger)", async () => {
    const h = seeded[0];
    const r = await h.exec(["sh", "-c", "loginctl enable-linger tester && sleep 1 && systemctl --user -M tester@ is-system-running --wait"], { timeoutMs: 60_000 });
    expect(r.stdout.trim()).toMatch(/^(running|degraded)$/);
  });

  it("connects the hosts on the private bridge", async () => {
    const [a, b] = seeded;
    expect((await a.exec(["ping", "-c", "1", "-W", "2", b.address])).code).toBe(0);
    expect((await b.exec(["ping", "-c", "1", "-W", "2", plain.address])).code).toBe(0);
    expect((await plain.exec(["ping", "-c", "1", "-W", "2", GATEWAY])).code).toBe(0);
    // no route off this machine: only the bridge's /24
    const routes = await a.exec(["ip", "-4", "route"]);
    expect(routes.stdout).not.toMatch(/default/);
  });

  it("runs systemd as PID 1 with the system up", async () => {
    const r = await seeded[0].exec(["systemctl", "is-system-running", "--wait"], { timeoutMs: 120_000 });
    expect(r.stdout.trim()).toMatch(/^(running|degraded)$/);
    const failed = await seeded[0].exec(["systemctl", "--failed", "--no-legend", "--plain"]);
    expect(failed.stdout.trim()).toBe("");
  });

  it("measures per-host memory", () => {
    for (const h of [...seeded, plain]) {
      const kib = h.memoryPssKiB();
      console.log(`${h.name}: ${(kib / 1024).toFixed(1)} MiB PSS`);
      expect(kib).toBeGreaterThan(10 * 1024);
      expect(kib).toBeLessThan(400 * 1024);
    }
  });

  it("stops a host gracefully and boots it again with the same disk and host key", async () => {
    const h = seeded[1];
    const t0 = Date.now();
    await h.stop();
    const stopMs = Date.now() - t0;
    expect(h.running).toBe(false);
    expect(fs.existsSync(h.cgroups.unified)).toBe(false);
    const t1 = Date.now();
    await h.boot();
    await h.waitForSsh();
    console.log(`graceful stop ${stopMs} ms, boot to SSH ${Date.now() - t1} ms`);
    const r = await sshRun(h, "tester", hostKeys.get(h.name)!.public, "cat /etc/senex-seeded");
    expect(r.stdout).toBe(`${h.name}\n`);
  });

  it("survives a power cut (cgroup.kill) and a hard restart, without cloud-init running again", async () => {
    const h = seeded[0];
    await h.exec(["sh", "-c", "echo kept > /root/marker && sync"]);
    const bootsBefore = (await h.exec(["sh", "-c", "ls /var/lib/cloud/instances | wc -l"])).stdout;
    const killedCgroup = initCgroup(h);
    const t0 = Date.now();
    await h.kill();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(h.running).toBe(false);
    await h.restart({ hard: true });
    // The new boot runs in cgroups the kill never touched (a restart into the killed directories
    // had its services SIGKILLed in a loop on kernel 6.18): fresh directories below the host's.
    const boot = (cgroup: string) => /\/(sx\d+)\/(boot-\d+)\//.exec(cgroup)?.slice(1, 3);
    const [before, after] = [boot(killedCgroup), boot(initCgroup(h))];
    expect(before).toBeDefined();
    expect(after?.[0]).toBe(before?.[0]);
    expect(after?.[1]).not.toBe(before?.[1]);
    expect((await h.exec(["cat", "/root/marker"])).stdout).toBe("kept\n");
    expect((await h.exec(["sh", "-c", "ls /var/lib/cloud/instances | wc -l"])).stdout).toBe(bootsBefore);
    const r = await sshRun(h, "tester", hostKeys.get(h.name)!.public, "id -un");
    expect(r.stdout).toBe("tester\n");
  });

  it("cleanupStale() removes the running host of a test process that was SIGKILLed", async () => {
    const repo = path.resolve(__dirname, "../..");
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e",
      "require('./test/hosts/harness').startHosts(1, { names: ['crashed'] }).then(([h]) => { console.log('UP ' + h.machine + ' ' + h.pid); setInterval(() => undefined, 1000); })"],
    { cwd: repo, env: { ...process.env, TS_NODE_PROJECT: "tsconfig.json" }, stdio: ["ignore", "pipe", "inherit"] });
    const up = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /UP (\S+) (\d+)/.exec(out);
        if (m) resolve(out);
      });
      child.once("exit", (code) => reject(new Error(`child exited ${code} before its host was up: ${out}`)));
    });
    const [, machine, pid] = /UP (\S+) (\d+)/.exec(up)!;
    child.kill("SIGKILL"); // no exit handler runs: the host is left behind, as after a crash
    await new Promise((r) => child.once("exit", r));
    const hostDir = path.join(STATE_DIR, "hosts", machine);
    expect(fs.existsSync(hostDir)).toBe(true);
    expect(fs.existsSync(`/proc/${pid}`)).toBe(true);
    const removed = await cleanupStale();
    expect(removed).toContain(`host crashed (${machine})`);
    expect(fs.existsSync(hostDir)).toBe(false);
    // nspawn is gone — at most a zombie: its parent was the killed process, and this machine's
    // PID 1 is not an init that reaps orphans
    expect(processState(Number(pid))).toMatch(/^(gone|Z)$/);
    expect(fs.existsSync(`/sys/class/net/vb-${machine}`)).toBe(false);
    // our own live hosts were left alone
    for (const h of [...seeded, plain]) expect(h.running).toBe(true);
  });

  it("removes every host, cgroup, veth, the bridge and the apt proxy when the last host goes", async () => {
    const all = [...seeded, plain];
    await destroyAll();
    for (const h of all) {
      expect(h.running).toBe(false);
      expect(fs.existsSync(h.root)).toBe(false);
      expect(fs.existsSync(h.cgroups.unified)).toBe(false);
      expect(fs.existsSync(`/sys/class/net/vb-${h.machine}`)).toBe(false);
    }
    // another test process may still hold hosts; then the bridge rightly stays
    const others = fs.readdirSync(path.join(STATE_DIR, "leases")).length;
    if (others === 0) expect(fs.existsSync(`/sys/class/net/${BRIDGE}`)).toBe(false);
    expect(await cleanupStale()).toEqual([]);
  });
});
