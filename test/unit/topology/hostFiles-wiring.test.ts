/**
 * Cross-file wiring of every host's file set (issue #5), over every example stack: what one file
 * names (a mount, a path in a config, a uid, a flag, a metric, a variable) is what the other file
 * provides. Each block reads the composed files the way their consumers will.
 */
import * as fs from "fs";
import * as path from "path";
import { parseStackConfig } from "../../../config/schema";
import type { StackConfig } from "../../../config/types";
import { rawConfigFromStackFile } from "../../../plan/stackFile";
import { PGBACKREST_SECRET_ENV } from "../../../render/backup";
import { BACKUP_METRIC, CELERY_QUEUE_EXPORTER_FLAG } from "../../../render/prometheus";
import { CONTAINER_USERS } from "../../../render/quadlet-host";
import { buildTopology } from "../../../topology";
import { hostFiles, type HostFile, type HostFileSet } from "../../../topology/hostFiles";
import { ROLES_FILE } from "../../../topology/hostFiles/roles";
import { CONFIG_ROOT, CONTAINER_CONFIG, MONITOR_USER, QUADLET_DIR, STATE_ROOT } from "../../../topology/hostFiles/layout";
import type { Topology, TopologyHost } from "../../../topology/types";

const ROOT = path.resolve(__dirname, "../../..");
const STACK_FILES = [
  ...fs.readdirSync(ROOT).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f)).map((f) => path.join(ROOT, f)),
  ...fs.readdirSync(path.join(ROOT, "examples")).filter((f) => f.endsWith(".yaml")).map((f) => path.join(ROOT, "examples", f)),
];
const stackName = (file: string) => path.basename(file).replace(/^Pulumi\./, "").replace(/\.yaml$/, "");

interface Case {
  readonly stack: string;
  readonly config: StackConfig;
  readonly topology: Topology;
  readonly host: TopologyHost;
  readonly set: HostFileSet;
}

const STACKS = STACK_FILES.map((file) => {
  const config = parseStackConfig(rawConfigFromStackFile(file), "senex-infra", stackName(file));
  return { stack: stackName(file), config, topology: buildTopology(config) };
});
const CASES: Case[] = STACKS.flatMap(({ stack, config, topology }) => topology.hosts.map((host) => ({ stack, config, topology, host, set: hostFiles(config, topology, host) })));
const table = (filter: (c: Case) => boolean) => CASES.filter(filter).map((c) => [c.stack, c.host.name, c] as const);
const has = (c: Case, kind: string) => c.host.services.some((s) => s.kind === kind);

const quadlet = (c: Case, base: string): string | undefined => c.set.files.find((f) => f.path === `${QUADLET_DIR}/${base}.container`)?.content;
const file = (c: Case, rel: string): HostFile | undefined => c.set.files.find((f) => f.path === (rel.startsWith("/") ? rel : `${CONFIG_ROOT}/${rel}`));
const lines = (text: string, key: string): string[] => [...text.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1]!);
/** `host:container[:opts]` of a Quadlet's Volume= lines, as a map container path → host source. */
const mounts = (text: string) => new Map(lines(text, "Volume").map((v) => { const [src, dst, opts] = v.split(":"); return [dst!, { src: src!, opts: opts ?? "" }] as const; }));
/** The value of `key = 'value'` / `key = value` in postgresql.conf or pgbouncer.ini. */
const setting = (text: string, key: string): string | undefined => new RegExp(`^${key.replace(/\./g, "\\.")} = '?([^'\\n]*)'?$`, "m").exec(text)?.[1];
/** A container path as the host sees it, through the Quadlet's directory mounts. */
function hostPathOf(container: string, mountMap: ReturnType<typeof mounts>): string | undefined {
  for (const [dst, { src }] of mountMap) if (container.startsWith(`${dst}/`) && src.startsWith("/")) return `${src}${container.slice(dst.length)}`;
  return undefined;
}

