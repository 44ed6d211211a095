import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "./keys";
import { parseStackConfig, RawConfig } from "./schema";
import type { StackConfig } from "./types";

export { ConfigError, parseStackConfig } from "./schema";
export type { RawConfig } from "./schema";
export { SecretValue } from "./secret";
export * from "./types";
export { CONFIG_KEYS, GENERATED_SECRETS, PROJECT } from "./keys";
export type { GeneratedSecretName } from "./keys";

/**
 * The one place that reads Pulumi config: every key of this stack with its secret flag, as the
 * engine handed them to the program. `isConfigSecret` is the SDK's own (internal) check of
 * PULUMI_CONFIG_SECRET_KEYS; it is what `pulumi.Config#getSecret` bookkeeping relies on too.
 */
export function readRawConfig(): RawConfig {
    const values = pulumi.runtime.allConfig();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(k: string): boolean };
    const secretKeys = new Set(Object.keys(values).filter((k) => isConfigSecret(k)));
    return { values, secretKeys };
}

/** Reads, validates and freezes this stack's config; throws a ConfigError listing every problem. */
export function loadStackConfig(): StackConfig {
    return parseStackConfig(readRawConfig(), pulumi.getProject() || PROJECT, pulumi.getStack());
}
