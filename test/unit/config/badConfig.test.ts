import { ConfigError, parseStackConfig } from "../../../config/schema";
import { rawConfigFromValues } from "../../../plan/stackFile";
import type { RawConfig } from "../../../config/schema";
import { ADMIN_KEY as ADMIN } from "./minimalStack";

const HK = (i: number) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${String.fromCharCode(65 + i)}rfwlZB/6TPh2FqjCUUQ6Ucdt800uFDZGl1oeVllCRm`;

/** A valid hetzner phase-2 stack; each case below breaks one thing. */
function base(): Record<string, unknown> {
    return {
        "senex-infra:cloud": "hetzner",
        "senex-infra:phase": 2,
        "senex-infra:domain": "example.com",
        "senex-infra:region": "fsn1",
        "senex-infra:adminSshKeys": [ADMIN],
        "senex-infra:acme": { email: "ops@example.com" },
        "senex-infra:s3AccessKeyId": { secure: "x" },
        "senex-infra:s3SecretAccessKey": { secure: "x" },
    };
}

function existing(phase: number, hosts: Array<{ name: string; roles: string[] }>): Record<string, unknown> {
    return {
        "senex-infra:cloud": "existing",
        "senex-infra:phase": phase,
        "senex-infra:domain": "example.com",
        "senex-infra:adminSshKeys": [ADMIN],
        "senex-infra:acme": { email: "ops@example.com" },
        "senex-infra:backups": { enabled: false },
        "senex-infra:hosts": hosts.map((h, i) => ({ name: h.name, address: `198.51.100.${10 + i}`, privateAddress: `10.10.0.${10 + i}`, hostKey: HK(i), roles: h.roles })),
    };
}

function problemsOf(raw: RawConfig): string[] {
    try {
        parseStackConfig(raw, "senex-infra", "test");
    } catch (e) {
        if (e instanceof ConfigError) return [...e.problems];
        throw e;
    }
    return [];
}

const edit = (f: (c: Record<string, unknown>) => void, start = base) => {
    const c = start();
    f(c);
    return c;
};

// Each case: the config, the full key the error must name, and a word of the fix it must give.
const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ["unknown key (typo)", edit((c) => (c["senex-infra:webcount"] = 2)), "senex-infra:webcount", /Did you mean `webCount`/],
    ["unknown nested key", edit((c) => (c["senex-infra:acme"] = { email: "ops@example.com", emial: "x" })), "senex-infra:acme.emial", /unknown key/],
    ["missing cloud", edit((c) => delete c["senex-infra:cloud"]), "senex-infra:cloud", /is required/],
    ["bad cloud", edit((c) => (c["senex-infra:cloud"] = "aws")), "senex-infra:cloud", /hetzner, digitalocean, existing/],
    ["phase out of range", edit((c) => (c["senex-infra:phase"] = 4)), "senex-infra:phase", /1, 2 or 3/],
    ["phase not a number", edit((c) => (c["senex-infra:phase"] = "three")), "senex-infra:phase", /1, 2 or 3/],
    ["bad domain", edit((c) => (c["senex-infra:domain"] = "Example_com")), "senex-infra:domain", /DNS name/],
    ["no admin keys", edit((c) => (c["senex-infra:adminSshKeys"] = [])), "senex-infra:adminSshKeys", /at least one key/],
    ["admin key malformed", edit((c) => (c["senex-infra:adminSshKeys"] = ["not a key"])), "senex-infra:adminSshKeys[0]", /OpenSSH public key/],
    ["acme email invalid", edit((c) => (c["senex-infra:acme"] = { email: "nope" })), "senex-infra:acme.email", /e-mail/],
    ["acme directory not https", edit((c) => (c["senex-infra:acme"] = { email: "a@b.co", directoryUrl: "http://acme" })), "senex-infra:acme.directoryUrl", /https URL/],
    ["region unknown", edit((c) => (c["senex-infra:region"] = "fsn9")), "senex-infra:region", /fsn1/],
    ["region missing", edit((c) => delete c["senex-infra:region"]), "senex-infra:region", /is required for cloud=hetzner/],
    ["size unknown", edit((c) => (c["senex-infra:sizes"] = { web: "cx99" })), "senex-infra:sizes.web", /not a hetzner server type/],
    ["size discontinued", edit((c) => (c["senex-infra:sizes"] = { web: "cx22" })), "senex-infra:sizes.web", /no longer sells/],
    ["size of a group the phase lacks", edit((c) => (c["senex-infra:sizes"] = { redis: "cx23" })), "senex-infra:sizes.redis", /phase 2 has no redis hosts/],
    ["size key unknown", edit((c) => (c["senex-infra:sizes"] = { webb: "cx23" })), "senex-infra:sizes.webb", /unknown key/],
    ["webCount in phase 2", edit((c) => (c["senex-infra:webCount"] = 3)), "senex-infra:webCount", /phase 2 runs exactly one web host/],
    ["phase 3 with one web host", edit((c) => Object.assign(c, { "senex-infra:phase": 3, "senex-infra:webCount": 1 })), "senex-infra:webCount", /at least 2 web hosts/],
    ["phase 3 with one worker", edit((c) => Object.assign(c, { "senex-infra:phase": 3, "senex-infra:workerCount": "1" })), "senex-infra:workerCount", /at least 2 Celery workers/],
    ["webCount too large", edit((c) => Object.assign(c, { "senex-infra:phase": 3, "senex-infra:webCount": 51 })), "senex-infra:webCount", /at most 50/],
    ["plaintext secret", edit((c) => (c["senex-infra:tastytradeClientSecret"] = "hunter2")), "senex-infra:tastytradeClientSecret", /--secret/],
    ["plaintext s3 key", edit((c) => (c["senex-infra:s3SecretAccessKey"] = "abc")), "senex-infra:s3SecretAccessKey", /--secret/],
    ["hetzner backups without S3 keys", edit((c) => delete c["senex-infra:s3AccessKeyId"]), "senex-infra:s3AccessKeyId", /cannot be created by API/],
    ["client id without secret", edit((c) => (c["senex-infra:tastytradeClientId"] = "senex")), "senex-infra:tastytradeClientSecret", /is required when tastytradeClientId/],
    ["rotating the backup passphrase", edit((c) => (c["senex-infra:rotate"] = { backupPassphrase: 1 })), "senex-infra:rotate.backupPassphrase", /never rotates/],
    ["rotate unknown secret", edit((c) => (c["senex-infra:rotate"] = { dbPassword: 1 })), "senex-infra:rotate.dbPassword", /unknown key/],
    ["rotate negative", edit((c) => (c["senex-infra:rotate"] = { redisPassword: -1 })), "senex-infra:rotate.redisPassword", /generation number/],
    ["postgres 15", edit((c) => (c["senex-infra:postgresVersion"] = 15)), "senex-infra:postgresVersion", /16 or 17/],
    ["image reference malformed", edit((c) => (c["senex-infra:images"] = { app: "Bad Image!" })), "senex-infra:images.app", /image reference/],
    ["protect without digests", edit((c) => (c["senex-infra:protect"] = true)), "senex-infra:images.app", /not pinned by digest/],
    ["protect not a boolean", edit((c) => (c["senex-infra:protect"] = "yes")), "senex-infra:protect", /true or false/],
    ["ssh allowFrom not a CIDR", edit((c) => (c["senex-infra:ssh"] = { allowFrom: ["office"] })), "senex-infra:ssh.allowFrom[0]", /CIDR/],
    ["subnet outside network", edit((c) => (c["senex-infra:network"] = { cidr: "10.0.0.0/16", subnet: "10.9.1.0/24" })), "senex-infra:network.subnet", /not inside/],
    ["fernet key malformed", edit((c) => (c["senex-infra:secrets"] = { secure: "x" })), "senex-infra:secrets", /JSON|structure/],
    ["hosts with a cloud", edit((c) => (c["senex-infra:hosts"] = [])), "senex-infra:hosts", /only for cloud=existing/],
    ["existing without hosts", edit((c) => delete c["senex-infra:hosts"], () => existing(1, [])), "senex-infra:hosts", /needs your servers listed/],
    ["existing region given", edit((c) => (c["senex-infra:region"] = "fsn1"), () => existing(1, [{ name: "main", roles: ["main"] }])), "senex-infra:region", /not used with cloud=existing/],
    ["existing host without host key", edit((c) => delete (c["senex-infra:hosts"] as Array<Record<string, unknown>>)[0].hostKey, () => existing(1, [{ name: "main", roles: ["main"] }])), "senex-infra:hosts[0].hostKey", /is required/],
    ["existing host key not ed25519", edit((c) => ((c["senex-infra:hosts"] as Array<Record<string, unknown>>)[0].hostKey = "ssh-rsa AAAAB3"), () => existing(1, [{ name: "main", roles: ["main"] }])), "senex-infra:hosts[0].hostKey", /ED25519/],
    ["existing duplicate address", edit((c) => ((c["senex-infra:hosts"] as Array<Record<string, unknown>>)[1].address = "198.51.100.10"), () => existing(2, [{ name: "web-1", roles: ["web"] }, { name: "db-1", roles: ["db"] }, { name: "cache-1", roles: ["cache"] }])), "senex-infra:hosts[1].address", /also used by hosts\[0\]/],
    ["existing duplicate host key", edit((c) => ((c["senex-infra:hosts"] as Array<Record<string, unknown>>)[2].hostKey = HK(0)), () => existing(2, [{ name: "web-1", roles: ["web"] }, { name: "db-1", roles: ["db"] }, { name: "cache-1", roles: ["cache"] }])), "senex-infra:hosts[2].hostKey", /also used by hosts\[0\]/],
    ["existing phase 2 missing cache", existing(2, [{ name: "web-1", roles: ["web"] }, { name: "db-1", roles: ["db"] }]), "senex-infra:hosts", /exactly one cache host/],
    ["existing role of another phase", existing(1, [{ name: "main", roles: ["main", "redis"] }]), "senex-infra:hosts[0].roles[1]", /not used in phase 1/],
    ["existing phase 3 without sentinel quorum", existing(3, [
        { name: "lb-1", roles: ["lb"] }, { name: "web-1", roles: ["web"] }, { name: "web-2", roles: ["web"] }, { name: "db-1", roles: ["db"] }, { name: "db-2", roles: ["db"] },
        { name: "redis-1", roles: ["redis"] }, { name: "redis-2", roles: ["redis"] }, { name: "worker-1", roles: ["worker"] }, { name: "worker-2", roles: ["worker"] }, { name: "monitoring-1", roles: ["monitoring"] },
    ]), "senex-infra:hosts", /3 redis hosts/],
    // #11.11: gaps that were silently accepted, or failed later in a renderer.
    ["limits for a misspelt service", edit((c) => (c["senex-infra:limits"] = { postgress: { memory: "2G" } })), "senex-infra:limits.postgress", /Did you mean `postgres`/],
    ["limits for something that is not a service", edit((c) => (c["senex-infra:limits"] = { everything: { cpus: 2 } })), "senex-infra:limits.everything", /use one of .*celery-worker/],
    ["subnet with host bits set", edit((c) => (c["senex-infra:network"] = { subnet: "10.0.1.200/24" })), "senex-infra:network.subnet", /not a network address.*Fix: use 10\.0\.1\.0\/24/],
    ["network cidr with host bits set", edit((c) => (c["senex-infra:network"] = { cidr: "10.0.5.0/16" })), "senex-infra:network.cidr", /Fix: use 10\.0\.0\.0\/16/],
    ["backup region malformed on existing", edit((c) => (c["senex-infra:backups"] = { endpoint: "https://s3.example.net", region: "EU Central" }), () => ({ ...existing(1, [{ name: "main", roles: ["main"] }]), "senex-infra:s3AccessKeyId": { secure: "x" }, "senex-infra:s3SecretAccessKey": { secure: "x" } })), "senex-infra:backups.region", /S3 region name/],
    ["backup endpoint over http", edit((c) => (c["senex-infra:backups"] = { endpoint: "http://s3.example.net" })), "senex-infra:backups.endpoint", /https URL/],
    ["backup endpoint not a URL", edit((c) => (c["senex-infra:backups"] = { endpoint: "not a url" })), "senex-infra:backups.endpoint", /https URL/],
    ["backup endpoint with a path", edit((c) => (c["senex-infra:backups"] = { endpoint: "https://s3.example.net/bucket" })), "senex-infra:backups.endpoint", /without a path/],
    ["backup endpoint with a login", edit((c) => (c["senex-infra:backups"] = { endpoint: "https://key:secret@s3.example.net" })), "senex-infra:backups.endpoint", /without a path, query or login/],
    // #11.8: the heartbeat URL carries a token.
    ["heartbeat URL in plain alerts", edit((c) => (c["senex-infra:alerts"] = { heartbeatUrl: "https://heartbeat.example.net/token" })), "senex-infra:alerts.heartbeatUrl", /secret key alertHeartbeatUrl.*--secret/],
    ["heartbeat URL stored in plain text", edit((c) => (c["senex-infra:alertHeartbeatUrl"] = "https://heartbeat.example.net/token")), "senex-infra:alertHeartbeatUrl", /stored in plain text.*--secret/],
    // #11.14: name and roles may be left out only where they cannot be anything else.
    ["existing phase 2 host without roles", edit((c) => delete (c["senex-infra:hosts"] as Array<Record<string, unknown>>)[1].roles, () => existing(2, [{ name: "web-1", roles: ["web"] }, { name: "db-1", roles: ["db"] }, { name: "cache-1", roles: ["cache"] }])), "senex-infra:hosts[1].roles", /is required \(phase 2 spreads/],
    ["existing phase 2 host without name", edit((c) => delete (c["senex-infra:hosts"] as Array<Record<string, unknown>>)[0].name, () => existing(2, [{ name: "web-1", roles: ["web"] }, { name: "db-1", roles: ["db"] }, { name: "cache-1", roles: ["cache"] }])), "senex-infra:hosts[0].name", /is required.*name: web-1/],
    ["existing phase 1 with two hosts, roles left out", edit((c) => (c["senex-infra:hosts"] as Array<Record<string, unknown>>).forEach((h) => delete h.roles), () => existing(1, [{ name: "main", roles: ["main"] }, { name: "spare", roles: ["main"] }])), "senex-infra:hosts[1].roles", /exactly one host/],
    ["existing bad role", edit((c) => ((c["senex-infra:hosts"] as Array<Record<string, unknown>>)[0].roles = ["database"]), () => existing(1, [{ name: "main", roles: ["main"] }])), "senex-infra:hosts[0].roles[0]", /must be one of/],
];

describe("bad config corpus: every rule names the full key and the fix", () => {
    it.each(cases)("%s", (_title, values, key, fix) => {
        const problems = problemsOf(rawConfigFromValues(values, () => "stand-in-secret-value-0123456789"));
        const line = problems.find((p) => p.startsWith(`${key}:`));
        expect(line).toBeDefined();
        expect(line).toMatch(fix);
    });

    it("has at least 25 cases", () => {
        expect(cases.length).toBeGreaterThanOrEqual(25);
    });

    it("the base config of the corpus is itself valid (so each case fails for its own reason)", () => {
        expect(problemsOf(rawConfigFromValues(base()))).toEqual([]);
    });

    it("reports every problem at once", () => {
        const c = edit((x) => Object.assign(x, { "senex-infra:webcount": 2, "senex-infra:region": "fsn9", "senex-infra:acme": { email: "x" } }));
        const keys = problemsOf(rawConfigFromValues(c)).map((p) => p.split(":").slice(0, 2).join(":"));
        expect(keys).toEqual(expect.arrayContaining(["senex-infra:webcount", "senex-infra:region", "senex-infra:acme.email"]));
    });

    it("leaves other namespaces alone", () => {
        const c = edit((x) => Object.assign(x, { "hcloud:token": "abc", "digitalocean:token": "x", "aws:region": "eu-central-1", "pulumi:tags": "{}" }));
        expect(problemsOf(rawConfigFromValues(c))).toEqual([]);
    });
});
