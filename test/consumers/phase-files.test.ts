/**
 * The files each phase really renders (test/unit/render/data-services-specs.ts), unchanged except
 * for the container mount roots, started by their consumers: every database host's
 * postgresql.conf + pg_hba.conf (+ pgbouncer.ini) on PostgreSQL 17 / PgBouncer 1.24, every Redis
 * host's broker, cache and Sentinel seed on valkey 8.1 — and on redis-server 7.0.15 for Redis.
 * The host's private address is added to the private loopback of the run's network namespace, so
 * the rendered `listen_addresses`/`bind` lines are used as they are.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { scramVerifier } from "../../render/pgbouncer";
import { runInTrixie } from "../support/trixie";
import { EXAMPLE_SECRETS, phaseHosts, renderPhaseFiles, type Phase } from "../unit/render/data-services-specs";
import { expectExit, PG_BIN } from "./pg-cluster";

const PHASES = [1, 2, 3] as const;

/** Files of one host, keyed by base name. */
function hostFiles(phase: Phase, host: string): Record<string, string> {
  const files = renderPhaseFiles(phase, EXAMPLE_SECRETS, 17);
  return Object.fromEntries(Object.entries(files).filter(([k]) => k.startsWith(`${host}/`)).map(([k, v]) => [k.slice(host.length + 1), v]));
}

const dbHosts = (phase: Phase) => phaseHosts(phase).filter((h) => h.role === "db" || h.role === "main");
const redisHosts = (phase: Phase) => phaseHosts(phase).filter((h) => ["main", "cache", "redis"].includes(h.role));

describe.each(PHASES)("phase %i database hosts: the rendered files start PostgreSQL 17 (and PgBouncer)", (phase) => {
  it.each(dbHosts(phase).filter((h) => h.name !== "db-2").map((h) => [h.name, h.address]))("%s (%s)", (name, address) => {
    const files = hostFiles(phase, name);
    // Container mount roots → the run's private /tmp; addresses, ports and every setting unchanged.
    const relocate = (text: string) => text.replaceAll("/etc/senex/postgres", "/tmp/pg").replaceAll("/etc/senex/pgbouncer", "/tmp/pg").replaceAll("/var/lib/postgresql/data", "/tmp/pg/data").replaceAll("/var/run/postgresql", "/tmp/pg/run");
    const inputs: Record<string, string> = { "postgresql.conf": relocate(files["postgresql.conf"]!), "pg_hba.conf": relocate(files["pg_hba.conf"]!) };
    if (files["pgbouncer.ini"]) {
      inputs["pgbouncer.ini"] = relocate(files["pgbouncer.ini"]).replace("unix_socket_dir = /var/run/pgbouncer", "unix_socket_dir = /tmp/pg/run");
      inputs["userlist.txt"] = files["userlist.txt"]!;
    }
    const r = runInTrixie(
      [
        "sh",
        "-c",
        `set -eu
ip addr add ${address}/32 dev lo
mkdir -p /tmp/pg/run && cp ./* /tmp/pg/
openssl req -x509 -newkey rsa:2048 -nodes -keyout /tmp/pg/server.key -out /tmp/pg/server.crt -subj /CN=${address} -addext subjectAltName=IP:${address} -days 2 2>/dev/null
cp /tmp/pg/server.crt /tmp/pg/ca.crt
chown -R postgres:postgres /tmp/pg && chmod 0600 /tmp/pg/server.key
runuser -u postgres -- ${PG_BIN}/initdb -D /tmp/pg/data -U postgres --auth=peer >/dev/null
runuser -u postgres -- ${PG_BIN}/pg_ctl -D /tmp/pg/data -o "-c config_file=/tmp/pg/postgresql.conf" -l /tmp/pg/server.log -w -t 60 start >/dev/null || { cat /tmp/pg/server.log >&2; exit 90; }
runuser -u postgres -- psql -h /tmp/pg/run -U postgres -d postgres -At -c "SHOW listen_addresses" -c "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL"
echo "CREATE ROLE senex LOGIN PASSWORD :'v'" | runuser -u postgres -- psql -h /tmp/pg/run -U postgres -d postgres -v v="$VERIFIER" >/dev/null
runuser -u postgres -- psql -h /tmp/pg/run -U postgres -d postgres -c "CREATE DATABASE senex OWNER senex" >/dev/null
if [ -f /tmp/pg/pgbouncer.ini ]; then
  runuser -u postgres -- pgbouncer /tmp/pg/pgbouncer.ini >/tmp/pg/pgbouncer.log 2>&1 &
  for i in $(seq 1 50); do [ -S /tmp/pg/run/.s.PGSQL.6432 ] && break; sleep 0.1; done
  PGPASSWORD="$PASSWORD" psql "host=${address} port=6432 dbname=senex user=senex sslmode=require" -At -c "SELECT 'via-pgbouncer:' || inet_server_addr()" || cat /tmp/pg/pgbouncer.log >&2
else
  PGPASSWORD="$PASSWORD" psql "host=${address} port=5432 dbname=senex user=senex sslmode=require" -At -c "SELECT 'direct:' || inet_server_addr()"
fi`,
      ],
      { files: inputs, env: { PASSWORD: EXAMPLE_SECRETS.dbAppPassword, VERIFIER: scramVerifier(EXAMPLE_SECRETS.dbAppPassword, EXAMPLE_SECRETS.scramSalt) }, timeoutMs: 120_000 },
    );
    expectExit(r, 0);
    const [listen, hbaErrors, login] = r.stdout.trim().split("\n");
    expect(listen).toBe(`${address},localhost`);
    expect(hbaErrors).toBe("0");
    if (inputs["pgbouncer.ini"]) expect(login).toBe(`via-pgbouncer:${address}/32`);
    else expect(login).toMatch(/^direct:/);
  });
});

