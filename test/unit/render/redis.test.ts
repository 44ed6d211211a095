import fc from "fast-check";
import { DEFAULT_SAVE_POINTS, redisDesiredStateCommands, renderRedisAuth, renderRedisConf, type RedisSpec } from "../../../render/redis";
import { redisCommandScript, renderSentinelAuth, renderSentinelSeed, sentinelDesiredStateCommands, type SentinelSpec } from "../../../render/sentinel";
import { redisArg } from "../../../render/conf-syntax";
import { renderPhaseFiles } from "./data-services-specs";

/** Redis' own argument splitter (sdssplitargs), re-implemented to check our quoting round-trips. */
function splitArgs(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === " ") i++;
    if (i >= line.length) break;
    let cur = "";
    if (line[i] === '"') {
      i++;
      while (line[i] !== '"') {
        if (i >= line.length) throw new Error("unbalanced quotes");
        if (line[i] === "\\") {
          const n = line[i + 1];
          if (n === "x") {
            cur += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
            i += 4;
            continue;
          }
          cur += n === "n" ? "\n" : n === "r" ? "\r" : n === "t" ? "\t" : n;
          i += 2;
          continue;
        }
        cur += line[i++];
      }
      i++;
    } else {
      while (i < line.length && line[i] !== " ") cur += line[i++];
    }
    out.push(cur);
  }
  return out;
}

const broker = (over: Partial<RedisSpec> = {}): RedisSpec => ({
  instance: { kind: "broker", maxmemoryMiB: 512 },
  listenAddress: "10.0.0.5",
  port: 6379,
  dataDirectory: "/data",
  authInclude: "/run/secrets/redis-auth.conf",
  ...over,
});
const directives = (text: string) => text.split("\n").filter((l) => l && !l.startsWith("#")).map(splitArgs);
const get = (text: string, name: string) => directives(text).find((d) => d[0] === name)?.slice(1);

describe("renderRedisConf", () => {
  it.each([1, 2, 3] as const)("phase %i snapshot", (phase) => {
    const files = renderPhaseFiles(phase);
    expect(Object.fromEntries(Object.entries(files).filter(([k]) => /redis-(broker|cache)\.conf|sentinel\.conf/.test(k)))).toMatchSnapshot();
  });

  it("broker: noeviction, AOF everysec, RDB save points; cache: allkeys-lru, no AOF, no snapshots", () => {
    const b = renderRedisConf(broker());
    expect(get(b, "maxmemory-policy")).toEqual(["noeviction"]);
    expect(get(b, "appendonly")).toEqual(["yes"]);
    expect(get(b, "appendfsync")).toEqual(["everysec"]);
    expect(get(b, "save")).toEqual([DEFAULT_SAVE_POINTS.flat().join(" ")]);
    const c = renderRedisConf(broker({ instance: { kind: "cache", maxmemoryMiB: 256 }, port: 6380 }));
    expect(get(c, "maxmemory-policy")).toEqual(["allkeys-lru"]);
    expect(get(c, "maxmemory")).toEqual(["256mb"]);
    expect(get(c, "appendonly")).toEqual(["no"]);
    expect(get(c, "save")).toEqual([""]);
  });

  it("binds the private address and loopback, includes the secret file first, and holds no password", () => {
    const b = renderRedisConf(broker());
    expect(directives(b)[0]).toEqual(["include", "/run/secrets/redis-auth.conf"]);
    expect(get(b, "bind")).toEqual(["10.0.0.5", "127.0.0.1"]);
    expect(get(b, "protected-mode")).toEqual(["yes"]);
    expect(b).not.toMatch(/requirepass|masterauth/);
  });

  it("phase 3: replicaof only in a replica's seed, announce address on every node", () => {
    const r = renderRedisConf(broker({ announceIp: "10.0.1.32", replicaOf: { address: "10.0.1.31", port: 6379 } }));
    expect(get(r, "replicaof")).toEqual(["10.0.1.31", "6379"]);
    expect(get(r, "replica-announce-ip")).toEqual(["10.0.1.32"]);
    expect(get(renderRedisConf(broker({ announceIp: "10.0.1.31" })), "replicaof")).toBeUndefined();
  });

  it("desired state never touches replicaof (Sentinel owns it)", () => {
    const cmds = redisDesiredStateCommands(broker({ announceIp: "10.0.1.32", replicaOf: { address: "10.0.1.31", port: 6379 } }));
    expect(cmds.every((c) => c[0] === "CONFIG" && c[1] === "SET")).toBe(true);
    expect(cmds.map((c) => c[2])).toEqual(["maxmemory", "maxmemory-policy", "appendonly", "appendfsync", "save", "replica-announce-ip"]);
  });

  it.each<[string, Partial<RedisSpec>, RegExp]>([
    ["cache with save points", { instance: { kind: "cache", maxmemoryMiB: 64 }, savePoints: [[60, 1]] }, /broker only/],
    ["broker without save points", { savePoints: [] }, /savePoints/],
    ["hostname bind", { listenAddress: "cache-1" }, /listenAddress/],
    ["tiny maxmemory", { instance: { kind: "broker", maxmemoryMiB: 1 } }, /maxmemoryMiB/],
  ])("rejects %s", (_n, over, message) => {
    expect(() => renderRedisConf(broker(over))).toThrow(message);
  });
});

