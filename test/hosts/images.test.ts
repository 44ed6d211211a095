/**
 * The stand-in service images (test/hosts/images: PostgreSQL 17 + pgBackRest, Valkey under the
 * redis-* names, nginx, PgBouncer — all Debian trixie packages) honour the contract senex-infra's
 * Quadlets rely on from the official images, proved for real: the four OCI archives are pushed
 * to the test registry, one seeded test host pulls them as rootless `senex`, and every container
 * runs the way the rendered Quadlets run them (host network on the private address,
 * no-new-privileges, config mounted from senex's home, named volumes).
 */
import { spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderNginxConf } from "../../render/nginx";
import { renderPgBouncerAuthFile, scramVerifier } from "../../render/pgbouncer";
import { CONTAINER_USERS } from "../../render/quadlet-host";
import { cacheRoot } from "../support/cache";
import { TestHost, ToolRun, destroyHosts } from "./harness";
import { TestRegistry, startRegistry } from "./harness/registry";
import { RegistryHost, SENEX_AUTH_FILE, startRegistryHost } from "./harness/seeded";

jest.setTimeout(900_000);

const IMAGES = ["postgres", "redis", "nginx", "pgbouncer"] as const;
type ImageName = (typeof IMAGES)[number];
const TAG = "test";
/** Not app.test.ts's 5000, so the two suites can run at the same time. */
const REGISTRY_PORT = 5001;

