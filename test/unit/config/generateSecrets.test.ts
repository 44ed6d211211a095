import { generateSecret, randomString } from "../../../scripts/generate-secrets";
import { GENERATED_SECRETS } from "../../../config/keys";
import { parseStackConfig } from "../../../config/schema";
import { rawConfigFromValues } from "../../../plan/stackFile";
import { minimalStack } from "./minimalStack";

describe("generated secret values", () => {
    it("the Fernet key is url-safe base64 of 32 bytes", () => {
        const key = generateSecret("fieldEncryptionKey");
        expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
        expect(Buffer.from(key.replace(/-/g, "+").replace(/_/g, "/"), "base64")).toHaveLength(32);
    });

    it("values differ between calls and use only the alphabet", () => {
        expect(generateSecret("dbAppPassword")).not.toBe(generateSecret("dbAppPassword"));
        expect(randomString(200, "ab")).toMatch(/^[ab]{200}$/);
    });

    it("every generated value is accepted by the config schema as a supplied secret", () => {
        const secrets = Object.fromEntries(GENERATED_SECRETS.map((n) => [n, generateSecret(n)]));
        const raw = rawConfigFromValues(minimalStack());
        const values = { ...raw.values, "senex-infra:secrets": JSON.stringify(secrets) };
        const config = parseStackConfig({ values, secretKeys: new Set([...raw.secretKeys, "senex-infra:secrets"]) }, "senex-infra", "t");
        expect(config.suppliedSecrets.fieldEncryptionKey?.reveal()).toBe(secrets.fieldEncryptionKey);
    });
});
