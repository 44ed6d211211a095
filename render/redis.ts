// redis.conf for the two instance kinds, the secret-only include, and the commands that enforce
// desired state on a running server.
//
// ARCHITECTURE (Redis): the broker (Celery DB2/DB3, Channels DB1) must never lose a key to
// eviction — `noeviction` + AOF; the cache (Django DB0) may evict — `allkeys-lru`, no AOF. They
// are separate processes because maxmemory-policy is per process.
//
// Secrets: the main file holds none; `include` pulls requirepass/masterauth from a 0600 file.
// Measured with redis-server 7.0.15: `CONFIG REWRITE` (which Sentinel issues on every failover)
// copies requirepass and masterauth from the include INTO the main file. So the main file is a
// seed: we render it once, the provider writes it 0600 as well, and afterwards desired state is
// enforced with `redisDesiredStateCommands` (CONFIG SET), never by rewriting the file — a file
// rewrite after a failover would point a promoted master back at the dead one.
import { absolutePath, intInRange, ipAddress, isLoopback, redisLine, singleLine } from "./conf-syntax";

/** Which of the two Redis roles this process plays. */
export type RedisInstance =
  | {
      readonly kind: "broker";
      /** Memory cap in MiB. With noeviction a full broker refuses writes (alerted at 90 %) instead of dropping tasks. Optional. */
      readonly maxmemoryMiB?: number;
    }
  | {
      readonly kind: "cache";
      /** Memory cap in MiB; required, because LRU eviction only starts at the cap. */
      readonly maxmemoryMiB: number;
    };

/** An RDB save point: snapshot after `seconds` if at least `changes` keys changed. */
export type RedisSavePoint = readonly [seconds: number, changes: number];

/** Redis's long-standing default save points, which the seeds' "RDB snapshots" rely on. */
export const DEFAULT_SAVE_POINTS: readonly RedisSavePoint[] = [
  [3600, 1],
  [300, 100],
  [60, 10000],
];

/** Typed input of redis.conf. */
export interface RedisSpec {
  /** Broker or cache. */
  readonly instance: RedisInstance;
  /** The host's private address; Redis binds it and 127.0.0.1 only. */
  readonly listenAddress: string;
  /** Port: 6379 broker, 6380 cache. */
  readonly port: number;
  /** Data directory (RDB and AOF). */
  readonly dataDirectory: string;
  /** Path of the 0600 file rendered by `renderRedisAuth`. */
  readonly authInclude: string;
  /** RDB save points for the broker. Default DEFAULT_SAVE_POINTS. The cache never persists. */
  readonly savePoints?: readonly RedisSavePoint[];
  /** Phase 3: the address other nodes and Sentinel should use for this node. */
  readonly announceIp?: string;
  /** Phase 3 seed only: start as a replica of this master. After the first start Sentinel owns it. */
  readonly replicaOf?: { readonly address: string; readonly port: number };
}

function bindAddresses(address: string): string[] {
  const a = ipAddress("listenAddress", address);
  return isLoopback(a) ? [a] : [a, "127.0.0.1"];
}

function maxmemory(instance: RedisInstance): number | undefined {
  if (instance.maxmemoryMiB === undefined) return undefined;
  return intInRange("instance.maxmemoryMiB", instance.maxmemoryMiB, 16, 1024 * 1024);
}

/** The settings that differ between the two kinds, as [directive, ...args] vectors. */
function instanceDirectives(spec: RedisSpec): string[][] {
  const instance = spec.instance;
  const mem = maxmemory(instance);
  switch (instance.kind) {
    case "broker": {
      const saves = spec.savePoints ?? DEFAULT_SAVE_POINTS;
      if (saves.length === 0) throw new Error("`savePoints` must not be empty for the broker (the seeds keep RDB snapshots)");
      return [
        ...(mem !== undefined ? [["maxmemory", `${mem}mb`]] : []),
        ["maxmemory-policy", "noeviction"],
        ["appendonly", "yes"],
        ["appendfsync", "everysec"],
        ["appendfilename", "appendonly.aof"],
        ["aof-use-rdb-preamble", "yes"],
        ["save", saves.map(([s, c]) => `${intInRange("savePoints[].seconds", s, 1, 86400 * 7)} ${intInRange("savePoints[].changes", c, 1, 1e9)}`).join(" ")],
        ["dbfilename", "dump.rdb"],
        ["stop-writes-on-bgsave-error", "yes"],
      ];
    }
    case "cache":
      if (spec.savePoints) throw new Error("`savePoints` applies to the broker only: the cache does not persist");
      return [
        ["maxmemory", `${mem}mb`],
        ["maxmemory-policy", "allkeys-lru"],
        ["maxmemory-samples", "10"],
        ["appendonly", "no"],
        // A cache restarted empty is correct; snapshots would only cost fork() pauses.
        ["save", ""],
      ];
    default: {
      const never: never = instance;
      throw new Error(`unknown Redis instance ${JSON.stringify(never)}`);
    }
  }
}

