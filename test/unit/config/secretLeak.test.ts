/**
 * #11.4: a supplied secret never appears in an error. Every secret leaf of the schema gets every
 * bad shape (see test/support/plantedSecrets.ts); the schema must refuse it with a line naming the
 * key and the fix, and nothing it produces (problems, message, stack, inspect) may contain the
 * planted value. The renderers that take secrets refuse a line break without showing it either.
 */
import { inspect } from "util";
import { ConfigError, parseStackConfig } from "../../../config/schema";
import { pgConfValue, singleLine } from "../../../render/conf-syntax";
import { renderPgPass } from "../../../render/postgres";
import { renderRedisAuth } from "../../../render/redis";
import { renderSentinelAuth, sentinelDesiredStateCommands } from "../../../render/sentinel";
import { renderSecretFile } from "../../../topology/hostFiles/secretContent";
import { MARKER, SECRET_KEYS, SECRET_LEAVES, badShapes, leafKey, plantedValues, rawConfig } from "../../support/plantedSecrets";

/** Everything an error can print. */
function everything(e: unknown): string {
    if (!(e instanceof Error)) return inspect(e, { depth: 10 });
    return [e.message, e.stack ?? "", inspect(e, { depth: 10 }), e instanceof ConfigError ? e.problems.join("\n") : ""].join("\n");
}

function parse(values: Record<string, unknown>): unknown {
    try {
        parseStackConfig(rawConfig(values), "senex-infra", "leak");
    } catch (e) {
        return e;
    }
    return undefined;
}

describe("planted secrets never appear in config errors", () => {
    it("the corpus covers every secret key of the schema", () => {
        expect([...new Set(SECRET_LEAVES.map((l) => l.key))].sort()).toEqual([...SECRET_KEYS].sort());
    });

    it("the valid form of each leaf is accepted (so each bad shape fails for its own reason)", () => {
        expect(parse(plantedValues([]))).toBeUndefined();
    });

    const cases = SECRET_LEAVES.flatMap((leaf) => badShapes(leaf).map(([shape, value]) => [leafKey(leaf), shape, leaf, value] as const));
    it.each(cases)("%s with %s: refused, naming the key and the fix, without the value", (key, _shape, leaf, value) => {
        const e = parse(plantedValues([[leaf, value]]));
        expect(e).toBeInstanceOf(ConfigError);
        const problems = (e as ConfigError).problems;
        const line = problems.find((p) => p.startsWith(`${key}:`) || p.startsWith(`${key}[`) || p.startsWith(`${key}.`));
        expect(line).toBeDefined();
        expect(line).toMatch(/Fix:/);
        const text = everything(e);
        expect(text).not.toContain(MARKER);
    });

    it("every leaf bad at once: one error listing them all, without any value", () => {
        const plants = SECRET_LEAVES.map((leaf) => [leaf, badShapes(leaf)[0]![1]] as const);
        const e = parse(plantedValues(plants));
        expect(e).toBeInstanceOf(ConfigError);
        for (const leaf of SECRET_LEAVES) expect((e as ConfigError).problems.some((p) => p.startsWith(leafKey(leaf)))).toBe(true);
        expect(everything(e)).not.toContain(MARKER);
    });
});

describe("renderer guards never show a secret value", () => {
    const bad = `${MARKER}-0123456789\nrequirepass x`;
    const throwing: Array<[string, () => unknown]> = [
        ["singleLine", () => singleLine("password", bad)],
        ["pgConfValue", () => pgConfValue(bad)],
        ["renderRedisAuth", () => renderRedisAuth({ password: bad })],
        ["renderSentinelAuth", () => renderSentinelAuth(["senex-broker"], bad)],
        ["sentinelDesiredStateCommands", () => sentinelDesiredStateCommands({ listenAddress: "10.0.0.1", dataDirectory: "/data", masters: [{ name: "senex-broker", address: "10.0.0.1", port: 6379 }], quorum: 2, sentinelCount: 3 }, bad)],
        ["renderPgPass", () => renderPgPass([{ host: "10.0.1.10", port: 5432, database: "replication", user: "replicator", password: bad }])],
        ["renderSecretFile(redis-auth)", () => renderSecretFile({ kind: "redis-auth", password: "redisPassword" }, () => bad)],
        ["renderSecretFile(pgpass)", () => renderSecretFile({ kind: "pgpass", entries: [{ host: "10.0.1.10", port: 5432, database: "replication", user: "replicator", password: "dbReplicationPassword" }] }, () => bad)],
    ];
    it.each(throwing)("%s refuses a line break without showing the value", (_name, f) => {
        let error: unknown;
        try {
            f();
        } catch (e) {
            error = e;
        }
        expect(error).toBeInstanceOf(Error);
        expect(everything(error)).not.toContain(MARKER);
    });
});
