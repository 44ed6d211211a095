/**
 * #11.4 end to end: secrets planted in bad shapes reach the program's config loader (index.ts under
 * the mock engine, what preview/up run) and the offline plan CLI; neither prints them, anywhere
 * (error message, stack, stdout, stderr).
 */
import { runOffline } from "../../plan/mockEngine";
import { MARKER, SECRET_LEAVES, badShapes, baseValues, leafKey, plantedValues, rawConfig } from "../support/plantedSecrets";
import { planOf } from "./planRun";

jest.setTimeout(180_000);

function program(): Record<string, unknown> {
    let exports: Record<string, unknown> = {};
    jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        exports = require("../../index");
    });
    return exports;
}

describe("the program's config loader", () => {
    it("secrets.redisPassword with a trailing newline (the reported case) is a config error, not a renderer error showing it", async () => {
        const leaf = SECRET_LEAVES.find((l) => l.field === "redisPassword")!;
        let error: unknown;
        try {
            await runOffline(rawConfig(plantedValues([[leaf, `${MARKER}-0123456789\n`]])), "leak", "senex-infra", program);
        } catch (e) {
            error = e;
        }
        expect((error as Error | undefined)?.name).toBe("ConfigError");
        expect((error as { problems: string[] }).problems).toEqual([expect.stringMatching(/^senex-infra:secrets\.redisPassword: contains a line break.*Fix:/)]);
        expect(`${(error as Error).message}\n${(error as Error).stack}`).not.toContain(MARKER);
    });

    it.each([0, 1, 2, 3, 4])("every secret leaf in bad shape #%i at once: refused, nothing printed shows a value", async (shape) => {
        const plants = SECRET_LEAVES.map((leaf) => {
            const shapes = badShapes(leaf);
            return [leaf, shapes[shape % shapes.length]![1]] as const;
        });
        const printed: string[] = [];
        const capture = (stream: NodeJS.WriteStream) => jest.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array) => (printed.push(String(chunk)), true));
        const spies = [capture(process.stdout), capture(process.stderr)];
        let error: unknown;
        try {
            await runOffline(rawConfig(plantedValues(plants)), "leak", "senex-infra", program);
        } catch (e) {
            error = e;
        } finally {
            for (const s of spies) s.mockRestore();
        }
        expect((error as Error).name).toBe("ConfigError");
        for (const leaf of SECRET_LEAVES) expect((error as { problems: string[] }).problems.some((p) => p.startsWith(leafKey(leaf)))).toBe(true);
        expect([(error as Error).message, (error as Error).stack, ...printed].join("\n")).not.toContain(MARKER);
    });
});

/** A stack file as a user may write it: one secure value makes the whole object secret, the planted field sits beside it in plain text. */
function nestedPlant(key: "secrets" | "registryAuth", field: string, value: string): Record<string, unknown> {
    const values = baseValues();
    values["senex-infra:s3AccessKeyId"] = { secure: "v1:x" };
    values["senex-infra:s3SecretAccessKey"] = { secure: "v1:x" };
    values[`senex-infra:${key}`] =
        key === "secrets" ? { djangoSecretKey: { secure: "v1:x" }, [field]: value } : { registry: "registry.example.com", username: "deploy", password: { secure: "v1:x" }, [field]: value };
    return values;
}

describe("the offline plan CLI", () => {
    const run = (config: Record<string, unknown>) => {
        const r = planOf(config);
        return { status: r.status, all: `${r.stdout}\n${r.stderr}` };
    };

    it.each([
        ["secrets.redisPassword", "secrets", "redisPassword"],
        ["secrets.dbReplicationPassword", "secrets", "dbReplicationPassword"],
        ["registryAuth.username", "registryAuth", "username"],
    ] as const)("%s with a trailing newline: exit 2 naming the key, the value nowhere", (name, key, field) => {
        const r = run(nestedPlant(key, field, `${MARKER}-0123456789\n`));
        expect(r.all).toMatch(new RegExp(`^senex-infra:${name.replace(".", "\\.")}: contains a line break`, "m"));
        expect(r.status).toBe(2);
        expect(r.all).not.toContain(MARKER);
    });

    it("every top-level secret key given in plain text and in a bad shape: exit 2, the values nowhere", () => {
        const plants = SECRET_LEAVES.filter((l) => !l.field).map((leaf) => [leaf, badShapes(leaf)[0]![1]] as const);
        const r = run(plantedValues(plants));
        expect(r.status).toBe(2);
        expect(r.all).not.toContain(MARKER);
    });
});
