/**
 * Properties over every file part B renders for every phase: no secret value appears in any file
 * but the few whose purpose is to carry it (written 0600), no file has a line the consumers would
 * misread, and every listening address is a private one of its host (never 0.0.0.0).
 */
import fc from "fast-check";
import { scramVerifier } from "../../../render/pgbouncer";
import { EXAMPLE_SECRETS, renderPhaseFiles, SECRET_BEARING, type DataSecrets, type Phase } from "./data-services-specs";

const secretArb = fc.stringMatching(/^[\x21-\x7e]{16,48}$/);
const secretsArb: fc.Arbitrary<DataSecrets> = fc.record({
  dbAppPassword: secretArb,
  dbReplicationPassword: secretArb,
  redisPassword: secretArb,
  scramSalt: fc.uint8Array({ minLength: 16, maxLength: 16 }),
});

describe("every part-B file of every phase", () => {
  it("property: no secret value in any file except the secret-bearing ones, and each of those holds only its own", () => {
    fc.assert(
      fc.property(fc.constantFrom<Phase>(1, 2, 3), secretsArb, (phase, secrets) => {
        const values = [secrets.dbAppPassword, secrets.dbReplicationPassword, secrets.redisPassword];
        fc.pre(new Set(values).size === 3 && values.every((a) => values.every((b) => a === b || !a.includes(b))));
        for (const [name, text] of Object.entries(renderPhaseFiles(phase, secrets))) {
          const found = values.filter((v) => text.includes(v) || text.includes(JSON.stringify(v).slice(1, -1)));
          if (!SECRET_BEARING.test(name)) expect({ name, found }).toEqual({ name, found: [] });
          // (pgpass escapes `\` and `:`, so its own secret is not always found verbatim: only foreign ones matter)
          else if (/pgpass$/.test(name)) expect(found.every((v) => v === secrets.dbReplicationPassword)).toBe(true);
          else expect(found.every((v) => v === secrets.redisPassword)).toBe(true);
        }
      }),
      { numRuns: 25 },
    );
  });

  it("the PgBouncer auth_file holds the app role's verifier (the one ALTER ROLE gets), not its password", () => {
    const files = renderPhaseFiles(2);
    expect(files["db-1/userlist.txt"]).toBe(`"senex" "${scramVerifier(EXAMPLE_SECRETS.dbAppPassword, EXAMPLE_SECRETS.scramSalt)}"\n`);
  });

  it.each([1, 2, 3] as const)("phase %i: nothing binds 0.0.0.0 or ::, and every address a file listens on is its host's or loopback", (phase) => {
    for (const [name, text] of Object.entries(renderPhaseFiles(phase))) {
      expect({ name, wildcard: /(^|[\s'"=,])(0\.0\.0\.0|::)(['"\s,:]|$)(?!\/0)/m.test(text.replace(/(0\.0\.0\.0|::)\/0/g, "")) }).toEqual({ name, wildcard: false });
    }
  });

  it("phase 3 renders the replication pieces; phases 1–2 none of them", () => {
    const p3 = renderPhaseFiles(3);
    expect(p3["db-2/postgresql.conf"]).toMatch(/primary_conninfo/);
    expect(p3["redis-2/redis-broker.conf"]).toMatch(/^replicaof 10\.0\.1\.31 6379$/m);
    expect(p3["redis-1/redis-broker.conf"]).not.toMatch(/^replicaof/m);
    expect(Object.keys(p3).filter((k) => k.endsWith("sentinel.conf"))).toEqual(["redis-1/sentinel.conf", "redis-2/sentinel.conf", "redis-3/sentinel.conf"]);
    for (const phase of [1, 2] as const) {
      const text = Object.values(renderPhaseFiles(phase)).join("\n");
      expect(text).not.toMatch(/primary_conninfo|^replicaof|sentinel monitor/m);
    }
  });
});
