/**
 * Phase 1 end to end: the real program (index.ts) through the real Pulumi engine, as an `existing`
 * stack whose one server is a bare Debian trixie test host (systemd-nspawn, root login with the
 * operator's bootstrap key, nothing of ours installed). Images come from the local registry with
 * auth + TLS, certificates from a local ACME server (pebble) over HTTP-01.
 *
 * Secrets are supplied as encrypted stack config (the random/tls plugins cannot be built here, see
 * test/engine/README.md), so the engine registers only our dynamic providers.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { roleVerifier } from "../../topology/hostFiles/secretContent";
import { TestHost, destroyHosts, startHosts } from "../hosts/harness";
import { startAcmeServer, type AcmeServer } from "../hosts/harness/acme";
import { startRegistry, type TestRegistry } from "../hosts/harness/registry";
import { wsConnect } from "../support/websocket";
import type { PulumiCli } from "./cli";
import { PHASE1_IMAGES, allowLowPorts, bootstrapKeyPair, createExistingStack } from "./existingStack";

jest.setTimeout(1_800_000);

const STACK = "phase1";
const DOMAIN = "app.test";
/** A first up installs packages through the apt proxy and pulls four images: minutes on 2 busy cores. */
const UP_TIMEOUT_MS = 1_200_000;

const bootstrapKey = bootstrapKeyPair();
let secrets: Record<string, string>;
let deployKey: { private: string };
let tempRoot: string;
let cli: PulumiCli;
let host: TestHost;
/** A host on the same network that has no role in the stack: the host firewall must refuse it. */
let peer: TestHost;
let registry: TestRegistry;
let acme: AcmeServer;
const timings: Record<string, number> = {};

/** Runs a shell command on the host as `senex` with its user manager reachable. */
async function asSenex(cmd: string, timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
    return host.exec(["runuser", "-u", "senex", "--", "sh", "-c", `export XDG_RUNTIME_DIR=/run/user/$(id -u) HOME=/home/senex; ${cmd}`], { timeoutMs });
}

/** Accepted SSH logins on the host so far (each provider operation is one). */
async function sshLogins(): Promise<number> {
    const r = await host.exec(["sh", "-c", "journalctl -q --no-pager -t sshd-session -t sshd -g 'Accepted publickey' | wc -l"]);
    return Number(r.stdout.trim());
}

/** GET through nginx on the host, as a browser for DOMAIN would (SNI + Host). */
function viaNginx(
    urlPath: string,
    { port = 443, headers = {}, method = "GET", body: payload }: { port?: number; headers?: Record<string, string>; method?: string; body?: unknown } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string; issuer?: string }> {
    return new Promise((resolve, reject) => {
        const mod = port === 443 ? https : (require("http") as typeof import("http"));
        const req = mod.request(
            {
                host: host.address,
                port,
                path: urlPath,
                method,
                agent: false,
                headers: { host: DOMAIN, ...(payload !== undefined ? { "content-type": "application/json" } : {}), ...headers },
                ...(port === 443 ? { servername: DOMAIN, rejectUnauthorized: false } : {}),
            },
            (res) => {
                // Read the certificate now: at "end" the socket is already back in the agent's pool.
                const issuer = port === 443 ? String((res.socket as import("tls").TLSSocket).getPeerCertificate().issuer?.CN ?? "") : undefined;
                let body = "";
                res.on("data", (d) => (body += d));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ...(issuer !== undefined ? { issuer } : {}) }));
                res.on("error", reject);
            },
        );
        req.on("error", reject);
        req.setTimeout(15_000, () => req.destroy(new Error(`timeout ${method} ${urlPath}`)));
        req.end(payload === undefined ? undefined : JSON.stringify(payload));
    });
}

beforeAll(async () => {
    tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), "senex-phase1-"));
    let t = Date.now();
    [host, peer] = await startHosts(2, { names: ["p1-main", "p1-peer"], rootAuthorizedKeys: [bootstrapKey.public] });
    allowLowPorts(host);
    timings.hostStartMs = Date.now() - t;
    t = Date.now();
    registry = await startRegistry();
    acme = await startAcmeServer({ [DOMAIN]: host.address, [`www.${DOMAIN}`]: host.address });
    const stack = await createExistingStack(
        { tempRoot, stack: STACK, domain: DOMAIN, phase: 1, hosts: [{ host, name: "main", roles: ["main"] }], registry, images: PHASE1_IMAGES, acme, extraConfig: { "senex-infra:daphnePerHost": 2 } },
        bootstrapKey,
    );
    timings.stackSetupMs = Date.now() - t;
    ({ cli, secrets } = stack);
    deployKey = stack.keys.deploy;
});

