// Prints a fresh value for every generated secret as two lines: the name, then the value. Read by
// scripts/secrets-to-config.sh, which pipes each value to `pulumi config set --secret` on stdin.
import { randomBytes } from "crypto";
import { GENERATED_SECRETS, GeneratedSecretName } from "../config/keys";
import { toUrlSafeBase64 } from "../components/secrets";

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Uniform characters from `alphabet` (rejection sampling: no modulo bias). */
export function randomString(length: number, alphabet = ALPHANUMERIC): string {
    let out = "";
    while (out.length < length) for (const b of randomBytes(length * 2)) if (b < 256 - (256 % alphabet.length) && out.length < length) out += alphabet[b % alphabet.length];
    return out;
}

export function generateSecret(name: GeneratedSecretName): string {
    switch (name) {
        case "fieldEncryptionKey":
            return toUrlSafeBase64(randomBytes(32).toString("base64"));
        case "djangoSecretKey":
            return randomString(64, ALPHANUMERIC + "!@#%^&*(-_=+)");
        case "backupPassphrase":
            return randomString(48);
        case "redisPassword":
            return randomString(40);
        case "grafanaAdminPassword":
            return randomString(24);
        case "dbAppPassword":
        case "dbReplicationPassword":
        case "dbPgbouncerPassword":
            return randomString(32);
        default: {
            const never: never = name;
            throw new Error(`no generator for ${String(never)}`);
        }
    }
}

if (require.main === module) for (const name of GENERATED_SECRETS) process.stdout.write(`${name}\n${generateSecret(name)}\n`);
