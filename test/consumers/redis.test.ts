/**
 * redis.conf, its secret include and the Sentinel seed through real servers: bookworm's
 * redis-server/redis-sentinel 7.0.15 (the seeds' Redis 7, BSD) on this machine, and valkey 8.1 in
 * the trixie chroot. Never trixie's AGPL redis 8. Each run gets a private network namespace, so the
 * fixed ports (6379/6380/26379…) are on a loopback of its own and every server dies with it.
 */
import { spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { redisDesiredStateCommands, renderRedisAuth, renderRedisConf, type RedisSpec } from "../../render/redis";
import { redisCommandScript, renderSentinelAuth, renderSentinelSeed, sentinelDesiredStateCommands, type SentinelSpec } from "../../render/sentinel";
import { runInTrixie } from "../support/trixie";
import { expectExit } from "./pg-cluster";

interface Flavour {
  readonly name: string;
  readonly server: string;
  readonly sentinel: string;
  readonly cli: string;
}
const HOST_REDIS: Flavour = { name: "redis-server 7.0.15 (bookworm, host)", server: "/usr/bin/redis-server", sentinel: "/usr/bin/redis-sentinel", cli: "/usr/bin/redis-cli" };
const VALKEY: Flavour = { name: "valkey 8.1 (trixie chroot)", server: "valkey-server", sentinel: "valkey-sentinel", cli: "valkey-cli" };

/** Runs a script with the rendered files in $PWD: on the host in private net/pid namespaces, or in the chroot. */
function run(flavour: Flavour, script: string, files: Record<string, string>, env: Record<string, string>, timeoutMs = 90_000) {
  const fullEnv = { ...env, SERVER: flavour.server, SENTINEL: flavour.sentinel, CLI: flavour.cli };
  if (flavour !== HOST_REDIS) return runInTrixie(["sh", "-c", script], { files, env: fullEnv, timeoutMs });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "senex-redis-"));
  try {
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
    const r = spawnSync("/usr/bin/unshare", ["--net", "--pid", "--fork", "--kill-child", "--", "/bin/sh", "-c", `/sbin/ip link set lo up && cd "$0" && ${script}`, dir], {
      encoding: "utf8",
      timeout: timeoutMs,
      killSignal: "SIGKILL",
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...fullEnv },
    });
    return { code: r.status ?? 128, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const redisSpec = (root: string, dataDir: string, over: Partial<RedisSpec>): RedisSpec => ({
  instance: { kind: "broker", maxmemoryMiB: 64 },
  listenAddress: "127.0.0.1",
  port: 6379,
  dataDirectory: `${root}/${dataDir}`,
  authInclude: `${root}/redis-auth.conf`,
  ...over,
});

/** sh helpers: start a server on a rendered file in the background and wait for its port. */
const HELPERS = `
set -eu
cli() { port="$1"; shift; REDISCLI_AUTH="$REDIS_PASSWORD" "$CLI" --no-auth-warning -p "$port" "$@"; }
start() { port="$1"; shift; "$@" >"log-$port" 2>&1 & pid=$!
  for i in $(seq 1 100); do cli "$port" PING 2>/dev/null | grep -q PONG && return 0; kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  cat "log-$port" >&2; exit 93; }
mkdir -p broker cache replica s1 s2 s3
`;

/** Renders every file for a run rooted at `root` (absolute path of $PWD). */
function renderFiles(root: string, password: string): Record<string, string> {
  const sentinel = (n: number): SentinelSpec => ({
    listenAddress: "127.0.0.1",
    port: 26378 + n,
    dataDirectory: `${root}/s${n}`,
    masters: [
      { name: "senex-broker", address: "127.0.0.1", port: 6379 },
      { name: "senex-cache", address: "127.0.0.1", port: 6380 },
    ],
    quorum: 2,
    sentinelCount: 3,
    downAfterMs: 1000,
    failoverTimeoutMs: 10000,
    authInclude: `${root}/sentinel-auth.conf`,
  });
  return {
    "redis-auth.conf": renderRedisAuth({ password }),
    "sentinel-auth.conf": renderSentinelAuth(["senex-broker", "senex-cache"], password),
    "broker.conf": renderRedisConf(redisSpec(root, "broker", { announceIp: "127.0.0.1" })),
    "cache.conf": renderRedisConf(redisSpec(root, "cache", { instance: { kind: "cache", maxmemoryMiB: 32 }, port: 6380 })),
    "replica.conf": renderRedisConf(redisSpec(root, "replica", { port: 16379, announceIp: "127.0.0.1", replicaOf: { address: "127.0.0.1", port: 6379 } })),
    "s1.conf": renderSentinelSeed(sentinel(1)),
    "s2.conf": renderSentinelSeed(sentinel(2)),
    "s3.conf": renderSentinelSeed(sentinel(3)),
    "desired-broker.txt": redisCommandScript(redisDesiredStateCommands(redisSpec(root, "broker", {}))),
    "desired-sentinel.txt": redisCommandScript(sentinelDesiredStateCommands(sentinel(1), password).set),
  };
}

/** Files are rendered with a placeholder root, replaced by the real $PWD inside the script. */
const ROOT = "/senex-redis-root";
const RELOCATE = `for f in *.conf *.txt; do sed -i "s#${ROOT}#$PWD#g" "$f"; done
chmod 0600 redis-auth.conf sentinel-auth.conf
`;

describe.each([HOST_REDIS, VALKEY])("$name on the rendered files", (flavour) => {
  // Quotes, a space and a backslash: proves the include and the stdin commands quote the secret right.
  const password = `${randomBytes(18).toString("base64url")} "q'\\x`;
  const files = renderFiles(ROOT, password);

  it("broker never evicts and logs every write, cache evicts LRU without AOF, auth only via the include, desired state by CONFIG SET", () => {
    const r = run(
      flavour,
      `${HELPERS}${RELOCATE}
start 6379 "$SERVER" "$PWD/broker.conf"
start 6380 "$SERVER" "$PWD/cache.conf"
echo "broker:$(cli 6379 CONFIG GET maxmemory-policy | tail -1),$(cli 6379 CONFIG GET appendonly | tail -1),$(cli 6379 CONFIG GET appendfsync | tail -1),$(cli 6379 CONFIG GET save | tail -1),$(cli 6379 CONFIG GET maxmemory | tail -1)"
echo "cache:$(cli 6380 CONFIG GET maxmemory-policy | tail -1),$(cli 6380 CONFIG GET appendonly | tail -1),$(cli 6380 CONFIG GET save | tail -1),$(cli 6380 CONFIG GET maxmemory | tail -1)"
echo "noauth:$("$CLI" -p 6379 PING 2>&1)"
echo "bind:$(cli 6379 CONFIG GET bind | tail -1)"
cli 6379 CONFIG SET maxmemory-policy allkeys-lru >/dev/null
cli 6379 < desired-broker.txt | tr '\\n' ' '; echo
echo "restored:$(cli 6379 CONFIG GET maxmemory-policy | tail -1)"
echo "secret-in-main-file:$(grep -cF -- "$REDIS_PASSWORD" broker.conf cache.conf | tr '\\n' ' ')"
cli 6379 SHUTDOWN NOSAVE >/dev/null 2>&1 || true
cli 6380 SHUTDOWN NOSAVE >/dev/null 2>&1 || true`,
      files,
      { REDIS_PASSWORD: password },
    );
    expectExit(r, 0);
    const out = r.stdout.trim().split("\n");
    expect(out[0]).toBe("broker:noeviction,yes,everysec,3600 1 300 100 60 10000,67108864");
    expect(out[1]).toBe("cache:allkeys-lru,no,,33554432");
    expect(out[2]).toMatch(/^noauth:NOAUTH Authentication required/);
    expect(out[3]).toBe("bind:127.0.0.1");
    expect(out[4]).toMatch(/^(OK ){5}$/);
    expect(out[5]).toBe("restored:noeviction");
    expect(out[6]).toBe("secret-in-main-file:broker.conf:0 cache.conf:0");
  });

  it("phase 3: a replica follows its master with masterauth from the include; three sentinels from the seed agree (quorum 2), take SENTINEL SET, and fail over", () => {
    const r = run(
      flavour,
      `${HELPERS}${RELOCATE}
start 6379 "$SERVER" "$PWD/broker.conf"
start 6380 "$SERVER" "$PWD/cache.conf"
start 16379 "$SERVER" "$PWD/replica.conf"
for i in $(seq 1 100); do cli 16379 INFO replication | grep -q "master_link_status:up" && break; sleep 0.1; done
echo "replica:$(cli 16379 INFO replication | grep -E '^(role|master_link_status):' | tr -d '\\r' | tr '\\n' ' ')"
for n in 1 2 3; do "$SENTINEL" "$PWD/s$n.conf" >"log-s$n" 2>&1 & done
for i in $(seq 1 150); do
  c=$("$CLI" -p 26379 SENTINEL MASTER senex-broker 2>/dev/null | grep -A1 '^num-other-sentinels$' | tail -1 || true)
  [ "$c" = 2 ] && break; sleep 0.1
done
echo "ckquorum:$("$CLI" -p 26379 SENTINEL CKQUORUM senex-broker)"
echo "set:$("$CLI" -p 26379 < desired-sentinel.txt | tr '\\n' ' ')"
# Sentinel learns the replica from the master's INFO (every 10 s, later under load): until then a
# failover answers NOGOODSLAVE. Retry within a bound instead of racing that discovery.
for i in $(seq 1 60); do
  f=$("$CLI" -p 26379 SENTINEL FAILOVER senex-broker 2>&1)
  case "$f" in NOGOODSLAVE*) sleep 0.5 ;; *) break ;; esac
done
echo "failover:$f"
for i in $(seq 1 200); do
  m=$("$CLI" -p 26379 SENTINEL GET-MASTER-ADDR-BY-NAME senex-broker | tr '\\n' ':')
  [ "$m" = "127.0.0.1:16379:" ] && break; sleep 0.1
done
echo "new-master:$m"
echo "promoted:$(cli 16379 INFO replication | grep '^role:' | tr -d '\\r')"
echo "seed-rewritten:$(grep -c 'sentinel myid' s1.conf)"`,
      files,
      { REDIS_PASSWORD: password },
      120_000,
    );
    expectExit(r, 0);
    const out = r.stdout.trim().split("\n");
    expect(out[0]).toBe("replica:role:slave master_link_status:up ");
    expect(out[1]).toMatch(/^ckquorum:OK 3 usable Sentinels\. Quorum and failover authorization can be reached/);
    expect(out[2]).toMatch(/^set:(OK ){10}$/);
    expect(out[3]).toBe("failover:OK");
    expect(out[4]).toBe("new-master:127.0.0.1:16379:");
    expect(out[5]).toBe("promoted:role:master");
    // Sentinel rewrote its seed: why the file is written once and enforced by commands afterwards.
    expect(out[6]).toBe("seed-rewritten:1");
  });

  it("desired state on a Sentinel that lost a group: MONITOR only for the missing group, then SET for all (commands on stdin)", () => {
    const spec: SentinelSpec = {
      listenAddress: "127.0.0.1",
      dataDirectory: `${ROOT}/s1`,
      masters: [
        { name: "senex-broker", address: "127.0.0.1", port: 6379 },
        { name: "senex-cache", address: "127.0.0.1", port: 6380 },
      ],
      quorum: 2,
      sentinelCount: 3,
    };
    // The seed knows only the broker, as if the cache group had been removed by hand.
    const seed = renderSentinelSeed({ ...spec, masters: [spec.masters[0]!] });
    const desired = sentinelDesiredStateCommands(spec, password);
    const r = run(
      flavour,
      `${HELPERS}${RELOCATE}
start 6379 "$SERVER" "$PWD/broker.conf"
start 6380 "$SERVER" "$PWD/cache.conf"
"$SENTINEL" "$PWD/s1.conf" >log-s1 2>&1 &
for i in $(seq 1 100); do "$CLI" -p 26379 PING 2>/dev/null | grep -q PONG && break; sleep 0.05; done
for name in senex-broker senex-cache; do
  if "$CLI" -p 26379 SENTINEL MASTER "$name" | grep -q "No such master"; then "$CLI" -p 26379 < "monitor-$name.txt"; fi
done
"$CLI" -p 26379 < set.txt | sort | uniq -c | tr -s ' ' | tr '\n' ' '; echo
echo "masters:$("$CLI" -p 26379 SENTINEL MASTERS | grep -A1 '^name$' | grep senex | sort | tr '\n' ' ')"
for i in $(seq 1 50); do "$CLI" -p 26379 SENTINEL MASTER senex-cache | grep -A1 '^flags$' | tail -1 | grep -qx master && break; sleep 0.1; done
echo "cache-flags:$("$CLI" -p 26379 SENTINEL MASTER senex-cache | grep -A1 '^flags$' | tail -1)"`,
      {
        ...files,
        "s1.conf": seed,
        "set.txt": redisCommandScript(desired.set),
        ...Object.fromEntries(desired.monitorIfMissing.map((m) => [`monitor-${m.name}.txt`, redisCommandScript([m.command])])),
      },
      { REDIS_PASSWORD: password },
    );
    expectExit(r, 0);
    const out = r.stdout.trim().split("\n");
    expect(out).toEqual(["OK", " 10 OK ", "masters:senex-broker senex-cache ", "cache-flags:master"]);
  });

  it("a deliberately broken render (misspelled maxmemory-policy) fails its consumer", () => {
    const broken = { ...files, "broker.conf": files["broker.conf"]!.replace("maxmemory-policy noeviction", "maxmemory-policy noevictio") };
    const r = run(flavour, `${HELPERS}${RELOCATE}start 6379 "$SERVER" "$PWD/broker.conf"`, broken, { REDIS_PASSWORD: password }, 30_000);
    expectExit(r, 93);
    expect(r.stderr).toMatch(/maxmemory-policy|Bad directive|argument/i);
  });
});
