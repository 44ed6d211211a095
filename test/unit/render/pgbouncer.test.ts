import { createHash, createHmac } from "crypto";
import fc from "fast-check";
import { isScramVerifier, renderPgBouncerAuthFile, renderPgBouncerIni, scramVerifier, type PgBouncerSpec } from "../../../render/pgbouncer";
import { renderPhaseFiles } from "./data-services-specs";

const spec: PgBouncerSpec = {
  listenAddress: "10.0.0.4",
  databases: [{ name: "senex", host: "10.0.0.4" }],
  authFile: "/etc/senex/pgbouncer/userlist.txt",
  serverTls: { sslmode: "verify-ca", caFile: "/etc/senex/postgres/ca.crt" },
};

describe("scramVerifier", () => {
  // RFC 7677 §3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
  const salt = Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64");
  const authMessage =
    "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";

  it("matches the RFC 7677 test vector (server signature and client proof)", () => {
    const v = scramVerifier("pencil", salt, 4096);
    const m = /^SCRAM-SHA-256\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\$([^:]+):(.+)$/.exec(v);
    expect(m).not.toBeNull();
    const storedKey = Buffer.from(m![1]!, "base64");
    const serverKey = Buffer.from(m![2]!, "base64");
    expect(createHmac("sha256", serverKey).update(authMessage).digest("base64")).toBe("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    const proof = Buffer.from("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "base64");
    const signature = createHmac("sha256", storedKey).update(authMessage).digest();
    const clientKey = Buffer.from(proof.map((b, i) => b ^ signature[i]!));
    expect(createHash("sha256").update(clientKey).digest().equals(storedKey)).toBe(true);
  });

  it("is deterministic for a salt and refuses what PostgreSQL would SASLprep differently", () => {
    expect(scramVerifier("a-password-123", salt)).toBe(scramVerifier("a-password-123", salt));
    expect(() => scramVerifier("pässword", salt)).toThrow(/printable ASCII/);
    expect(() => scramVerifier("", salt)).toThrow(/printable ASCII/);
    expect(() => scramVerifier("pencil", Buffer.alloc(4))).toThrow(/salt/);
  });

  it("property: a verifier never contains its password and always has the verifier shape", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\x21-\x7e]{8,40}$/), fc.uint8Array({ minLength: 16, maxLength: 16 }), (pw, s) => {
        const v = scramVerifier(pw, s, 4096);
        expect(isScramVerifier(v)).toBe(true);
        expect(v.split("$").slice(2).join("$")).not.toContain(pw);
      }),
      { numRuns: 30 },
    );
  });
});

describe("renderPgBouncerAuthFile", () => {
  it("writes verifiers only and refuses anything that looks like a plaintext password", () => {
    const v = scramVerifier("a-password-123", Buffer.alloc(16, 1));
    expect(renderPgBouncerAuthFile([{ user: "senex", verifier: v }])).toBe(`"senex" "${v}"\n`);
    expect(() => renderPgBouncerAuthFile([{ user: "senex", verifier: "a-password-123" }])).toThrow(/never put a plaintext password/);
    expect(() => renderPgBouncerAuthFile([{ user: 'se"nex', verifier: v }])).toThrow(/user/);
    expect(() => renderPgBouncerAuthFile([])).toThrow(/at least one/);
  });
});

describe("renderPgBouncerIni", () => {
  it.each([2, 3] as const)("phase %i snapshot", (phase) => {
    const files = renderPhaseFiles(phase);
    expect(Object.fromEntries(Object.entries(files).filter(([k]) => /pgbouncer\.ini|userlist\.txt/.test(k)))).toMatchSnapshot();
  });

  it("listens on the private address, transaction pooling, SCRAM, TLS to the server", () => {
    const text = renderPgBouncerIni(spec);
    for (const line of ["listen_addr = 10.0.0.4", "listen_port = 6432", "pool_mode = transaction", "auth_type = scram-sha-256", "server_tls_sslmode = verify-ca", "server_tls_ca_file = /etc/senex/postgres/ca.crt", "senex = host=10.0.0.4 port=5432 dbname=senex"]) {
      expect(text.split("\n")).toContain(line);
    }
    expect(text).not.toMatch(/auth_query|auth_user|client_tls/);
  });

  it.each<[string, Partial<PgBouncerSpec>, RegExp]>([
    ["no databases", { databases: [] }, /databases/],
    ["hostname", { listenAddress: "db-1" }, /listenAddress/],
    ["newline injection in dbname", { databases: [{ name: "senex", host: "10.0.0.4", dbname: "x\nauth_type = trust" }] }, /single line/],
    ["relative auth file", { authFile: "userlist.txt" }, /authFile/],
  ])("rejects %s", (_n, over, message) => {
    expect(() => renderPgBouncerIni({ ...spec, ...over })).toThrow(message);
  });
});
