/**
 * A local S3 endpoint for tests: moto's server from Debian trixie, in the chroot that
 * test/support/moto.sh prepares, listening on 127.0.0.1 only. Started per test file, stopped by PID
 * (its own process group), also when the test fails.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { cacheRoot } from "./cache";

export interface MotoServer {
    endpoint: string;
    stop(): Promise<void>;
}

function motoRoot(): string {
    const link = path.join(cacheRoot(), "trixie-moto-current");
    try {
        return fs.realpathSync(link);
    } catch {
        throw new Error(`moto chroot not found at ${link}: run \`bash test/support/moto.sh\` (test/consumers/prepare.sh does)`);
    }
}

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
        s.on("error", reject);
    });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
        const ok = await new Promise<boolean>((resolve) => {
            const c = net.connect(port, "127.0.0.1", () => {
                c.end();
                resolve(true);
            });
            c.on("error", () => resolve(false));
        });
        if (ok) return;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`moto_server did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

export async function startMoto(): Promise<MotoServer> {
    const root = motoRoot();
    const port = await freePort();
    // A private mount namespace for /proc and /dev inside the chroot; the network is the host's
    // loopback, where the test's S3 client connects.
    const script = `set -e; mount --rbind /dev "$1/dev"; mount -t proc proc "$1/proc"; exec chroot "$1" /usr/bin/python3 -m moto.server -H 127.0.0.1 -p "$2"`;
    const child = spawn("unshare", ["--mount", "--propagation", "private", "--fork", "--kill-child", "sh", "-c", script, "moto", root, String(port)], { detached: true, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
    try {
        await waitForPort(port, child, 30_000);
    } catch (e) {
        try {
            process.kill(-child.pid!, "SIGKILL");
        } catch {
            /* already gone */
        }
        throw new Error(`${(e as Error).message}\n${stderr}`);
    }
    return {
        endpoint: `http://127.0.0.1:${port}`,
        stop: () =>
            new Promise<void>((resolve) => {
                if (child.exitCode !== null) return resolve();
                child.once("exit", () => resolve());
                process.kill(-child.pid!, "SIGTERM");
                setTimeout(() => {
                    try {
                        process.kill(-child.pid!, "SIGKILL");
                    } catch {
                        /* gone */
                    }
                }, 3000).unref();
            }),
    };
}
