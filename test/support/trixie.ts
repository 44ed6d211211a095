/**
 * Runs the consumers of rendered files (quadlet, systemd-analyze, nginx, postgres, promtool, …)
 * inside the Debian trixie tools chroot that `test/consumers/prepare.sh` builds.
 *
 * Every call gets its own mount, PID, network, IPC and UTS namespaces (`unshare`): /proc, /dev,
 * /sys are mounted only there, /tmp, /run and /dev/shm are fresh tmpfs, and the network is a
 * private loopback. So concurrent calls (jest workers) cannot clash on ports, sockets or pid
 * files; nothing needs unmounting afterwards (the mounts die with the namespace); and every
 * process a call started is killed when it ends (the PID namespace's init exits, and
 * `--kill-child` takes the namespace down when a timeout kills `unshare`).
 */
import { spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { cacheRoot } from "./cache";

export interface ToolRun { code: number; stdout: string; stderr: string; }
export interface ToolRunOptions { files?: Record<string, string>; input?: string; timeoutMs?: number; env?: Record<string, string>; }

const PREPARE = "test/consumers/prepare.sh";
/** Directory (inside the chroot) under which each call gets its fresh working directory. */
const WORK_BASE = "/senex-work";
const DEFAULT_TIMEOUT_MS = 120_000;
const PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Sets up the namespace and enters the chroot. Positional: $1 root, $2 working dir (inside), then
 * argv. Host binaries by absolute path, because the caller's `env` may change PATH.
 */
const ENTER_SCRIPT = `
set -e
root="$1"; work="$2"; shift 2
/bin/mount --rbind /dev "$root/dev"
/bin/mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
/bin/mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
/bin/mount --rbind /sys "$root/sys"
/bin/mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
/bin/mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
/bin/mkdir -p "$root/run/lock" "$root/run/user/0"
# Debian's packages expect their runtime dirs (normally made by systemd-tmpfiles at boot).
/usr/sbin/chroot "$root" /bin/sh -c 'install -d -o postgres -g postgres -m 2775 /run/postgresql'
/sbin/ip link set lo up
exec /usr/sbin/chroot "$root" /bin/sh -c 'cd "$0" && exec "$@"' "$work" "$@"
`;

/** Path of the prepared trixie tools root; throws an error naming `test/consumers/prepare.sh` if absent. */
export function toolsRoot(): string {
  const link = process.env.SENEX_TRIXIE_TOOLS_ROOT || path.join(cacheRoot(), "trixie-tools-current");
  let root: string;
  try {
    root = fs.realpathSync(link);
  } catch {
    throw new Error(`trixie tools root not found at ${link}: run \`bash ${PREPARE}\` first (npm run test:consumers does)`);
  }
  if (!fs.existsSync(path.join(root, "usr/bin/systemd-analyze"))) {
    throw new Error(`${root} is not a prepared trixie tools root: run \`bash ${PREPARE}\` again`);
  }
  return root;
}

/**
 * Runs argv inside the tools chroot (as root unless argv uses runuser). `files` (relative paths →
 * content) are written under a fresh directory inside the chroot, which is the working directory;
 * when argv is a function it receives that directory's absolute path as seen INSIDE the chroot.
 * Synchronous; never throws on non-zero exit.
 */
export function runInTrixie(argv: string[] | ((dir: string) => string[]), opts: ToolRunOptions = {}): ToolRun {
  const root = toolsRoot();
  const inside = path.posix.join(WORK_BASE, `run-${process.pid}-${randomBytes(6).toString("hex")}`);
  const outside = path.join(root, inside);
  fs.mkdirSync(outside, { recursive: true, mode: 0o1777 });
  // mkdir's mode is filtered by the umask; services run through runuser must be able to write here.
  fs.chmodSync(outside, 0o1777);
  try {
    for (const [rel, content] of Object.entries(opts.files ?? {})) {
      const target = path.resolve(outside, rel);
      if (path.isAbsolute(rel) || !target.startsWith(outside + path.sep)) {
        throw new Error(`runInTrixie: file path \`${rel}\` must be relative and stay inside the working directory`);
      }
      fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
      fs.writeFileSync(target, content, { mode: 0o644 });
    }
    const args = typeof argv === "function" ? argv(inside) : argv;
    if (args.length === 0) throw new Error("runInTrixie: empty argv");
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const r = spawnSync(
      "/usr/bin/unshare",
      ["--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--net", "--ipc", "--uts",
        "--", "/bin/sh", "-c", ENTER_SCRIPT, "senex-trixie", root, inside, ...args],
      {
        input: opts.input ?? "",
        encoding: "utf8",
        timeout: timeoutMs,
        killSignal: "SIGKILL",
        maxBuffer: 64 * 1024 * 1024,
        // XDG_RUNTIME_DIR: `systemd-analyze verify --user` (Quadlet output) needs one.
        env: { PATH: PATH_ENV, HOME: "/root", LANG: "C.UTF-8", XDG_RUNTIME_DIR: "/run/user/0", ...opts.env },
      },
    );
    let stderr = r.stderr ?? "";
    if (r.error && (r.error as NodeJS.ErrnoException).code === "ETIMEDOUT") {
      stderr += `\nrunInTrixie: killed after ${timeoutMs} ms: ${args.join(" ")}\n`;
    } else if (r.error) {
      throw r.error; // unshare itself could not run: a broken machine, not a tool's answer
    }
    const code = r.status ?? 128 + signalNumber(r.signal);
    return { code, stdout: r.stdout ?? "", stderr };
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  if (signal === null) return 0;
  const n = (require("os") as typeof import("os")).constants.signals[signal];
  return typeof n === "number" ? n : 0;
}
