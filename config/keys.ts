/**
 * Every top-level config key of the `senex-infra` namespace: its Pulumi type (where Pulumi.yaml can
 * type it), whether it must, may or must not be a secret, and the one-line description that
 * Pulumi.yaml repeats (a unit test keeps the two in step).
 */
export const PROJECT = "senex-infra";

export type PulumiConfigType = "string" | "integer" | "boolean" | "array" | "object";
export type SecretRule = "required" | "never" | "optional";

export interface ConfigKey {
    /** How Pulumi stores it; `object` keys are JSON and typed by our schema, not by Pulumi.yaml. */
    type: PulumiConfigType;
    secret: SecretRule;
    description: string;
    /**
     * Every stack must set it. Only these are declared in Pulumi.yaml's `config:`: the CLI treats a
     * declared key without a default as required in every stack (pulumi/pulumi#21797), so optional
     * keys are listed in a comment there instead.
     */
    required?: true;
}

export const CONFIG_KEYS = {
    cloud: { type: "string", secret: "never", required: true, description: "Where the servers are: hetzner | digitalocean | existing (servers you already have)." },
    phase: { type: "integer", secret: "never", required: true, description: "Deployment phase: 1 single server, 2 separated services + monitoring + backups, 3 high availability." },
    domain: { type: "string", secret: "never", required: true, description: "Public domain of the app (apex); www.<domain> is served too." },
    region: { type: "string", secret: "never", description: "Cloud location (hetzner: fsn1, nbg1, hel1, ...; digitalocean: fra1, ams3, nyc3, ...). Not used with cloud=existing." },
    sizes: { type: "object", secret: "never", description: "Server type per host group {main, web, db, cache, redis, worker, monitoring}; defaults per cloud and phase." },
    webCount: { type: "integer", secret: "never", description: "Number of web (nginx + daphne) hosts in phase 3 (>= 2; phases 1-2 use 1)." },
    workerCount: { type: "integer", secret: "never", description: "Number of Celery worker hosts in phase 3 (>= 2; phases 1-2 run the worker on one host)." },
    daphnePerHost: { type: "integer", secret: "never", description: "Daphne processes per web host, listening on 8001, 8002, ... (default 2)." },
    images: { type: "object", secret: "never", description: "Container images {app, postgres, redis, nginx, pgbouncer, prometheus, alertmanager, grafana, loki, alloy, nodeExporter, postgresExporter, redisExporter, haproxy}; pinned by digest when protect is true; haproxy only on the load balancer of existing servers in phase 3." },
    adminSshKeys: { type: "array", secret: "never", required: true, description: "SSH public keys of the operators; they log in as `admin` (sudo)." },
    hosts: { type: "object", secret: "never", description: "cloud=existing only: [{name, address, privateAddress, hostKey, roles, bootstrapUser}] with the host's pinned SSH host key; bootstrapUser (default root) is who the one-time bootstrap logs in as; phase 1's one host may leave out name and roles (main, everything)." },
    network: { type: "object", secret: "never", description: "Private network {cidr, subnet} (default 10.0.0.0/16 with subnet 10.0.1.0/24)." },
    backups: { type: "object", secret: "never", description: "Backups (phases 2-3) {enabled, retentionDays, redisRetentionDays, hourUtc, bucket, endpoint, region}." },
    acme: { type: "object", secret: "never", description: "TLS certificates {email, directoryUrl}; directoryUrl defaults to Let's Encrypt production." },
    alerts: { type: "object", secret: "never", description: "Alert receivers {email: {to, from, smarthost}}; the Slack webhook and the heartbeat URL are the secret keys alertSlackWebhook and alertHeartbeatUrl." },
    alertSlackWebhook: { type: "string", secret: "required", description: "Slack incoming-webhook URL for alerts (secret)." },
    alertHeartbeatUrl: { type: "string", secret: "required", description: "Dead-man's switch: https URL the always-firing Watchdog alert is sent to; it carries the service's token (secret)." },
    rotate: { type: "object", secret: "never", description: "Secret name -> generation number; bump a number to rotate that secret (backupPassphrase never rotates)." },
    secrets: { type: "object", secret: "required", description: "Optional values for generated secrets {djangoSecretKey, fieldEncryptionKey, dbAppPassword, ...}; set with `pulumi config set --secret --path secrets.<name>`." },
    tastytradeClientId: { type: "string", secret: "optional", description: "TastyTrade OAuth client id." },
    tastytradeClientSecret: { type: "string", secret: "required", description: "TastyTrade OAuth client secret (secret)." },
    protect: { type: "boolean", secret: "never", description: "Protect data-holding resources (servers with data, volumes, bucket) from deletion; production sets true." },
    ssh: { type: "object", secret: "never", description: "SSH access {allowFrom: CIDRs that may reach SSH, port: where sshd listens and the firewalls admit SSH (default 22; set when a host is set up, a change is refused)}." },
    registryAuth: { type: "object", secret: "required", description: "Private registry login {registry, username, password} (secret)." },
    postgresVersion: { type: "integer", secret: "never", description: "PostgreSQL major version (16 or 17)." },
    s3AccessKeyId: { type: "string", secret: "required", description: "Object storage access key for backups where the cloud cannot create keys by API (hetzner, existing)." },
    s3SecretAccessKey: { type: "string", secret: "required", description: "Object storage secret key for backups (secret)." },
    deploySshKey: { type: "string", secret: "required", description: "OpenSSH private key (ED25519) the program logs in with as admin and senex (secret); generated with @pulumi/tls when unset." },
    bootstrapSshKey: { type: "string", secret: "required", description: "cloud=existing: OpenSSH private key that logs in as each host's bootstrapUser for the one-time bootstrap (secret)." },
    caCertificates: { type: "array", secret: "never", description: "Extra CA certificates (PEM) the hosts trust, e.g. of a private registry or an internal ACME server." },
    aptProxy: { type: "string", secret: "never", description: "HTTP proxy for apt on the hosts, e.g. http://10.0.1.2:3142 (optional)." },
    limits: { type: "object", secret: "never", description: "Optional resource limits per service {<service>: {memory, cpus}}; empty means none." },
    celery: { type: "object", secret: "never", description: "Celery {concurrency, stopTimeoutSeconds}; the stop timeout lets an order task finish." },
} as const satisfies Record<string, ConfigKey>;

export type ConfigKeyName = keyof typeof CONFIG_KEYS;

/** Names of the generated secrets, as used in `rotate` and `secrets`. */
export const GENERATED_SECRETS = [
    "djangoSecretKey",
    "fieldEncryptionKey",
    "dbAppPassword",
    "dbReplicationPassword",
    "dbPgbouncerPassword",
    "redisPassword",
    "grafanaAdminPassword",
    "backupPassphrase",
] as const;
export type GeneratedSecretName = (typeof GENERATED_SECRETS)[number];

/** Secrets that must never be rotated by replacement (losing the old value loses data). */
export const NEVER_ROTATED: ReadonlySet<GeneratedSecretName> = new Set(["backupPassphrase"]);