// Progress for whoever watches a long run (jest prints a file's results only at its end).
const progressFile = process.env.SENEX_PROGRESS_FILE;
const progress = (line: string) => progressFile && fs.appendFileSync(progressFile, `${new Date().toISOString()} ${line}\n`);
beforeEach(() => progress(`start: ${expect.getState().currentTestName}`));
afterEach(() => progress(`end: ${expect.getState().currentTestName}`));

afterAll(async () => {
    progress("afterAll");
    console.log(`phase 1 timings: ${JSON.stringify(timings)}`);
    await destroyHosts([host, peer].filter(Boolean));
    progress("hosts destroyed");
    await acme?.stop();
    progress("acme stopped");
    await registry?.stop();
    progress("registry stopped");
    if (tempRoot) fs.rmSync(tempRoot, { recursive: true, force: true });
});

describe("phase 1 on one existing host, through the real engine", () => {
    it("pulumi up takes a bare host to every service active, in the seeds' order", async () => {
        const t = Date.now();
        const up = await cli.up(STACK, ["--refresh=false"], { timeoutMs: UP_TIMEOUT_MS });
        timings.firstUpMs = Date.now() - t;
        expect(up.exitCode).toBe(0);
        const units = ["senex-postgres", "senex-redis-broker", "senex-redis-cache", "senex-postgres-roles", "senex-migrate", "senex-collectstatic", "senex-daphne-8001", "senex-daphne-8002", "senex-celery-worker", "senex-celery-beat", "senex-nginx"];
        const active = await asSenex(`systemctl --user is-active ${units.map((u) => `${u}.service`).join(" ")}`);
        expect(active.stdout.trim().split("\n")).toEqual(units.map(() => "active"));
        // Order: each unit became active after the ones it needs (monotonic activation times).
        const since = async (u: string) => Number((await asSenex(`systemctl --user show -p ActiveEnterTimestampMonotonic --value ${u}.service`)).stdout.trim());
        const [pg, roles, migrate, daphne, worker, beat] = await Promise.all(["senex-postgres", "senex-postgres-roles", "senex-migrate", "senex-daphne-8001", "senex-celery-worker", "senex-celery-beat"].map(since));
        expect(pg).toBeLessThan(roles);
        expect(roles).toBeLessThan(migrate);
        expect(migrate).toBeLessThan(daphne);
        expect(daphne).toBeLessThanOrEqual(worker);
        expect(worker).toBeLessThanOrEqual(beat);
    });

    it("serves /health/ over HTTPS through nginx, redirects HTTP, sets HSTS", async () => {
        const health = await viaNginx("/health/");
        expect(health.status).toBe(200);
        expect(health.headers["strict-transport-security"]).toMatch(/max-age=\d+/);
        const plain = await viaNginx("/health/", { port: 80 });
        expect(plain.status).toBe(301);
        expect(plain.headers.location).toBe(`https://${DOMAIN}/health/`);
    });

    it("ran the migrations exactly once", async () => {
        const runs = await viaNginx("/migrations/");
        expect(JSON.parse(runs.body)).toEqual({ runs: 1 });
    });

    it("round-trips a WebSocket message through nginx and the Redis channel layer; a foreign Origin is refused", async () => {
        const ws = (origin: string) => wsConnect({ host: host.address, port: 443, path: "/ws/echo/", hostHeader: DOMAIN, origin, tls: { servername: DOMAIN, rejectUnauthorized: false } });
        const ok = await ws(`https://${DOMAIN}`);
        expect(ok.status).toBe(101);
        ok.socket!.send("ping-through-nginx");
        expect(await ok.socket!.next(15_000)).toBe("ping-through-nginx");
        ok.socket!.close();
        expect((await ws("https://evil.example")).status).toBe(403);
    });

    it("executes a Celery task submitted through the app, and beat fires", async () => {
        const orders = await wsConnect({ host: host.address, port: 443, path: "/ws/orders/", hostHeader: DOMAIN, origin: `https://${DOMAIN}`, tls: { servername: DOMAIN, rejectUnauthorized: false } });
        expect(orders.status).toBe(101);
        const created = await viaNginx("/orders/", { method: "POST", body: { symbol: "SPY", quantity: 3 }, headers: { origin: `https://${DOMAIN}`, referer: `https://${DOMAIN}/` } });
        expect(created.status).toBe(201);
        const { id } = JSON.parse(created.body) as { id: number };
        expect(JSON.parse(await orders.socket!.next(60_000))).toEqual({ id, status: "filled" });
        orders.socket!.close();
        expect(JSON.parse((await viaNginx(`/orders/${id}/`)).body)).toEqual({ id, status: "filled" });
        let heartbeats = 0;
        for (let i = 0; i < 60 && heartbeats < 2; i++) {
            heartbeats = (JSON.parse((await viaNginx("/beat/")).body) as { heartbeats: number }).heartbeats;
            if (heartbeats < 2) await new Promise((res) => setTimeout(res, 1000));
        }
        expect(heartbeats).toBeGreaterThanOrEqual(2);
    });

    it("gets a certificate from the ACME server over HTTP-01 and nginx serves it", async () => {
        const r = await asSenex("systemctl --user start senex-acme.service && echo started", 300_000);
        const log = (await asSenex("journalctl --user -u senex-acme.service --no-pager -n 40")).stdout;
        expect(`${r.stdout}${r.stderr}\n${log}`).toContain("started");
        // nginx re-reads its certificate on the SIGHUP the deploy step sends; workers turn over within seconds.
        let issuer = "";
        for (let i = 0; i < 20 && !/^Pebble/.test(issuer); i++) {
            issuer = (await viaNginx("/health/")).issuer ?? "";
            if (!/^Pebble/.test(issuer)) await new Promise((res) => setTimeout(res, 500));
        }
        if (!/^Pebble/.test(issuer)) console.log(`senex-acme journal:\n${log}`);
        expect(issuer).toMatch(/^Pebble Intermediate CA/);
    });

    it("a second up with no change opens zero SSH sessions and changes nothing", async () => {
        const before = await sshLogins();
        const up = await cli.up(STACK, ["--refresh=false"], { timeoutMs: UP_TIMEOUT_MS });
        expect(up.exitCode).toBe(0);
        expect(up.stdout).not.toMatch(/updated|created|replaced|deleted/i);
        expect(await sshLogins()).toBe(before);
    });

    it("no secret value is in the state file, any CLI output, a unit file or a file other users can read", async () => {
        const state = fs
            .readdirSync(tempRoot, { recursive: true, withFileTypes: true })
            .filter((e) => e.isFile() && e.parentPath.includes("backend"))
            .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), "utf8"))
            .join("\n");
        const out = cli.allOutput();
        const values = [...Object.values(secrets), registry.password, deployKey.private.split("\n")[2]!];
        for (const v of values) {
            expect(state).not.toContain(v);
            expect(out).not.toContain(v);
        }
        // On the host: unit files, and every file readable by others.
        const scan = await host.exec(["sh", "-c", 'for v in "$@"; do grep -rlF -- "$v" /home/senex/.config/containers/systemd /etc/systemd/system 2>/dev/null; find / -xdev -type f -perm -o=r -size -1M 2>/dev/null | grep -v ^/proc | xargs grep -lF -- "$v" 2>/dev/null; done; true', "scan", ...values]);
        expect(scan.stdout.trim()).toBe("");
    });

    it("changing one service's value restarts only that service", async () => {
        const invocations = async () =>
            Object.fromEntries(
                (await asSenex("for u in senex-postgres senex-redis-broker senex-daphne-8001 senex-celery-worker senex-celery-beat senex-nginx; do echo $u $(systemctl --user show -p InvocationID --value $u.service); done")).stdout
                    .trim()
                    .split("\n")
                    .map((l) => l.split(" ")),
            );
        const before = await invocations();
        await cli.run(["config", "set", "--path", "senex-infra:celery.concurrency", "--plaintext", "--stack", STACK], { stdin: "3" });
        const up = await cli.up(STACK, ["--refresh=false"], { timeoutMs: UP_TIMEOUT_MS });
        expect(up.exitCode).toBe(0);
        const after = await invocations();
        const restarted = Object.keys(before).filter((u) => before[u] !== after[u]);
        expect(restarted).toEqual(["senex-celery-worker"]);
        expect((await asSenex("systemctl --user is-active senex-celery-worker.service")).stdout.trim()).toBe("active");
    });

    it("rotating the database password: ALTER ROLE first, then the podman secret and the app, healthy after; never on a process list", async () => {
        const rotated = `dbAppPassword-rotated-${randomBytes(18).toString("hex")}`;
        // Watch every process's arguments on the host for the whole apply.
        await host.exec(["sh", "-c", "(while [ ! -e /run/stop-ps-watch ]; do ps -eo args; sleep 0.05; done) > /run/ps-watch.log 2>&1 &"]);
        await cli.run(["config", "set", "--path", "senex-infra:secrets.dbAppPassword", "--secret", "--stack", STACK], { stdin: rotated });
        const up = await cli.up(STACK, ["--refresh=false"], { timeoutMs: UP_TIMEOUT_MS });
        await host.exec(["sh", "-c", "touch /run/stop-ps-watch; sleep 0.3"]);
        expect(up.exitCode).toBe(0);
        const stored = await asSenex("podman exec --user postgres senex-postgres psql -Atc \"SELECT rolpassword FROM pg_authid WHERE rolname = 'senex'\"");
        expect(stored.stdout.trim()).toBe(roleVerifier("senex", rotated));
        const health = await viaNginx("/health/");
        expect(health.status).toBe(200);
        const watched = await host.exec(["sh", "-c", "wc -l < /run/ps-watch.log; grep -cF -e \"$1\" -e \"$2\" /run/ps-watch.log || true", "scan", rotated, secrets.dbAppPassword!]);
        const [lines, hits] = watched.stdout.trim().split("\n").map(Number);
        expect(lines).toBeGreaterThan(50);
        expect(hits).toBe(0);
        secrets.dbAppPassword = rotated;
    });

    it("the host firewall refuses a peer without a role on the database and Redis ports, not on HTTPS", async () => {
        const probe = (port: number) => peer.exec(["sh", "-c", `timeout 3 bash -c '</dev/tcp/${host.address}/${port}' && echo open || echo closed`]);
        expect((await probe(5432)).stdout.trim()).toBe("closed");
        expect((await probe(6379)).stdout.trim()).toBe("closed");
        expect((await probe(6380)).stdout.trim()).toBe("closed");
        expect((await probe(443)).stdout.trim()).toBe("open");
    });

    it("after three more applies (one of them restarting the app), the migrations still ran once", async () => {
        expect(JSON.parse((await viaNginx("/migrations/")).body)).toEqual({ runs: 1 });
    });

    it("no secret value (rotated ones included) is in the host's journal", async () => {
        const values = [...Object.values(secrets), registry.password];
        const script = 'journalctl --no-pager -o cat > /run/journal-scan.txt; wc -l < /run/journal-scan.txt; for v in "$@"; do grep -cF -- "$v" /run/journal-scan.txt; done | awk "{ s += \\$1 } END { print s + 0 }"';
        const scan = await host.exec(["sh", "-c", script, "scan", ...values]);
        const [lines, hits] = scan.stdout.trim().split("\n").map(Number);
        expect(lines).toBeGreaterThan(1000);
        expect(hits).toBe(0);
    });

    it("refresh shows a file changed on the host, and the next up puts it back and restarts its unit", async () => {
        const conf = "/home/senex/.config/senex/nginx/nginx.conf";
        const original = (await host.exec(["cat", conf])).stdout;
        await host.exec(["sh", "-c", `echo '# edited by hand' >> ${conf}`]);
        const refresh = await cli.refresh(STACK, [], { timeoutMs: UP_TIMEOUT_MS });
        expect(refresh.exitCode).toBe(0);
        // Only the user layer read back differently from its state.
        expect(refresh.stdout).toMatch(/senex-main-services-user\s+updated/);
        expect(refresh.stdout).toMatch(/~ 1 updated/);
        const preview = await cli.preview(STACK, ["--diff", "--refresh=false"], { timeoutMs: UP_TIMEOUT_MS });
        expect(preview.stdout).toContain(conf);
        const nginxBefore = (await asSenex("systemctl --user show -p InvocationID --value senex-nginx.service")).stdout.trim();
        expect((await cli.up(STACK, ["--refresh=false"], { timeoutMs: UP_TIMEOUT_MS })).exitCode).toBe(0);
        expect((await host.exec(["cat", conf])).stdout).toBe(original);
        expect((await asSenex("systemctl --user show -p InvocationID --value senex-nginx.service")).stdout.trim()).not.toBe(nginxBefore);
        expect((await viaNginx("/health/")).status).toBe(200);
    });

    it("senex cannot become root", async () => {
        const r = await asSenex("sudo -n true 2>&1; echo rc=$?; su -c true root </dev/null 2>&1; echo rc=$?");
        expect(r.stdout).toMatch(/rc=[1-9]\d*\n[\s\S]*rc=[1-9]/);
        expect(r.stdout).not.toMatch(/rc=0/);
    });
});

describe("pulumi destroy of the stack", () => {
    it("stops and removes the services from state alone, leaving the bootstrap (users, firewall) in place", async () => {
        const destroy = await cli.destroy(STACK, [], { timeoutMs: UP_TIMEOUT_MS });
        expect(destroy.exitCode).toBe(0);
        const units = await asSenex("systemctl --user list-units 'senex-*' --no-legend --plain | wc -l; ls /home/senex/.config/containers/systemd | wc -l; podman secret ls --noheading | wc -l");
        expect(units.stdout.trim().split("\n").map(Number)).toEqual([0, 0, 0]);
        expect((await host.exec(["sh", "-c", "id -u senex >/dev/null && nft list table inet senex >/dev/null && echo kept"])).stdout.trim()).toBe("kept");
        // Data volumes are never deleted by a destroy: an operator removes them on purpose.
        expect((await asSenex("podman volume exists senex-postgres-data && echo kept")).stdout.trim()).toBe("kept");
    });
});