describe("gap 1: PostgreSQL and PgBouncer TLS material exists where their configs point", () => {
  it.each(table((c) => has(c, "postgres") || has(c, "pgbouncer")))("%s %s: ExecStartPre makes the certificate in the mounted directory, owned by the service uid", (_s, _h, c) => {
    const script = file(c, "server-tls/server-tls.sh");
    expect(script?.mode).toBe("0755");
    for (const [kind, config, certKey, keyKey, user] of [
      ["postgres", "postgres/postgresql.conf", "ssl_cert_file", "ssl_key_file", CONTAINER_USERS.postgres],
      ["pgbouncer", "pgbouncer/pgbouncer.ini", "client_tls_cert_file", "client_tls_key_file", CONTAINER_USERS.pgbouncer],
    ] as const) {
      if (!has(c, kind)) continue;
      const q = quadlet(c, `senex-${kind}`)!;
      const conf = file(c, config)!.content;
      const pre = lines(q, "ExecStartPre").find((l) => l.includes("server-tls.sh"));
      expect(pre).toBeDefined();
      const [, scriptPath, dir, uid, gid] = pre!.split(" ");
      expect(scriptPath).toBe(script!.path);
      expect([uid, gid]).toEqual([String(user.uid), String(user.gid)]);
      expect(dir!.startsWith(`${STATE_ROOT}/`)).toBe(true);
      // the certificate and key the config names are in the directory the script fills, read-only
      const m = mounts(q);
      for (const key of [certKey, keyKey]) {
        const inContainer = setting(conf, key)!;
        expect([key, hostPathOf(inContainer, m)]).toEqual([key, `${dir}/${path.basename(inContainer)}`]);
      }
      expect([...m.values()].find((v) => v.src === dir)?.opts).toBe("ro");
    }
  });

  it("clients never verify (sslmode=require everywhere), so nothing needs the self-signed CA", () => {
    for (const c of CASES) {
      const env = file(c, "app/app.env")?.content;
      if (env) expect(env).toMatch(/^DB_SSLMODE=require$/m);
      const ini = file(c, "pgbouncer/pgbouncer.ini")?.content;
      if (ini) expect(setting(ini, "server_tls_sslmode")).toBe("require");
      const conf = file(c, "postgres/postgresql.conf")?.content;
      if (conf && /primary_conninfo/.test(conf)) expect(conf).toMatch(/primary_conninfo = '[^']*sslmode=require/);
    }
  });
});

describe("gap 2: PostgreSQL initialises an empty data directory and is administered over its socket", () => {
  it.each(table((c) => has(c, "postgres")))("%s %s: trust for the unread data-dir pg_hba, strict initdb args, our hba_file, superuser peer line first", (_s, _h, c) => {
    const q = quadlet(c, "senex-postgres")!;
    expect(q).toContain("\nEnvironment=POSTGRES_HOST_AUTH_METHOD=trust\n");
    // systemd/Quadlet split Environment= on spaces unless the whole assignment is quoted
    expect(q).toContain('\nEnvironment="POSTGRES_INITDB_ARGS=--auth-local=peer --auth-host=scram-sha-256"\n');
    const conf = file(c, "postgres/postgresql.conf")!.content;
    const m = mounts(q);
    expect(hostPathOf(setting(conf, "hba_file")!, m)).toBe(file(c, "postgres/pg_hba.conf")!.path);
    expect(hostPathOf(setting(conf, "ident_file")!, m)).toBe(file(c, "postgres/pg_ident.conf")!.path);
    const hba = file(c, "postgres/pg_hba.conf")!.content.split("\n").filter((l) => /^local\s/.test(l)).map((l) => l.split(/\s+/));
    expect(hba[0]).toEqual(["local", "all", "postgres", "peer", "map=senex_admin"]);
    expect(hba.at(-1)).toEqual(["local", "all", "all", "reject"]);
    const ident = file(c, "postgres/pg_ident.conf")!.content.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(/\s+/));
    // `podman exec senex-postgres psql -U postgres` runs as root unless given --user postgres
    expect(ident).toEqual(expect.arrayContaining([["senex_admin", "postgres", "postgres"], ["senex_admin", "root", "postgres"]]));
  });
});

