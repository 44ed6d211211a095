/**
 * #11.13: the offline plan runs with no credentials at all. A Hetzner stack with backups on but no
 * object storage keys plans (with a warning naming each key and the fix); the program itself, which
 * is what `pulumi preview` and `up` run, still refuses it before any resource exists.
 */
import * as fs from "fs";
import * as path from "path";
import type { ConfigError } from "../../config/schema";
import { runOffline } from "../../plan/mockEngine";
import { rawConfigFromValues } from "../../plan/stackFile";
import { parse } from "yaml";
import { planOf } from "./planRun";

jest.setTimeout(120_000);

function program(): Record<string, unknown> {
    let exports: Record<string, unknown> = {};
    jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        exports = require("../../index");
    });
    return exports;
}

/** examples/Pulumi.hetzner-phase2.yaml (backups on) without the object storage keys, as a new user has it. */
function withoutKeys(): Record<string, unknown> {
    const doc = parse(fs.readFileSync(path.resolve(__dirname, "../../examples/Pulumi.hetzner-phase2.yaml"), "utf8")) as { config: Record<string, unknown> };
    const config = { ...doc.config };
    delete config["senex-infra:s3AccessKeyId"];
    delete config["senex-infra:s3SecretAccessKey"];
    return config;
}

const KEYS = ["senex-infra:s3AccessKeyId", "senex-infra:s3SecretAccessKey"];

describe("plan without object storage keys", () => {
    it("plans the whole stack, bucket included, and warns per missing key with the fix", () => {
        const r = planOf(withoutKeys(), "--json");
        expect(r.stderr).not.toMatch(/plan failed/);
        expect(r.status).toBe(0);
        const p = JSON.parse(r.stdout) as { resources: Array<{ type: string }>; warnings?: string[] };
        expect(p.resources.some((x) => x.type === "aws:s3/bucket:Bucket")).toBe(true);
        for (const key of KEYS) {
            expect(p.warnings).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${key}: .*Fix: \`pulumi config set --secret ${key}\`.*preview.*refuse`))]));
            expect(r.stderr).toMatch(new RegExp(`^warning: ${key}: `, "m"));
        }
        expect(r.stdout).not.toContain("plan-stand-in-for-a-missing-credential");
    });

    it("a credential that is set but invalid is still an error (not stood in for)", () => {
        const r = planOf({ ...withoutKeys(), "senex-infra:s3AccessKeyId": "AKIA-in-plain-text" });
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(/^senex-infra:s3AccessKeyId: is a secret but is stored in plain text/m);
    });

    it("the program (what preview and up run) refuses it before any resource exists", async () => {
        let error: unknown;
        let registered = 0;
        try {
            registered = (await runOffline(rawConfigFromValues(withoutKeys()), "t", "senex-infra", program)).resources.length;
        } catch (e) {
            error = e;
        }
        expect(registered).toBe(0);
        // The program is loaded in isolation (its own ConfigError class): check by name.
        expect((error as Error).name).toBe("ConfigError");
        for (const key of KEYS) expect((error as ConfigError).problems).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${key}: is required for backups on hetzner`))]));
    });
});
