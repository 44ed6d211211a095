/**
 * The stand-in app image and the test registry, on a real test host: the image (built from
 * Debian trixie packages by test/hosts/app/build-image.sh) is pushed to the registry with auth +
 * TLS, a host booted from our seed pulls it as rootless `senex` (refused without credentials),
 * and the app runs against PostgreSQL 17 and Valkey on that host with the environment rendered by
 * render/appenv.ts and its secrets as podman secrets: migrate once, collectstatic, /health/, a
 * WebSocket round trip through the Redis channel layer (foreign Origin refused), a Celery task
 * submitted through the app, and beat firing.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { appSecretRefs, renderAppEnv } from "../../../render/appenv";
import { cacheRoot } from "../../support/cache";
import { wsConnect } from "../../support/websocket";
import { TestHost, destroyHosts } from "../harness";
import { TestRegistry, startRegistry } from "../harness/registry";
import { EMPTY_AUTH_FILE, RegistryHost, SENEX_AUTH_FILE, startRegistryHost } from "../harness/seeded";

jest.setTimeout(900_000);

const REPO = "senex/app";
const TAG = "test";
const DOMAIN = "app.test";
const DAPHNE_PORT = 8001;
/** A registry port of this suite's own, so hosts-tier suites using the test registry can run at the same time. */
const REGISTRY_PORT = 5002;

