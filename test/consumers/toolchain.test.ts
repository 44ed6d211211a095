/**
 * Smoke test of the consumers tier's tools: the trixie chroot answers with the versions the
 * renderers target, and runInTrixie keeps its contract (files, working dir, exit codes, timeouts,
 * isolation between calls). Also the host's Redis 7 (bookworm, BSD) used for Redis 7 files.
 */
import { spawnSync } from "child_process";
import { runInTrixie, toolsRoot } from "../support/trixie";

describe("trixie tools chroot", () => {
  it.each<[string, string[], RegExp]>([
    ["quadlet (podman 5)", ["/usr/libexec/podman/quadlet", "-version"], /^5\.\d+\.\d+/m],
    ["systemd-analyze", ["systemd-analyze", "--version"], /^systemd 25\d/m],
    ["nginx", ["nginx", "-v"], /nginx\/1\.2\d\./],
    ["postgres 17", ["/usr/lib/postgresql/17/bin/postgres", "--version"], /PostgreSQL\) 17\./],
    ["pgbouncer", ["pgbouncer", "--version"], /PgBouncer 1\.2\d/],
    ["pgbackrest", ["pgbackrest", "version"], /pgBackRest 2\.\d+/],
    ["promtool", ["promtool", "--version"], /promtool, version 2\./],
    ["amtool", ["amtool", "--version"], /amtool, version 0\./],
    ["nft", ["nft", "--version"], /nftables v1\./],
    ["cloud-init", ["cloud-init", "--version"], /cloud-init 2[5-9]\./],
    ["shellcheck", ["shellcheck", "--version"], /version: 0\./],
    ["valkey-server 8", ["valkey-server", "--version"], /Valkey server v=8\./],
    ["valkey-sentinel", ["valkey-sentinel", "--version"], /Valkey server v=8\./],
    ["sshd", ["sh", "-c", "sshd -V 2>&1"], /OpenSSH_\d/],
    ["visudo", ["visudo", "--version"], /visudo version 1\./],
    ["openssl 3", ["openssl", "version"], /OpenSSL 3\./],
    ["python3-yaml + jsonschema", ["python3", "-c", "import yaml, jsonschema; print('ok', yaml.__version__)"], /ok 6\./],
  ])("%s answers", (_name, argv, version) => {
    const r = runInTrixie(argv);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toMatch(version);
  });

  it("holds no AGPL redis 8 (valkey stands in)", () => {
    const r = runInTrixie(["sh", "-c", "command -v redis-server || echo absent"]);
    expect(r.stdout.trim()).toBe("absent");
  });

  it("writes `files` into a fresh working directory and passes its in-chroot path", () => {
    const r = runInTrixie((dir) => ["sh", "-c", `test "$PWD" = ${dir} && cat a/b.txt && printf '%s' "$X"`], {
      files: { "a/b.txt": "hello\n" },
      env: { X: "from-env" },
    });
    expect(r).toEqual({ code: 0, stdout: "hello\nfrom-env", stderr: "" });
    // a fresh directory each call: the previous call's files are gone
    expect(runInTrixie(["sh", "-c", "ls -A"]).stdout).toBe("");
  });

  it("passes stdin, returns non-zero exits, and kills on timeout", () => {
    expect(runInTrixie(["sh", "-c", "cat; exit 3"], { input: "in" })).toEqual({ code: 3, stdout: "in", stderr: "" });
    const started = Date.now();
    const slow = runInTrixie(["sleep", "30"], { timeoutMs: 1000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(slow.code).not.toBe(0);
    expect(slow.stderr).toMatch(/killed after 1000 ms/);
  });

  it("refuses file paths that leave the working directory", () => {
    expect(() => runInTrixie(["true"], { files: { "../escape": "x" } })).toThrow(/must be relative/);
  });

  it("isolates calls: a daemon started in one call is gone in the next, on a private loopback", () => {
    const first = runInTrixie(["sh", "-c", "valkey-server --port 6399 --daemonize yes >/dev/null && sleep 0.5 && valkey-cli -p 6399 ping"]);
    expect(first.stdout.trim()).toBe("PONG");
    const second = runInTrixie(["sh", "-c", "valkey-cli -p 6399 ping 2>&1; ps -e -o comm= | grep -c valkey || true"]);
    expect(second.stdout).toMatch(/Connection refused/);
    expect(second.stdout.trim().split("\n").pop()).toBe("0");
  });

  it("runs a rendered Quadlet through quadlet and `systemd-analyze verify --user`, and a broken one fails", () => {
    const good = "[Unit]\nDescription=cache\n[Container]\nImage=localhost/redis:7\nNetwork=host\n[Service]\nRestart=always\n[Install]\nWantedBy=default.target\n";
    const bad = "[Unit]\nRequires=missing.service\n[Container]\nImage=localhost/redis:7\n";
    const check = (name: string) => runInTrixie((dir) => ["sh", "-c",
      `mkdir out && QUADLET_UNIT_DIRS=${dir}/q /usr/libexec/podman/quadlet -user out && systemd-analyze verify --user --man=no --generators=no out/${name}.service`],
    { files: { "q/good.container": good, "q/bad.container": bad } });
    const ok = check("good");
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const broken = check("bad");
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toMatch(/missing\.service not found/);
  });

  it("toolsRoot names the prepare script when the root is missing", () => {
    const saved = process.env.SENEX_TRIXIE_TOOLS_ROOT;
    process.env.SENEX_TRIXIE_TOOLS_ROOT = "/nonexistent/senex-tools";
    try {
      expect(() => toolsRoot()).toThrow(/test\/consumers\/prepare\.sh/);
    } finally {
      if (saved === undefined) delete process.env.SENEX_TRIXIE_TOOLS_ROOT;
      else process.env.SENEX_TRIXIE_TOOLS_ROOT = saved;
    }
  });
});

describe("host Redis 7 (bookworm, BSD licence)", () => {
  it.each(["redis-server", "redis-sentinel"])("%s is 7.0.x", (bin) => {
    const r = spawnSync(bin, ["--version"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/v=7\.0\.\d+/);
  });
});