describe("stand-in service images (postgres, redis, nginx, pgbouncer) on a test host", () => {
  let registry: TestRegistry;
  let host: TestHost;
  let asSenex: RegistryHost["asSenex"];
  const image = {} as Record<ImageName, string>;
  const digest = {} as Record<ImageName, string>;
  const redisPassword = randomBytes(18).toString("base64url");
  const pgPassword = randomBytes(18).toString("base64url");
  const bouncerPassword = randomBytes(18).toString("base64url");

  /** Runs argv as senex and returns stdout; throws with the output unless it exits 0. */
  const ok = async (argv: string[], input?: string): Promise<string> => {
    const r = await asSenex(argv, { input });
    if (r.code !== 0) throw new Error(`${argv.join(" ")}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  /** `podman run -d` the way the Quadlets run services: host network, no-new-privileges. */
  const runService = (name: string, extra: string[], img: string, command: string[] = []) =>
    ok(["podman", "run", "-d", "--name", name, "--network=host", "--security-opt=no-new-privileges", ...extra, img, ...command]);
  /** Polls argv (as senex) until it exits 0; throws with the last output and the container's log. */
  const waitFor = async (argv: string[], container: string, timeoutMs = 60_000): Promise<ToolRun> => {
    const deadline = Date.now() + timeoutMs;
    let last: ToolRun;
    do {
      last = await asSenex(argv);
      if (last.code === 0) return last;
      await new Promise((res) => setTimeout(res, 500));
    } while (Date.now() < deadline);
    const logs = await asSenex(["podman", "logs", "--tail", "40", container]);
    throw new Error(`${argv.join(" ")} never succeeded: ${last.stdout}${last.stderr}\n== ${container} log:\n${logs.stdout}${logs.stderr}`);
  };
  /** The ids the rendered Quadlets chown files to (render/quadlet-host.ts CONTAINER_USERS): real, effective, saved, fs. */
  const allUids = (uid: number) => `${uid} ${uid} ${uid} ${uid}`;
  /** The uid line of PID 1 of a container ("999 999 999 999"). */
  const pid1Uids = async (container: string) =>
    (await ok(["podman", "exec", container, "sh", "-c", "grep ^Uid: /proc/1/status"])).replace(/^Uid:\s*/, "").trim().split(/\s+/).join(" ");
  /** Writes files 0600 into a directory of senex's home, chowned to `owner` inside senex's user namespace (as the host-files provider's containerOwner does). */
  const configDir = async (dir: string, files: Record<string, string>, owner = `${CONTAINER_USERS.redis.uid}:${CONTAINER_USERS.redis.gid}`) => {
    await ok(["mkdir", "-p", dir]);
    for (const [name, content] of Object.entries(files)) {
      await ok(["sh", "-c", 'umask 077 && cat > "$0"', `${dir}/${name}`], content);
    }
    await ok(["podman", "unshare", "chown", "-R", owner, dir]);
  };

  beforeAll(async () => {
    registry = await startRegistry({ port: REGISTRY_PORT });
    for (const name of IMAGES) {
      const oci = fs.realpathSync(path.join(cacheRoot(), `senex-${name}-current.oci.tar`));
      const t0 = Date.now();
      digest[name] = await registry.push(oci, `senex/${name}`, TAG);
      image[name] = `${registry.address}/senex/${name}:${TAG}`;
      console.log(`push senex/${name} (${(fs.statSync(oci).size / 2 ** 20).toFixed(0)} MiB archive): ${Date.now() - t0} ms`);
    }
    const seeded = await startRegistryHost({ name: "images-1", registry, packages: ["podman", "uidmap", "passt"] });
    ({ host, asSenex } = seeded);
    console.log(`cloud-init with podman: ${seeded.cloudInitMs} ms after SSH`);
  });

  afterAll(async () => {
    if (host) await destroyHosts([host]);
    if (registry) await registry.stop();
  });

  it("pulls the four images as senex at the pushed digests", async () => {
    for (const name of IMAGES) {
      const t0 = Date.now();
      await ok(["podman", "pull", "--quiet", "--authfile", SENEX_AUTH_FILE, image[name]]);
      const [got, size] = (await ok(["podman", "image", "inspect", "--format", "{{.Digest}} {{.Size}}", image[name]])).trim().split(" ");
      console.log(`pull senex/${name}: ${Date.now() - t0} ms, ${(Number(size) / 1e6).toFixed(0)} MB`);
      expect(got).toBe(digest[name]);
    }
  });

  describe("senex/postgres", () => {
    const listen = () => ["-c", `listen_addresses=${host.address},localhost`, "-c", "shared_preload_libraries=pg_stat_statements"];

    it("refuses to initialise without a password or trust, with docker-library's message", async () => {
      const r = await asSenex(["podman", "run", "--rm", "--security-opt=no-new-privileges", "-v", "pg-refused:/var/lib/postgresql/data", image.postgres]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/Error: Database is uninitialized and superuser password is not specified\./);
      expect(await ok(["podman", "run", "--rm", "-v", "pg-refused:/d", "--entrypoint", "ls", image.postgres, "-A", "/d"])).toBe("");
    });

    it("initialises an empty named volume as uid 999 (trust, no password) and runs as 999", async () => {
      await ok(["podman", "volume", "create", "pg-data"]);
      await runService("pg", ["-v", "pg-data:/var/lib/postgresql/data", "-e", "POSTGRES_HOST_AUTH_METHOD=trust", "-e", "POSTGRES_DB=senex"],
        image.postgres, ["postgres", ...listen()]);
      // The rendered Quadlet's health check: pg_isready on the private address.
      await waitFor(["podman", "exec", "pg", "pg_isready", "-q", "-h", host.address, "-p", "5432"], "pg");
      expect(await pid1Uids("pg")).toBe(allUids(CONTAINER_USERS.postgres.uid));
      expect((await ok(["podman", "exec", "pg", "stat", "-c", "%u:%g %a", "/var/lib/postgresql/data"])).trim()).toBe(`${CONTAINER_USERS.postgres.uid}:${CONTAINER_USERS.postgres.gid} 700`);
      expect((await ok(["podman", "exec", "pg", "cat", "/var/lib/postgresql/data/PG_VERSION"])).trim()).toBe("17");
      expect((await ok(["podman", "logs", "pg"]))).toMatch(/PostgreSQL init process complete; ready for start up\./);
    });

    it("answers pg_isready and psql over the local socket; POSTGRES_DB exists", async () => {
      expect(await ok(["podman", "exec", "pg", "pg_isready"])).toMatch(/\/var\/run\/postgresql:5432 - accepting connections/);
      expect(await ok(["podman", "exec", "pg", "psql", "-U", "postgres", "-tAc", "select 1"])).toBe("1\n");
      expect(await ok(["podman", "exec", "pg", "psql", "-U", "postgres", "-d", "senex", "-tAc", "select current_database()"])).toBe("senex\n");
    });

    it("has pgBackRest and the server tools on PATH", async () => {
      expect(await ok(["podman", "exec", "pg", "pgbackrest", "version"])).toMatch(/^pgBackRest 2\.\d+/);
      const which = await ok(["podman", "exec", "pg", "sh", "-c", "for t in postgres initdb pg_ctl pg_isready psql pg_basebackup pgbackrest; do command -v $t; done"]);
      expect(which.trim().split("\n")).toEqual([
        ...["postgres", "initdb", "pg_ctl", "pg_isready", "psql", "pg_basebackup"].map((t) => `/usr/lib/postgresql/17/bin/${t}`),
        "/usr/bin/pgbackrest",
      ]);
    });

    it("creates pg_stat_statements (preloaded, as the rendered postgresql.conf does)", async () => {
      const out = await ok(["podman", "exec", "pg", "psql", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-tA",
        "-c", "CREATE EXTENSION pg_stat_statements", "-c", "select count(*) > 0 from pg_stat_statements"]);
      expect(out).toMatch(/^CREATE EXTENSION\nt\n$/);
    });

    it("reads POSTGRES_PASSWORD_FILE from a root-only podman secret and requires that password over TCP", async () => {
      await ok(["podman", "secret", "create", "pg-superuser", "-"], pgPassword);
      await runService("pg-pw", ["-v", "pg-pw-data:/var/lib/postgresql/data", "--secret", "pg-superuser,type=mount,mode=0400",
        "-e", "POSTGRES_PASSWORD_FILE=/run/secrets/pg-superuser"], image.postgres, ["postgres", "-c", "port=5433", ...listen()]);
      await waitFor(["podman", "exec", "pg-pw", "pg_isready", "-q", "-h", host.address, "-p", "5433"], "pg-pw");
      const psql = (password: string) => asSenex(["podman", "exec", "-e", `PGPASSWORD=${password}`, "pg-pw",
        "psql", "-h", host.address, "-p", "5433", "-U", "postgres", "-tAc", "select 1"]);
      expect((await psql(pgPassword)).stdout).toBe("1\n");
      const wrong = await psql("not-the-password");
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/password authentication failed for user "postgres"/);
      // The password is not left in the server's environment.
      expect(await ok(["podman", "exec", "pg-pw", "sh", "-c", "tr '\\0' '\\n' < /proc/1/environ | grep -c ^POSTGRES_PASSWORD || true"])).toBe("0\n");
    });

    it("stops with SIGINT (fast shutdown)", async () => {
      expect((await ok(["podman", "image", "inspect", "--format", "{{.Config.StopSignal}}", image.postgres])).trim()).toBe("SIGINT");
      await ok(["podman", "stop", "-t", "30", "pg-pw"]);
      const logs = await asSenex(["podman", "logs", "pg-pw"]); // the server logs to stderr
      expect(logs.stderr).toMatch(/received fast shutdown request/);
      expect(logs.stderr).toMatch(/database system is shut down/);
    });
  });

  describe("senex/redis (valkey)", () => {
    const port = 6379;

    it("starts on a config whose requirepass comes from an included file, as uid 999", async () => {
      await configDir("/home/senex/redis-broker", {
        "redis.conf": `include /etc/senex/redis-broker/auth.conf\nbind ${host.address} 127.0.0.1\nport ${port}\ndaemonize no\nlogfile ""\ndir /data\nappendonly yes\n`,
        "auth.conf": `requirepass ${redisPassword}\nmasterauth ${redisPassword}\n`,
      });
      // As the rendered Quadlet: data volume on /data, config dir mounted read-write.
      await runService("redis", ["-v", "redis-data:/data", "-v", "/home/senex/redis-broker:/etc/senex/redis-broker:rw"],
        image.redis, ["redis-server", "/etc/senex/redis-broker/redis.conf"]);
      await waitFor(["podman", "exec", "redis", "sh", "-c", `redis-cli -h ${host.address} -p ${port} ping | grep -q NOAUTH`], "redis");
      expect(await pid1Uids("redis")).toBe(allUids(CONTAINER_USERS.redis.uid));
      expect((await ok(["podman", "top", "redis", "user", "args"])).split("\n")[1]).toMatch(/^redis\s+valkey-server|^redis\s+redis-server/);
      expect((await ok(["podman", "exec", "redis", "stat", "-c", "%u:%g", "/data", "/data/appendonlydir"])).trim().split("\n")).toEqual(Array(2).fill(`${CONTAINER_USERS.redis.uid}:${CONTAINER_USERS.redis.gid}`));
    });

    it("answers PING only with the password (the rendered REDISCLI_AUTH health check)", async () => {
      const noAuth = await asSenex(["podman", "exec", "redis", "redis-cli", "-h", host.address, "-p", String(port), "ping"]);
      expect(noAuth.stdout).toMatch(/NOAUTH Authentication required/);
      const wrong = await asSenex(["podman", "exec", "-e", "REDISCLI_AUTH=wrong-password", "redis", "redis-cli", "--no-auth-warning", "-h", host.address, "-p", String(port), "ping"]);
      expect(wrong.stdout).not.toMatch(/PONG/);
      const pong = await ok(["podman", "exec", "-e", `REDISCLI_AUTH=${redisPassword}`, "redis",
        "redis-cli", "--no-auth-warning", "-h", host.address, "-p", String(port), "ping"]);
      expect(pong.trim()).toBe("PONG");
    });

    it("runs Sentinel under the name redis-sentinel", async () => {
      expect(await ok(["podman", "run", "--rm", image.redis, "redis-sentinel", "--version"])).toMatch(/v=8\.\d+\.\d+/);
      await configDir("/home/senex/redis-sentinel", {
        "sentinel.conf": `bind ${host.address}\nport 26379\nsentinel monitor senex ${host.address} ${port} 1\nsentinel auth-pass senex ${redisPassword}\n`,
      });
      await runService("sentinel", ["-v", "/home/senex/redis-sentinel:/etc/senex/redis-sentinel:rw"], image.redis,
        ["redis-sentinel", "/etc/senex/redis-sentinel/sentinel.conf"]);
      const info = await waitFor(["podman", "exec", "sentinel", "sh", "-c",
        `redis-cli -h ${host.address} -p 26379 info sentinel | grep -q 'master0:name=senex,status=ok' && redis-cli -h ${host.address} -p 26379 sentinel get-master-addr-by-name senex`], "sentinel");
      expect(info.stdout.trim().split("\n")).toEqual([host.address, String(port)]);
      expect(await pid1Uids("sentinel")).toBe(allUids(CONTAINER_USERS.redis.uid));
    });

    it("never contains trixie's AGPL redis packages", async () => {
      const r = await asSenex(["podman", "run", "--rm", image.redis, "dpkg-query", "-W", "-f", "${Package}\\n", "redis-server", "redis-tools", "redis-sentinel"]);
      expect(r.stdout).toBe("");
      expect(await ok(["podman", "run", "--rm", image.redis, "dpkg-query", "-W", "-f", "${Package}\\n", "valkey-server"])).toBe("valkey-server\n");
    });
  });

  describe("senex/nginx", () => {
    it("accepts the rendered nginx.conf (nginx -t, mounted as the Quadlet mounts it)", async () => {
      const conf = renderNginxConf({ domain: "example.test", upstreams: [{ address: host.address, port: 8001 }], realIp: { mode: "direct" } });
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "senex-images-tls-"));
      try {
        const r = spawnSync("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
          "-subj", "/CN=example.test", "-keyout", path.join(tmp, "privkey.pem"), "-out", path.join(tmp, "fullchain.pem")], { encoding: "utf8" });
        if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
        await configDir("/home/senex/nginx", { "nginx.conf": conf }, "0:0");
        await configDir("/home/senex/tls", {
          "fullchain.pem": fs.readFileSync(path.join(tmp, "fullchain.pem"), "utf8"),
          "privkey.pem": fs.readFileSync(path.join(tmp, "privkey.pem"), "utf8"),
        }, "0:0");
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
      await ok(["mkdir", "-p", "/home/senex/acme-webroot"]);
      // Own network namespace: `nginx -t` binds the listen sockets too, and the test host does not
      // lower ip_unprivileged_port_start to 80 as the bootstrap does on real servers.
      const t = await asSenex(["podman", "run", "--rm", "--security-opt=no-new-privileges",
        "-v", "/home/senex/nginx:/etc/senex/nginx:ro", "-v", "/home/senex/tls:/etc/senex/tls:ro", "-v", "/home/senex/acme-webroot:/srv/acme:ro",
        "-v", "static:/srv/static:ro", image.nginx, "nginx", "-t", "-c", "/etc/senex/nginx/nginx.conf"]);
      expect(t.stderr).toMatch(/syntax is ok/);
      expect(t.stderr).toMatch(/test is successful/);
      expect(t.code).toBe(0);
    });

    it("serves a file from a volume on a minimal conf, logging to stdout; workers are not root", async () => {
      await configDir("/home/senex/nginx-min", {
        "nginx.conf": [
          "worker_processes 1;", "pid /tmp/nginx.pid;", "error_log stderr warn;", "events { worker_connections 64; }",
          "http {", "  include /etc/nginx/mime.types;", "  client_body_temp_path /tmp/nginx-client-body;", "  proxy_temp_path /tmp/nginx-proxy;",
          "  access_log /dev/stdout;",
          `  server { listen ${host.address}:8080; location /static/ { alias /srv/static/; } }`, "}", "",
        ].join("\n"),
      }, "0:0");
      await ok(["podman", "run", "--rm", "-v", "static:/srv/static", "--entrypoint", "sh", image.nginx, "-c", "echo hello-from-static > /srv/static/hello.txt"]);
      await runService("nginx", ["-v", "/home/senex/nginx-min:/etc/senex/nginx:ro", "-v", "static:/srv/static:ro"], image.nginx,
        ["nginx", "-c", "/etc/senex/nginx/nginx.conf", "-g", "daemon off;"]);
      let body = "";
      for (let i = 0; i < 60 && body === ""; i++) {
        try {
          const res = await fetch(`http://${host.address}:8080/static/hello.txt`);
          body = res.status === 200 ? await res.text() : "";
        } catch {
          await new Promise((res) => setTimeout(res, 500));
        }
      }
      expect(body).toBe("hello-from-static\n");
      expect(await ok(["podman", "logs", "nginx"])).toMatch(/"GET \/static\/hello\.txt HTTP\/1\.1" 200/);
      const procs = (await ok(["podman", "top", "nginx", "user", "args"])).trim().split("\n").slice(1);
      expect(procs.find((p) => /master process/.test(p))).toMatch(/^root\s/);
      expect(procs.filter((p) => /worker process/.test(p)).every((p) => !/^root\s/.test(p))).toBe(true);
    });

    it("has the official image's default layout: user nginx 101, logs linked to stdout/stderr, Cmd daemon off", async () => {
      const out = await ok(["podman", "run", "--rm", image.nginx, "sh", "-c",
        "id -u nginx; id -g nginx; readlink /var/log/nginx/access.log /var/log/nginx/error.log; nginx -t 2>&1"]);
      expect(out).toMatch(/^101\n101\n\/dev\/stdout\n\/dev\/stderr\n[\s\S]*test is successful/);
      expect(JSON.parse(await ok(["podman", "image", "inspect", "--format", "{{json .Config.Cmd}}", image.nginx]))).toEqual(["nginx", "-g", "daemon off;"]);
    });
  });

  describe("senex/pgbouncer", () => {
    it("starts on a minimal ini as the rendered Quadlet runs it, as uid 1001 gid 0, and pools to PostgreSQL", async () => {
      // A role on the trust PostgreSQL above with the SCRAM verifier PgBouncer's auth_file holds.
      const verifier = scramVerifier(bouncerPassword, randomBytes(16));
      await ok(["podman", "exec", "-i", "pg", "psql", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-f", "-"],
        `CREATE ROLE senex LOGIN PASSWORD '${verifier}';\nGRANT ALL ON DATABASE senex TO senex;\n`);
      await configDir("/home/senex/pgbouncer", {
        "pgbouncer.ini": [
          "[databases]", "senex = host=127.0.0.1 port=5432 dbname=senex", "",
          "[pgbouncer]", `listen_addr = ${host.address}`, "listen_port = 6432", "unix_socket_dir = /var/run/pgbouncer",
          "auth_type = scram-sha-256", "auth_file = /etc/senex/pgbouncer/userlist.txt", "pool_mode = transaction",
          "ignore_startup_parameters = extra_float_digits,options", "",
        ].join("\n"),
        "userlist.txt": renderPgBouncerAuthFile([{ user: "senex", verifier }]),
      }, `${CONTAINER_USERS.pgbouncer.uid}:${CONTAINER_USERS.pgbouncer.gid}`);
      await runService("pgbouncer", ["-v", "/home/senex/pgbouncer:/etc/senex/pgbouncer:ro"], image.pgbouncer,
        ["pgbouncer", "/etc/senex/pgbouncer/pgbouncer.ini"]);
      // The rendered Quadlet's health check.
      await waitFor(["podman", "exec", "pgbouncer", "pg_isready", "-q", "-h", host.address, "-p", "6432"], "pgbouncer");
      expect(await pid1Uids("pgbouncer")).toBe(allUids(CONTAINER_USERS.pgbouncer.uid));
      expect((await ok(["podman", "exec", "pgbouncer", "id", "-g"])).trim()).toBe(String(CONTAINER_USERS.pgbouncer.gid));
      const q = (password: string) => asSenex(["podman", "exec", "-e", `PGPASSWORD=${password}`, "pgbouncer",
        "psql", `host=${host.address} port=6432 dbname=senex user=senex sslmode=disable`, "-tAc", "select current_user"]);
      expect((await q(bouncerPassword)).stdout).toBe("senex\n");
      const wrong = await q("not-the-password");
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/SASL authentication failed/); // PgBouncer's own SCRAM check, before any server
    });
  });
});