describe("stand-in app image from the test registry", () => {
  let registry: TestRegistry;
  let host: TestHost;
  let digest: string;
  let image: string;
  /** Runs argv as `senex` (rootless podman needs its runtime dir). */
  let asSenex: RegistryHost["asSenex"];
  const dbPassword = randomBytes(12).toString("hex");
  const redisPassword = randomBytes(12).toString("hex");

  /** `podman run` argv with the rendered env file and every app secret, on the host network. */
  const appRun = (extra: string[], command: string[]) => [
    "podman", "run", "--network=host", "--env-file=/home/senex/app.env",
    ...appSecretRefs().map((ref) => `--secret=${ref.name},type=env,target=${ref.type === "env" ? ref.target : ""}`),
    ...extra, image, ...command,
  ];

  const http = async (method: string, urlPath: string, body?: unknown) => {
    const res = await fetch(`http://${host.address}:${DAPHNE_PORT}${urlPath}`, {
      method, body: body === undefined ? undefined : JSON.stringify(body), headers: { "content-type": "application/json" },
    });
    const text = await res.text();
    try {
      return { status: res.status, json: JSON.parse(text) as Record<string, unknown> };
    } catch {
      const logs = await asSenex(["sh", "-c", "for c in daphne worker beat; do echo \"== $c\"; podman logs --tail 30 $c 2>&1; done"]);
      throw new Error(`${method} ${urlPath}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}\n${logs.stdout}`);
    }
  };

  beforeAll(async () => {
    const oci = fs.realpathSync(path.join(cacheRoot(), "senex-app-current.oci.tar"));
    registry = await startRegistry({ port: REGISTRY_PORT });
    const t0 = Date.now();
    digest = await registry.push(oci, REPO, TAG);
    console.log(`push ${(fs.statSync(oci).size / 2 ** 20).toFixed(0)} MiB OCI archive: ${Date.now() - t0} ms`);
    image = `${registry.address}/${REPO}:${TAG}`;
    const seeded = await startRegistryHost({
      name: "app-1",
      registry,
      packages: ["podman", "uidmap", "passt", "postgresql-17", "valkey-server"],
    });
    ({ host, asSenex } = seeded);
    console.log(`cloud-init with podman + postgresql-17 + valkey: ${seeded.cloudInitMs} ms after SSH`);

    // PostgreSQL 17 (Debian's cluster, SSL on with the snakeoil cert) and two Valkey instances with
    // a password, like the broker (6379) and the cache (6380).
    const db = await host.exec(["runuser", "-u", "postgres", "--", "psql", "-v", "ON_ERROR_STOP=1", "-f", "-"], {
      input: `CREATE ROLE senex LOGIN PASSWORD '${dbPassword}';\nCREATE DATABASE senex OWNER senex;\n`,
    });
    if (db.code !== 0) throw new Error(`psql: ${db.stderr}`);
    const valkey = await host.exec(["sh", "-c", "valkey-cli -p 6379 CONFIG SET requirepass \"$P\" && valkey-server --port 6380 --bind 127.0.0.1 --daemonize yes --requirepass \"$P\" --maxmemory-policy allkeys-lru"], { env: { P: redisPassword } });
    if (valkey.code !== 0) throw new Error(`valkey: ${valkey.stdout}${valkey.stderr}`);

    const env = renderAppEnv({
      domain: DOMAIN,
      settingsModule: "senextrader.settings.production",
      database: { name: "senex", user: "senex", endpoint: { mode: "direct", host: "127.0.0.1" }, sslmode: "require" },
      redis: { mode: "direct", host: "127.0.0.1" },
      staticRoot: "/srv/static",
      extraAllowedHosts: [host.address],
      extra: { BEAT_INTERVAL_SECONDS: "2" },
    });
    await host.exec(["sh", "-c", "cat > /home/senex/app.env && chown senex: /home/senex/app.env"], { input: env });
    const secretValues: Record<string, string> = {
      "senex-db-app-password": dbPassword,
      "senex-redis-password": redisPassword,
    };
    for (const ref of appSecretRefs()) {
      const value = secretValues[ref.name] ?? randomBytes(24).toString("base64url");
      const r = await asSenex(["podman", "secret", "create", ref.name, "-"], { input: value });
      if (r.code !== 0) throw new Error(`podman secret create ${ref.name}: ${r.stderr}`);
    }
  });

  afterAll(async () => {
    if (host) await destroyHosts([host]);
    if (registry) await registry.stop();
  });

  it("refuses a pull without credentials", async () => {
    const r = await asSenex(["podman", "pull", "--authfile", EMPTY_AUTH_FILE, image]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/authentication required|unauthorized/i);
  });

  it("pulls with the auth file over TLS from the test CA, at the pushed digest", async () => {
    const t0 = Date.now();
    const r = await asSenex(["podman", "pull", "--quiet", "--authfile", SENEX_AUTH_FILE, image]);
    console.log(`pull as senex: ${Date.now() - t0} ms`);
    expect(r.code).toBe(0);
    const inspect = await asSenex(["podman", "image", "inspect", "--format", "{{.Digest}}", image]);
    expect(inspect.stdout.trim()).toBe(digest);
  });

  it("migrates once (a second migrate applies nothing)", async () => {
    const first = await asSenex(appRun(["--rm"], ["python3", "manage.py", "migrate", "--noinput"]));
    expect(first.stderr).not.toMatch(/Traceback/);
    expect(first.stdout).toMatch(/Applying trading\.0001_initial\.\.\. OK/);
    const second = await asSenex(appRun(["--rm"], ["python3", "manage.py", "migrate", "--noinput"]));
    expect(second.stdout).toMatch(/No migrations to apply/);
  });

  it("collects static files into a volume", async () => {
    const r = await asSenex(appRun(["--rm", "-v", "senex-static:/srv/static"], ["python3", "manage.py", "collectstatic", "--noinput"]));
    expect(r.stdout).toMatch(/static files? copied/);
    const ls = await asSenex(["podman", "run", "--rm", "-v", "senex-static:/srv/static", image, "cat", "/srv/static/senex/app.css"]);
    expect(ls.stdout).toMatch(/font-family/);
  });

  it("serves /health/ through daphne with the database and the cache", async () => {
    const r = await asSenex(appRun(["-d", "--name", "daphne"],
      ["daphne", "--proxy-headers", "-b", host.address, "-p", String(DAPHNE_PORT), "senextrader.asgi:application"]));
    expect(r.code).toBe(0);
    let last: unknown;
    for (let i = 0; i < 100; i++) {
      try {
        last = await http("GET", "/health/");
        if ((last as { status: number }).status === 200) break;
      } catch (e) {
        last = e;
      }
      await new Promise((res) => setTimeout(res, 300));
    }
    expect(last).toEqual({ status: 200, json: { status: "ok", database: "ok", cache: "ok" } });
    const migrations = await http("GET", "/migrations/");
    expect(migrations.json).toEqual({ runs: 1 });
  });

  it("round-trips a WebSocket message through the Redis channel layer, and refuses a foreign Origin", async () => {
    const ok = await wsConnect({ host: host.address, port: DAPHNE_PORT, path: "/ws/echo/", hostHeader: DOMAIN, origin: `https://${DOMAIN}` });
    expect(ok.status).toBe(101);
    ok.socket!.send("ping-123");
    expect(await ok.socket!.next()).toBe("ping-123");
    ok.socket!.close();
    const foreign = await wsConnect({ host: host.address, port: DAPHNE_PORT, path: "/ws/echo/", hostHeader: DOMAIN, origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
  });

  it("executes a Celery task submitted through the app and broadcasts the result", async () => {
    const worker = await asSenex(appRun(["-d", "--name", "worker"], ["celery", "-A", "senextrader", "worker", "--loglevel=INFO", "--concurrency=1"]));
    expect(worker.code).toBe(0);
    const ws = await wsConnect({ host: host.address, port: DAPHNE_PORT, path: "/ws/orders/", hostHeader: DOMAIN, origin: `https://${DOMAIN}` });
    expect(ws.status).toBe(101);
    const created = await http("POST", "/orders/", { symbol: "SPY", quantity: 3 });
    expect(created.status).toBe(201);
    const id = created.json.id;
    expect(JSON.parse(await ws.socket!.next(60_000))).toEqual({ id, status: "filled" });
    ws.socket!.close();
    expect((await http("GET", `/orders/${id}/`)).json).toEqual({ id, status: "filled" });
  });

  it("fires Celery beat's schedule", async () => {
    const beat = await asSenex(appRun(["-d", "--name", "beat"], ["celery", "-A", "senextrader", "beat", "--loglevel=INFO", "--schedule=/tmp/celerybeat-schedule"]));
    expect(beat.code).toBe(0);
    let count = 0;
    for (let i = 0; i < 60 && count < 2; i++) {
      await new Promise((res) => setTimeout(res, 500));
      count = (await http("GET", "/beat/")).json.heartbeats as number;
    }
    expect(count).toBeGreaterThanOrEqual(2);
    console.log(`host memory with postgres, 2 valkey, daphne, worker, beat: ${(host.memoryPssKiB() / 1024).toFixed(0)} MiB PSS`);
  });
});
