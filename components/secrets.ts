import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { utils as sshUtils } from "ssh2";
import type { GeneratedSecretName } from "../config/keys";
import type { SecretValue } from "../config/secret";

export interface SecretsArgs {
    /** Generation per secret (`rotate`); bumping one is how a secret rotates. */
    rotate: Readonly<Record<GeneratedSecretName, number>>;
    /** Values given as encrypted stack config: no random resource is created for them. */
    supplied: Readonly<Partial<Record<GeneratedSecretName, SecretValue>>>;
    /** The deployment's login key, when given as stack config instead of generated. */
    deploySshKey?: SecretValue;
    /**
     * Hosts that get an SSH host key generated before they exist (cloud hosts), with the names the
     * host had in earlier phases: the key must follow the server, or the pin would break.
     */
    hostKeyFor: readonly { name: string; formerNames: readonly string[] }[];
}

/**
 * Every generated secret of the stack, each with its own rotation policy (ARCHITECTURE.md):
 * - passwords (database app/replication/pgbouncer, Redis, Grafana): a new generation replaces the
 *   old value; the host layer then runs ALTER ROLE, updates the podman secret and restarts dependents.
 * - Django `SECRET_KEY`: the current and the previous generation are kept; the previous one goes
 *   into `SECRET_KEY_FALLBACKS`, so sessions and signed tokens survive a rotation.
 * - Fernet field-encryption key: a keyring (MultiFernet), newest first; a rotation adds a key at the
 *   front and never removes one, because rows encrypted with an old key must stay readable until
 *   the app re-encrypts them.
 * - backup passphrase: never rotates (config rejects it); exported for offline escrow.
 * Every output is a Pulumi secret.
 */
export class Secrets extends pulumi.ComponentResource {
    declare public readonly djangoSecretKey: pulumi.Output<string>;
    /** Previous Django keys, newest first (empty before the first rotation). */
    declare public readonly djangoSecretKeyFallbacks: pulumi.Output<string[]>;
    /** MultiFernet keyring, newest first; the first key encrypts. */
    declare public readonly fieldEncryptionKeys: pulumi.Output<string[]>;
    declare public readonly dbAppPassword: pulumi.Output<string>;
    declare public readonly dbReplicationPassword: pulumi.Output<string>;
    declare public readonly dbPgbouncerPassword: pulumi.Output<string>;
    declare public readonly redisPassword: pulumi.Output<string>;
    declare public readonly grafanaAdminPassword: pulumi.Output<string>;
    declare public readonly backupPassphrase: pulumi.Output<string>;
    /** Our deployment key: its public half is authorized for `admin` on every host. */
    declare public readonly deployKey: { privateKey: pulumi.Output<string>; publicKey: pulumi.Output<string> };
    /** Per-host ED25519 host keys for cloud hosts, known before the server exists. */
    declare public readonly hostKeys: Readonly<Record<string, { privateKey: pulumi.Output<string>; publicKey: pulumi.Output<string> }>>;

    constructor(name: string, args: SecretsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("senex:secrets:Secrets", name, {}, opts);
        const child = { parent: this };

        const password = (secret: GeneratedSecretName, length: number, generation = args.rotate[secret], special = false): pulumi.Output<string> => {
            const given = args.supplied[secret];
            if (given && generation === args.rotate[secret]) return pulumi.secret(given.reveal());
            // Letters and digits only: these passwords go into URLs (redis://:pw@, postgres://) and
            // config files; 32+ characters of [A-Za-z0-9] are ~190 bits.
            return new random.RandomPassword(`${name}-${kebab(secret)}-g${generation}`, { length, special, keepers: { generation: String(generation) } }, child).result;
        };

        this.dbAppPassword = password("dbAppPassword", 32);
        this.dbReplicationPassword = password("dbReplicationPassword", 32);
        this.dbPgbouncerPassword = password("dbPgbouncerPassword", 32);
        this.redisPassword = password("redisPassword", 40);
        this.grafanaAdminPassword = password("grafanaAdminPassword", 24);
        this.backupPassphrase = password("backupPassphrase", 48);

        // Django: current and previous generation (the previous one is dropped at the next rotation).
        const dj = args.rotate.djangoSecretKey;
        this.djangoSecretKey = password("djangoSecretKey", 64, dj, true);
        this.djangoSecretKeyFallbacks = dj > 0 ? pulumi.all([password("djangoSecretKey", 64, dj - 1, true)]) : pulumi.secret(pulumi.output([] as string[]));

        // Fernet keyring: every generation, newest first. A supplied key stands for the newest one.
        const fe = args.rotate.fieldEncryptionKey;
        const fernet = (generation: number): pulumi.Output<string> => {
            const given = args.supplied.fieldEncryptionKey;
            if (given && generation === fe) return pulumi.secret(given.reveal());
            const bytes = new random.RandomBytes(`${name}-field-encryption-key-g${generation}`, { length: 32, keepers: { generation: String(generation) } }, child);
            return pulumi.secret(bytes.base64.apply(toUrlSafeBase64));
        };
        this.fieldEncryptionKeys = pulumi.secret(pulumi.all(Array.from({ length: fe + 1 }, (_, i) => fernet(fe - i))));

        if (args.deploySshKey) {
            const key = args.deploySshKey.reveal();
            this.deployKey = { privateKey: pulumi.secret(key), publicKey: pulumi.output(openSshPublicKey(key)) };
        } else {
            const deploy = new tls.PrivateKey(`${name}-deploy-key`, { algorithm: "ED25519" }, child);
            this.deployKey = { privateKey: pulumi.secret(deploy.privateKeyOpenssh), publicKey: deploy.publicKeyOpenssh.apply((k) => k.trim()) };
        }

        const hostKeys: Record<string, { privateKey: pulumi.Output<string>; publicKey: pulumi.Output<string> }> = {};
        for (const host of args.hostKeyFor) {
            const aliases = host.formerNames.map((former) => ({ name: `${name}-host-key-${former}` }));
            const key = new tls.PrivateKey(`${name}-host-key-${host.name}`, { algorithm: "ED25519" }, { parent: this, aliases });
            hostKeys[host.name] = { privateKey: pulumi.secret(key.privateKeyOpenssh), publicKey: key.publicKeyOpenssh.apply((k) => k.trim()) };
        }
        this.hostKeys = hostKeys;

        this.registerOutputs({});
    }
}

/** The `ssh-ed25519 AAAA…` line of an OpenSSH private key (ssh2's parser; throws on anything else). */
export function openSshPublicKey(privateKey: string): string {
    const parsed = sshUtils.parseKey(privateKey);
    if (parsed instanceof Error) throw new Error(`deploySshKey: ${parsed.message}`);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    return `${key.type} ${key.getPublicSSH().toString("base64")} senex-deploy`;
}

/** Fernet wants url-safe base64 (`-_` instead of `+/`), padding kept: 44 characters for 32 bytes. */
export function toUrlSafeBase64(b64: string): string {
    return b64.replace(/\+/g, "-").replace(/\//g, "_");
}

function kebab(s: string): string {
    return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