function replicationDirectives(spec: RedisSpec): string[][] {
  const out: string[][] = [];
  if (spec.announceIp !== undefined) {
    out.push(["replica-announce-ip", ipAddress("announceIp", spec.announceIp)], ["replica-announce-port", String(spec.port)]);
  }
  if (spec.replicaOf) {
    out.push(["replicaof", ipAddress("replicaOf.address", spec.replicaOf.address), String(intInRange("replicaOf.port", spec.replicaOf.port, 1, 65535))]);
  }
  out.push(["replica-read-only", "yes"], ["replica-serve-stale-data", "yes"]);
  return out;
}

/** Renders redis.conf (no secret in it; see the module comment for what Redis does to it later). */
export function renderRedisConf(spec: RedisSpec): string {
  const directives: Array<string | string[]> = [
    `# senex ${spec.instance.kind}: rendered once as a seed by senex-infra; Redis/Sentinel may rewrite it.`,
    "# Secrets only in the include (written 0600).",
    ["include", absolutePath("authInclude", spec.authInclude)],
    ["bind", ...bindAddresses(spec.listenAddress)],
    ["protected-mode", "yes"],
    ["port", String(intInRange("port", spec.port, 1, 65535))],
    ["daemonize", "no"],
    ["logfile", ""],
    ["dir", absolutePath("dataDirectory", spec.dataDirectory)],
    ["databases", "16"],
    ["tcp-keepalive", "60"],
    ["timeout", "0"],
    `# ${spec.instance.kind === "broker" ? "Broker: never evict, log every write (Celery tasks, Channels messages)." : "Cache: evict least recently used keys at the cap."}`,
    ...instanceDirectives(spec),
    "# Replication (phase 3; Sentinel takes over replicaof after the first start)",
    ...replicationDirectives(spec),
  ];
  return directives.map((d) => (typeof d === "string" ? d : redisLine(d))).join("\n") + "\n";
}

/** Input of the secret include. */
export interface RedisAuthSpec {
  /** The Redis password (call inside the secret's apply; write the result 0600). */
  readonly password: string;
  /** Also authenticate as a replica to the master. Every node of a Sentinel group may become a replica, so default true. */
  readonly masterauth?: boolean;
}

/** Renders the 0600 include holding requirepass (and masterauth). The output is secret. */
export function renderRedisAuth(spec: RedisAuthSpec): string {
  const password = singleLine("password", spec.password);
  if (password.length < 16) throw new Error("`password` must be at least 16 characters");
  const lines = [["requirepass", password]];
  if (spec.masterauth ?? true) lines.push(["masterauth", password]);
  return lines.map(redisLine).join("\n") + "\n";
}

/**
 * Commands (argument vectors, sent on stdin to redis-cli by the provider) that bring a running
 * server to the rendered state without touching what Sentinel owns (replicaof, and thus which
 * node is master). Idempotent.
 */
export function redisDesiredStateCommands(spec: RedisSpec): string[][] {
  const cmds = instanceDirectives(spec)
    .filter(([name]) => ["maxmemory", "maxmemory-policy", "appendonly", "appendfsync", "save", "maxmemory-samples"].includes(name ?? ""))
    .map(([name, ...args]) => ["CONFIG", "SET", name as string, ...args]);
  if (spec.announceIp !== undefined) cmds.push(["CONFIG", "SET", "replica-announce-ip", ipAddress("announceIp", spec.announceIp)]);
  return cmds;
}