describe("renderRedisAuth / renderSentinelAuth", () => {
  it("property: any printable password round-trips through Redis quoting in both includes", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\x20-\x7e]{16,64}$/), (pw) => {
        expect(directives(renderRedisAuth({ password: pw }))).toEqual([["requirepass", pw], ["masterauth", pw]]);
        expect(directives(renderSentinelAuth(["senex-broker"], pw))).toEqual([["sentinel", "auth-pass", "senex-broker", pw]]);
      }),
    );
  });
  it("refuses a short or multi-line password", () => {
    expect(() => renderRedisAuth({ password: "short" })).toThrow(/16 characters/);
    expect(() => renderRedisAuth({ password: "a".repeat(20) + "\nrequirepass x" })).toThrow(/single line/);
  });
  it("property: redisArg round-trips arbitrary strings (control bytes included)", () => {
    fc.assert(fc.property(fc.string({ unit: "binary-ascii", maxLength: 40 }), (s) => expect(splitArgs(`x ${redisArg(s)}`)).toEqual(["x", s])));
  });
});

describe("Sentinel", () => {
  const spec: SentinelSpec = {
    listenAddress: "10.0.1.31",
    dataDirectory: "/data",
    masters: [
      { name: "senex-broker", address: "10.0.1.31", port: 6379 },
      { name: "senex-cache", address: "10.0.1.31", port: 6380 },
    ],
    quorum: 2,
    sentinelCount: 3,
  };

  it("seeds both masters with quorum 2, announce-ip, no hostname resolution, no secret", () => {
    const text = renderSentinelSeed(spec);
    const d = directives(text);
    expect(d).toContainEqual(["sentinel", "monitor", "senex-broker", "10.0.1.31", "6379", "2"]);
    expect(d).toContainEqual(["sentinel", "monitor", "senex-cache", "10.0.1.31", "6380", "2"]);
    expect(d).toContainEqual(["sentinel", "announce-ip", "10.0.1.31"]);
    expect(d).toContainEqual(["sentinel", "resolve-hostnames", "no"]);
    expect(d).toContainEqual(["sentinel", "down-after-milliseconds", "senex-broker", "5000"]);
    expect(d).toContainEqual(["sentinel", "failover-timeout", "senex-cache", "60000"]);
    expect(text).not.toMatch(/auth-pass/);
  });

  it("puts the auth include after the monitor lines (auth-pass for an unknown group is an error)", () => {
    const d = directives(renderSentinelSeed({ ...spec, authInclude: "/run/secrets/sentinel-auth.conf" }));
    expect(d.findIndex((x) => x[0] === "include")).toBeGreaterThan(d.findIndex((x) => x[1] === "monitor" && x[2] === "senex-cache"));
  });

  it("refuses a minority quorum and duplicate groups", () => {
    expect(() => renderSentinelSeed({ ...spec, quorum: 1 })).toThrow(/quorum/);
    expect(() => renderSentinelSeed({ ...spec, masters: [spec.masters[0]!, spec.masters[0]!] })).toThrow(/twice/);
  });

  it("desired state: SET commands per group incl. auth-pass; MONITOR only for groups Sentinel does not know", () => {
    const state = sentinelDesiredStateCommands(spec, "a-redis-password-123");
    expect(state.monitorIfMissing.map((m) => m.command)).toEqual([
      ["SENTINEL", "MONITOR", "senex-broker", "10.0.1.31", "6379", "2"],
      ["SENTINEL", "MONITOR", "senex-cache", "10.0.1.31", "6380", "2"],
    ]);
    expect(state.set).toContainEqual(["SENTINEL", "SET", "senex-broker", "auth-pass", "a-redis-password-123"]);
    expect(state.set.filter((c) => c.includes("monitor") || c.includes("MONITOR"))).toEqual([]);
    expect(redisCommandScript([["SENTINEL", "SET", "senex-cache", "auth-pass", 'p "w d']])).toBe('SENTINEL SET senex-cache auth-pass "p \\"w d"\n');
  });
});

describe("Sentinel quorum rule", () => {
  it("property: a quorum is accepted exactly when it is a majority of the sentinels", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 15 }), fc.integer({ min: 0, max: 16 }), (count, quorum) => {
        const spec: SentinelSpec = { listenAddress: "10.0.0.1", dataDirectory: "/data", masters: [{ name: "senex-broker", address: "10.0.0.1", port: 6379 }], quorum, sentinelCount: count };
        const majority = quorum > count / 2 && quorum <= count;
        if (majority) expect(renderSentinelSeed(spec)).toMatch(new RegExp(`^sentinel monitor senex-broker 10\\.0\\.0\\.1 6379 ${quorum}$`, "m"));
        else expect(() => renderSentinelSeed(spec)).toThrow(/quorum/);
      }),
    );
  });
});