describe("gap 3: files a non-root container process reads or rewrites", () => {
  it.each(CASES.map((c) => [c.stack, c.host.name, c] as const))("%s %s: every 0600 file mounted into a container names its container owner", (_s, _h, c) => {
    const sources = c.set.files.filter((f) => f.path.endsWith(".container")).flatMap((f) => [...mounts(f.content).values()].map((m) => m.src)).filter((src) => src.startsWith("/"));
    const mounted = c.set.files.filter((f) => sources.some((src) => f.path.startsWith(`${src}/`)));
    for (const f of mounted.filter((x) => x.mode === "0600")) expect([f.path, f.containerOwner !== undefined]).toEqual([f.path, true]);
    for (const f of c.set.files.filter((x) => x.containerOwner)) expect([f.path, f.owner]).toEqual([f.path, "senex"]);
    const redisFiles = mounted.filter((f) => /\/redis-(broker|cache|sentinel)\//.test(f.path));
    for (const f of redisFiles) expect([f.path, f.containerOwner]).toEqual([f.path, { uid: CONTAINER_USERS.redis.uid, gid: CONTAINER_USERS.redis.gid }]);
  });

  it.each(CASES.map((c) => [c.stack, c.host.name, c] as const))("%s %s: every config dir mounted :rw is a directory the service's group may write", (_s, _h, c) => {
    const rw = c.set.files.filter((f) => f.path.endsWith(".container")).flatMap((f) => lines(f.content, "Volume")).filter((v) => v.startsWith(`${CONFIG_ROOT}/`) && v.endsWith(":rw")).map((v) => v.split(":")[0]!);
    expect(c.set.directories.map((d) => d.path).sort()).toEqual([...new Set(rw)].sort());
    for (const d of c.set.directories) expect(d).toMatchObject({ mode: "0770", owner: "senex", containerOwner: { uid: 0, gid: CONTAINER_USERS.redis.gid } });
  });

  it("secrets mounted into non-root containers carry the service's uid", () => {
    const prod = CASES.filter((c) => c.stack === "production");
    const secretLine = (base: string, name: string) => prod.map((c) => quadlet(c, base)).find(Boolean)?.match(new RegExp(`^Secret=${name},.*$`, "m"))?.[0];
    expect(secretLine("senex-alertmanager", "senex-alert-slack-webhook")).toContain(`uid=${CONTAINER_USERS.nobody.uid}`);
    expect(secretLine("senex-grafana", "senex-grafana-admin-password")).toContain(`uid=${CONTAINER_USERS.grafana.uid}`);
    expect(secretLine("senex-redis-broker", "senex-redis-password")).toContain(`uid=${CONTAINER_USERS.redis.uid}`);
  });
});

describe("gap 4: WAL archiving inside the PostgreSQL container", () => {
  it.each(table((c) => has(c, "postgres")))("%s %s: archive_command has pgbackrest.conf and the repository secrets exactly when it archives", (_s, _h, c) => {
    const q = quadlet(c, "senex-postgres")!;
    const conf = file(c, "postgres/postgresql.conf")!.content;
    const archives = /^archive_mode = on$/m.test(conf) || /^restore_command = /m.test(conf);
    const cfg = lines(q, "Environment").find((l) => l.startsWith("PGBACKREST_CONFIG="))?.slice("PGBACKREST_CONFIG=".length);
    const secrets = Object.entries(PGBACKREST_SECRET_ENV).map(([name, target]) => `${name},type=env,target=${target}`);
    if (archives) {
      expect(hostPathOf(cfg!, mounts(q))).toBe(file(c, "postgres/pgbackrest.conf")!.path);
      for (const s of secrets) expect(lines(q, "Secret")).toContain(s);
      for (const s of Object.keys(PGBACKREST_SECRET_ENV)) expect(c.set.podmanSecrets).toContain(s);
    } else {
      expect(cfg).toBeUndefined();
      expect(lines(q, "Secret").filter((s) => s.includes("PGBACKREST_"))).toEqual([]);
    }
    expect(archives).toBe(c.config.backups.enabled && c.topology.phase >= 2);
  });
});

describe("gap 5: exporters feed the alert rules", () => {
  it.each(table((c) => has(c, "redis-exporter-broker")))("%s %s: the broker's exporter reports the Celery queue the rule reads", (_s, _h, c) => {
    expect(lines(quadlet(c, "senex-redis-exporter-broker")!, "Exec")).toEqual([CELERY_QUEUE_EXPORTER_FLAG]);
    expect(lines(quadlet(c, "senex-redis-exporter-cache")!, "Exec")).toEqual([]);
    // redis_exporter names a single key's length redis_key_size{db="db<N>", key="<key>"}
    const [, db, key] = /^--check-single-keys=(db\d+)=(\w+)$/.exec(CELERY_QUEUE_EXPORTER_FLAG)!;
    const rules = CASES.find((x) => x.stack === c.stack && has(x, "prometheus"))!;
    expect(file(rules, "prometheus/senex.rules.yml")!.content).toContain(`redis_key_size{redis_instance="broker", db="${db}", key="${key}"}`);
    // …and the app's broker URL uses that database
    const env = CASES.filter((x) => x.stack === c.stack).map((x) => file(x, "app/app.env")?.content).find(Boolean)!;
    expect(env).toMatch(new RegExp(`^SENEX_CELERY_BROKER_URL=(redis|sentinel)://[^\\n]*/${db!.slice(2)}$`, "m"));
  });

  it.each(table((c) => has(c, "node-exporter")))("%s %s: node-exporter reads the directory the backup jobs write their metric to", (_s, _h, c) => {
    const q = quadlet(c, "senex-node-exporter")!;
    const dir = /--collector\.textfile\.directory=(\S+)/.exec(lines(q, "Exec")[0]!)![1]!;
    const src = mounts(q).get(dir);
    expect(src?.opts).toBe("ro");
    expect(lines(q, "ExecStartPre")).toContain(`/usr/bin/mkdir -p ${src!.src}`);
    const script = file(c, "/home/senex/.local/bin/senex-backup")?.content;
    if (script) {
      expect(script).toContain(`readonly TEXTFILE_DIR=${src!.src}\n`);
      expect(script).toContain(`readonly METRIC=${BACKUP_METRIC}\n`);
    }
  });

  it.each(table((c) => has(c, "postgres-exporter")))("%s %s: postgres-exporter logs in by peer as the monitoring role pg_hba and pg_ident admit", (_s, _h, c) => {
    const q = quadlet(c, "senex-postgres-exporter")!;
    const dsn = new URL(lines(q, "Environment").find((l) => l.startsWith("DATA_SOURCE_NAME="))!.slice("DATA_SOURCE_NAME=".length));
    expect(dsn.searchParams.get("user")).toBe(MONITOR_USER);
    const socketDir = dsn.searchParams.get("host")!;
    // the same volume at the socket directory in both containers
    const volume = mounts(q).get(socketDir)?.src;
    expect(volume).toMatch(/\.volume$/);
    expect(mounts(quadlet(c, "senex-postgres")!).get(socketDir)?.src).toBe(volume);
    expect(setting(file(c, "postgres/postgresql.conf")!.content, "unix_socket_directories")).toBe(socketDir);
    expect(lines(q, "User")).toEqual([`${CONTAINER_USERS.nobody.uid}:${CONTAINER_USERS.nobody.gid}`]);
    expect(file(c, "postgres/pg_hba.conf")!.content).toMatch(new RegExp(`^local +postgres +${MONITOR_USER} +peer map=senex_monitor$`, "m"));
    expect(file(c, "postgres/pg_ident.conf")!.content).toMatch(new RegExp(`^senex_monitor +${CONTAINER_USERS.nobody.name} +${MONITOR_USER}$`, "m"));
    expect(lines(q, "Secret")).toEqual([]);
  });

  it("the roles script creates the monitoring role (pg_monitor, no password) exactly where an exporter logs in", () => {
    for (const { stack, topology } of STACKS) {
      const primary = CASES.find((c) => c.stack === stack && c.host.name === topology.dbPrimary)!;
      const sql = file(primary, ROLES_FILE)!;
      const exporter = topology.hosts.some((h) => h.services.some((s) => s.kind === "postgres-exporter"));
      expect([stack, sql.content.includes(`ALTER ROLE "${MONITOR_USER}" WITH LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD NULL;`)]).toEqual([stack, exporter]);
      expect([stack, sql.content.includes(`GRANT "pg_monitor" TO "${MONITOR_USER}";`)]).toEqual([stack, exporter]);
      // the roles unit runs as the OS user the superuser's peer line admits
      const unit = primary.set.files.find((f) => f.path.endsWith("/senex-postgres-roles.service"))!.content;
      expect(unit).toContain("podman exec -i --user postgres senex-postgres psql");
    }
  });
});

describe("gap 6: restic and the media volume", () => {
  it.each(table((c) => c.host.services.some((s) => s.name === "backup-redis" || s.name === "backup-media")))("%s %s: restic is a host package; the volumes it backs up are the Quadlets' volumes", (_s, _h, c) => {
    expect(c.set.packages).toContain("restic");
    const script = file(c, "/home/senex/.local/bin/senex-backup")!.content;
    expect(script).not.toMatch(/RESTIC_IMAGE|podman run/);
    expect(script).toContain("podman unshare restic");
    const volumes = new Set(c.set.files.filter((f) => f.path.endsWith(".volume")).map((f) => path.basename(f.path, ".volume")));
    for (const m of script.matchAll(/^readonly (?:REDIS|MEDIA)_VOLUME=(\S+)$/gm)) expect(volumes).toContain(m[1]);
  });

  it.each(table((c) => has(c, "daphne") || has(c, "celery-worker")))("%s %s: the app containers that write uploads mount the media volume at MEDIA_ROOT", (_s, _h, c) => {
    const mediaRoot = /^MEDIA_ROOT=(.*)$/m.exec(file(c, "app/app.env")!.content)![1]!;
    for (const f of c.set.files.filter((x) => /senex-(daphne-\d+|celery-worker)\.container$/.test(x.path))) expect(mounts(f.content).get(mediaRoot)?.src).toBe("senex-media.volume");
  });

  it("hosts without restic jobs get no restic; nginx hosts that renew their certificate get lego", () => {
    for (const c of CASES) {
      const restic = c.host.services.some((s) => s.name === "backup-redis" || s.name === "backup-media");
      expect([c.stack, c.host.name, c.set.packages.includes("restic")]).toEqual([c.stack, c.host.name, restic]);
      const renews = c.set.files.some((f) => f.path.endsWith("/senex-acme.timer"));
      expect([c.stack, c.host.name, c.set.packages.includes("lego")]).toEqual([c.stack, c.host.name, renews]);
    }
  });
});

describe("gap 8: haproxy on the load balancer of existing servers", () => {
  it.each(table((c) => has(c, "haproxy")))("%s %s: a Quadlet with its config mounted, and haproxy.cfg balancing every web host", (_s, _h, c) => {
    const q = quadlet(c, "senex-haproxy")!;
    expect(lines(q, "Image")).toEqual([c.config.images.haproxy]);
    const cfg = file(c, "haproxy/haproxy.cfg")!;
    const cfgPath = /-f (\S+)/.exec(lines(q, "Exec")[0]!)![1]!;
    expect(hostPathOf(cfgPath, mounts(q))).toBe(cfg.path);
    expect(cfg.restarts).toEqual(["senex-haproxy.service"]);
    const web = c.topology.loadBalancer!.targets.map((n) => c.topology.hosts.find((h) => h.name === n)!.privateAddress);
    for (const a of web) expect(cfg.content).toContain(` ${a}:443 `);
  });
});

describe("gap 9: the app's Celery URLs", () => {
  it.each(table((c) => file(c, "app/app.env") !== undefined))("%s %s: no variable Celery reads over its configuration; the settings' names are there", (_s, _h, c) => {
    const env = file(c, "app/app.env")!.content;
    expect(env).not.toMatch(/^CELERY_(BROKER_URL|BROKER_READ_URL|BROKER_WRITE_URL|RESULT_BACKEND)=/m);
    expect(env).toMatch(/^SENEX_CELERY_BROKER_URL=/m);
    expect(env).toMatch(/^SENEX_CELERY_RESULT_BACKEND=/m);
  });
});

describe("composition stays in one place", () => {
  it("container paths the configs name are under a mount of their own service", () => {
    for (const c of CASES.filter((x) => has(x, "postgres"))) {
      const conf = file(c, "postgres/postgresql.conf")!.content;
      for (const key of ["hba_file", "ident_file", "ssl_cert_file", "ssl_key_file"]) expect(setting(conf, key)!.startsWith(`${CONTAINER_CONFIG}/`)).toBe(true);
    }
  });
});