interface RedisFlavour {
  readonly name: string;
  readonly server: string;
  readonly sentinel: string;
  readonly cli: string;
  readonly host: boolean;
}
const FLAVOURS: RedisFlavour[] = [
  { name: "redis-server 7.0.15 (host)", server: "/usr/bin/redis-server", sentinel: "/usr/bin/redis-sentinel", cli: "/usr/bin/redis-cli", host: true },
  { name: "valkey 8.1 (trixie)", server: "valkey-server", sentinel: "valkey-sentinel", cli: "valkey-cli", host: false },
];

/** Runs the script with files in $PWD, in private mount/net/pid namespaces (own /run, own loopback). */
function runRedis(flavour: RedisFlavour, script: string, files: Record<string, string>) {
  const env = { SERVER: flavour.server, SENTINEL: flavour.sentinel, CLI: flavour.cli, REDISCLI_AUTH: EXAMPLE_SECRETS.redisPassword };
  if (!flavour.host) return runInTrixie(["sh", "-c", script], { files, env, timeoutMs: 60_000 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "senex-phase-redis-"));
  try {
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
    const r = spawnSync(
      "/usr/bin/unshare",
      ["--mount", "--propagation", "private", "--net", "--pid", "--fork", "--kill-child", "--", "/bin/sh", "-c", `/bin/mount -t tmpfs tmpfs /run && /sbin/ip link set lo up && cd "$0" && ${script}`, dir],
      { encoding: "utf8", timeout: 60_000, killSignal: "SIGKILL", env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...env } },
    );
    return { code: r.status ?? 128, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe.each(FLAVOURS)("$name: every phase's Redis hosts start on their rendered files", (flavour) => {
  const cases = PHASES.flatMap((phase) => redisHosts(phase).map((h) => [phase, h.name, h.address] as const));
  it.each(cases)("phase %i %s (%s)", (phase, name, address) => {
    const files = hostFiles(phase, name);
    // Only the data mount root moves ("/data" in the container); the includes live under /run/secrets as rendered.
    const inputs: Record<string, string> = {};
    for (const f of ["redis-broker.conf", "redis-cache.conf", "sentinel.conf"]) {
      if (files[f]) inputs[f] = files[f].replace(/^dir \/data$/m, `dir ROOT/${f.replace(".conf", "")}`);
    }
    const sentinel = inputs["sentinel.conf"] !== undefined;
    const r = runRedis(
      flavour,
      `set -eu
ip addr add ${address}/32 dev lo
for f in *.conf; do sed -i "s#ROOT#$PWD#" "$f"; mkdir -p "\${f%.conf}"; done
mkdir -p /run/secrets && cp redis-auth.conf sentinel-auth.conf /run/secrets/ 2>/dev/null || true
chmod 0600 /run/secrets/*
start() { port="$1"; conf="$2"; shift 2; "$@" "$PWD/$conf" >"$conf.log" 2>&1 & pid=$!
  for i in $(seq 1 100); do "$CLI" --no-auth-warning -h ${address} -p "$port" PING 2>/dev/null | grep -q PONG && return 0; kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  cat "$conf.log" >&2; exit 93; }
start 6379 redis-broker.conf "$SERVER"
start 6380 redis-cache.conf "$SERVER"
echo "broker:$("$CLI" --no-auth-warning -h ${address} -p 6379 CONFIG GET maxmemory-policy | tail -1)"
echo "cache:$("$CLI" --no-auth-warning -h ${address} -p 6380 CONFIG GET maxmemory-policy | tail -1)"
${sentinel ? `"$SENTINEL" "$PWD/sentinel.conf" >sentinel.log 2>&1 &
for i in $(seq 1 100); do env -u REDISCLI_AUTH "$CLI" -h ${address} -p 26379 PING 2>/dev/null | grep -q PONG && break; sleep 0.05; done
echo "sentinel:$(env -u REDISCLI_AUTH "$CLI" -h ${address} -p 26379 SENTINEL MASTERS | grep -A1 '^name$' | grep -v '^name$' | grep -v '^--$' | sort | tr '\\n' ' ')"` : ""}`,
      { ...inputs, "redis-auth.conf": files["redis-auth.conf"]!, ...(files["sentinel-auth.conf"] ? { "sentinel-auth.conf": files["sentinel-auth.conf"] } : {}) },
    );
    expectExit(r, 0);
    const out = r.stdout.trim().split("\n");
    expect(out.slice(0, 2)).toEqual(["broker:noeviction", "cache:allkeys-lru"]);
    if (sentinel) expect(out[2]).toBe("sentinel:senex-broker senex-cache");
  });
});
