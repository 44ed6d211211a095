import { parseStackConfig } from "../../../config/schema";
import { SecretValue } from "../../../config/secret";
import { CONFIG_KEYS } from "../../../config/keys";
import { rawConfigFromStackFile, rawConfigFromValues } from "../../../plan/stackFile";
import * as fs from "fs";
import * as path from "path";
import { inspect } from "util";
import { parse } from "yaml";
import { ADMIN_KEY, minimalStack } from "./minimalStack";

const root = path.resolve(__dirname, "../../..");
const stackFiles = [path.join(root, "Pulumi.production.yaml"), path.join(root, "Pulumi.staging.yaml"), ...fs.readdirSync(path.join(root, "examples")).map((f) => path.join(root, "examples", f))];

describe("stack config", () => {
    it.each(stackFiles.map((f) => [path.relative(root, f), f]))("%s is valid", (_name, file) => {
        const config = parseStackConfig(rawConfigFromStackFile(file), "senex-infra", "t");
        expect(Object.isFrozen(config)).toBe(true);
        expect(Object.isFrozen(config.images)).toBe(true);
    });

    it("production is hetzner phase 3, protected, every image pinned by digest", () => {
        const c = parseStackConfig(rawConfigFromStackFile(path.join(root, "Pulumi.production.yaml")), "senex-infra", "production");
        expect([c.cloud, c.phase, c.protect]).toEqual(["hetzner", 3, true]);
        expect(c.images.app).toMatch(/@sha256:[0-9a-f]{64}$/);
    });

    it("accepts values as `pulumi config set` delivers them (strings)", () => {
        const c = parseStackConfig(
            {
                values: {
                    "senex-infra:cloud": "digitalocean",
                    "senex-infra:phase": "3",
                    "senex-infra:webCount": "4",
                    "senex-infra:workerCount": "3",
                    "senex-infra:protect": "false",
                    "senex-infra:domain": "example.com",
                    "senex-infra:region": "fra1",
                    "senex-infra:adminSshKeys": JSON.stringify([ADMIN_KEY]),
                    "senex-infra:acme": '{"email":"a@example.com"}',
                },
                secretKeys: new Set(),
            },
            "senex-infra",
            "s",
        );
        expect([c.phase, c.webCount, c.workerCount, c.protect]).toEqual([3, 4, 3, false]);
    });

    it("keeps secrets wrapped: they never print", () => {
        const c = parseStackConfig(
            rawConfigFromValues(minimalStack({ "senex-infra:tastytradeClientId": "id", "senex-infra:tastytradeClientSecret": { secure: "x" } }), () => "very-secret-plaintext-42"),
            "senex-infra",
            "s",
        );
        expect(c.tastytrade.clientSecret).toBeInstanceOf(SecretValue);
        expect(c.tastytrade.clientSecret!.reveal()).toBe("very-secret-plaintext-42");
        for (const text of [JSON.stringify(c), inspect(c, { depth: 10 }), `${c.tastytrade.clientSecret}`]) expect(text).not.toContain("very-secret-plaintext-42");
    });

    it("Pulumi.yaml declares exactly the required keys (typed) and lists every optional key with its description", () => {
        const text = fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8");
        const doc = parse(text) as { config: Record<string, { type?: string; items?: { type: string }; description: string; secret?: boolean }> };
        const required = Object.entries(CONFIG_KEYS).filter(([, spec]) => "required" in spec && spec.required);
        // A declared key without a default is required in every stack by the CLI itself.
        expect(Object.keys(doc.config).sort()).toEqual(required.map(([k]) => k).sort());
        for (const [k, spec] of required) {
            expect(doc.config[k].description).toBe(spec.description);
            expect(doc.config[k].type).toBe(spec.type === "object" ? undefined : spec.type);
            expect(Boolean(doc.config[k].secret)).toBe(spec.secret === "required");
            // The CLI refuses the whole project file when an array key has no item type.
            if (spec.type === "array") expect(doc.config[k].items?.type).toBe("string");
        }
        for (const [k, spec] of Object.entries(CONFIG_KEYS).filter(([, s]) => !("required" in s && s.required)))
            expect(text).toContain(`#   ${k} (${spec.type}${spec.secret === "required" ? ", secret" : ""}): ${spec.description}\n`);
    });
});

describe("ask only for what cannot be inferred (#11.14)", () => {
    const host = { address: "198.51.100.11", privateAddress: "10.10.0.11", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIrfwlZB/6TPh2FqjCUUQ6Ucdt800uFDZGl1oeVllCRm" };
    const existing = (hosts: unknown[]) => {
        const values = minimalStack({ "senex-infra:cloud": "existing", "senex-infra:hosts": hosts });
        delete values["senex-infra:region"];
        return parseStackConfig(rawConfigFromValues(values), "senex-infra", "s");
    };

    it("phase 1's one existing host needs neither name nor roles: it is main and holds everything, as spelled out", () => {
        const inferred = existing([host]);
        expect(inferred.hosts).toEqual([{ ...host, name: "main", roles: ["main"], bootstrapUser: "root" }]);
        expect(inferred).toEqual(existing([{ ...host, name: "main", roles: ["main"] }]));
    });

    it("a given name is kept", () => {
        expect(existing([{ ...host, name: "box" }]).hosts[0]).toMatchObject({ name: "box", roles: ["main"] });
    });
});
