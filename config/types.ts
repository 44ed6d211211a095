import { SecretValue } from "./secret";
import type { GeneratedSecretName } from "./keys";

export type Cloud = "hetzner" | "digitalocean" | "existing";
export type Phase = 1 | 2 | 3;

/**
 * A host group: the kind of server a host is. Each cloud host belongs to exactly one group; an
 * existing host may combine several (its `roles`).
 */
export const HOST_GROUPS = ["main", "web", "db", "cache", "redis", "worker", "monitoring", "lb"] as const;
export type HostGroup = (typeof HOST_GROUPS)[number];

export const IMAGE_NAMES = [
    "app",
    "postgres",
    "redis",
    "nginx",
    "pgbouncer",
    "prometheus",
    "alertmanager",
    "grafana",
    "loki",
    "alloy",
    "nodeExporter",
    "postgresExporter",
    "redisExporter",
    "haproxy",
] as const;
export type ImageName = (typeof IMAGE_NAMES)[number];

export interface ExistingHost {
    /** Stable name of the host in this stack, e.g. `web-1`; it names every resource of the host. */
    readonly name: string;
    /** Address our SSH connects to. */
    readonly address: string;
    /** Address on the private network other hosts use. */
    readonly privateAddress: string;
    /** The host's SSH host public key (`ssh-ed25519 AAAA...`), pinned: no other key is accepted. */
    readonly hostKey: string;
    /** Who the one-time bootstrap logs in as (root, or a sudo user the host already has); default root. */
    readonly bootstrapUser: string;
    readonly roles: readonly HostGroup[];
}

export interface BackupConfig {
    readonly enabled: boolean;
    /** Days a full backup (and the WAL it needs) is kept; pgBackRest owns this retention. */
    readonly retentionDays: number;
    /** Days Redis RDB copies are kept. */
    readonly redisRetentionDays: number;
    /** Hour (UTC) of the daily backup. */
    readonly hourUtc: number;
    readonly bucket: string;
    /** S3 endpoint; derived from the cloud and region when unset. */
    readonly endpoint?: string;
    readonly region?: string;
}

export interface AlertConfig {
    readonly email?: { readonly to: string; readonly from: string; readonly smarthost: string };
    /** Receives the always-firing Watchdog alert: if it stops arriving, monitoring is down. Carries a token. */
    readonly heartbeatUrl?: SecretValue;
    readonly slackWebhook?: SecretValue;
}

export interface RegistryAuth {
    readonly registry: string;
    readonly username: string;
    readonly password: SecretValue;
}

export interface ServiceLimits {
    readonly memory?: string;
    readonly cpus?: number;
}

/** The validated, frozen stack config. Nothing outside `config/` reads `pulumi.Config`. */
export interface StackConfig {
    readonly project: string;
    readonly stack: string;
    readonly cloud: Cloud;
    readonly phase: Phase;
    readonly domain: string;
    /** Cloud location; undefined with cloud=existing. */
    readonly region?: string;
    /** Server type per host group used by this phase (cloud stacks only). */
    readonly sizes: Readonly<Partial<Record<HostGroup, string>>>;
    readonly webCount: number;
    readonly workerCount: number;
    readonly daphnePerHost: number;
    readonly images: Readonly<Record<ImageName, string>>;
    readonly adminSshKeys: readonly string[];
    readonly hosts: readonly ExistingHost[];
    readonly network: { readonly cidr: string; readonly subnet: string };
    readonly backups: BackupConfig;
    readonly acme: { readonly email: string; readonly directoryUrl: string };
    readonly alerts: AlertConfig;
    /** Generation per secret; 0 when never rotated. */
    readonly rotate: Readonly<Record<GeneratedSecretName, number>>;
    /** Secrets supplied in stack config instead of generated. */
    readonly suppliedSecrets: Readonly<Partial<Record<GeneratedSecretName, SecretValue>>>;
    readonly tastytrade: { readonly clientId?: string; readonly clientSecret?: SecretValue };
    readonly protect: boolean;
    readonly ssh: { readonly allowFrom: readonly string[]; readonly port: number };
    readonly registryAuth?: RegistryAuth;
    readonly postgresVersion: 16 | 17;
    readonly s3Credentials?: { readonly accessKeyId: SecretValue; readonly secretAccessKey: SecretValue };
    readonly aptProxy?: string;
    /** Our deployment login key, when supplied instead of generated. */
    readonly deploySshKey?: SecretValue;
    /** cloud=existing: the key of the hosts' bootstrap user. */
    readonly bootstrapSshKey?: SecretValue;
    /** Extra CA certificates (PEM) the hosts trust. */
    readonly caCertificates: readonly string[];
    readonly limits: Readonly<Record<string, ServiceLimits>>;
    readonly celery: { readonly concurrency: number; readonly stopTimeoutSeconds: number };
}
