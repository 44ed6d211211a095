import type { Cloud, HostGroup, Phase } from "../config/types";

/** Every kind of service a host can run. One Quadlet (or timer) per placed service. */
export const SERVICE_KINDS = [
    "nginx",
    "daphne",
    "migrate",
    "collectstatic",
    "postgres",
    "pgbouncer",
    "redis-broker",
    "redis-cache",
    "sentinel",
    "celery-worker",
    "celery-beat",
    "prometheus",
    "alertmanager",
    "grafana",
    "loki",
    "alloy",
    "node-exporter",
    "postgres-exporter",
    "redis-exporter-broker",
    "redis-exporter-cache",
    "haproxy",
    "backup",
] as const;
export type ServiceKind = (typeof SERVICE_KINDS)[number];

/**
 * Who may connect to a service's port.
 * - `public`: the internet (only nginx/haproxy on 80/443, and sshd on 22).
 * - `loopback`: processes of the same host only; the service binds 127.0.0.1.
 * - `private`: the named peer hosts over the private network (and the host itself); the service
 *   binds the private address and the host firewall admits exactly these peers.
 */
export type Exposure =
    | { readonly kind: "public" }
    | { readonly kind: "loopback" }
    | { readonly kind: "private"; readonly from: readonly string[] };

export interface PlacedService {
    readonly kind: ServiceKind;
    /** Unit name stem, unique on the host: `daphne-1`, `redis-broker`. */
    readonly name: string;
    /** The TCP port it listens on, if any. */
    readonly port?: number;
    readonly exposure?: Exposure;
    /** Replication role where it has one (postgres, redis). */
    readonly role?: "primary" | "replica";
}

export interface TopologyHost {
    /** Stable identity of the host in the stack (`main`, `db-1`, `web-2`); it names every resource of the host. */
    readonly name: string;
    /** Resource names this host had in earlier phases, so a phase change keeps the server (aliases). */
    readonly formerNames: readonly string[];
    readonly groups: readonly HostGroup[];
    /** Server type (cloud stacks). */
    readonly size?: string;
    readonly privateAddress: string;
    /** For existing hosts: the address SSH connects to, and the pinned host key. */
    readonly sshAddress?: string;
    readonly hostKey?: string;
    /** Holds data that a phase change or a replacement must not lose (PostgreSQL, Redis broker). */
    readonly holdsData: boolean;
    /** Size of the attached data volume (cloud stacks), GB. */
    readonly dataVolumeGb?: number;
    readonly services: readonly PlacedService[];
    /** Ports the cloud firewall opens to the internet for this host. */
    readonly publicPorts: readonly number[];
}

export interface LoadBalancerSpec {
    /** `cloud`: the cloud's managed LB terminates TLS; `haproxy`: an lb host of ours (existing servers). */
    readonly kind: "cloud" | "haproxy";
    readonly host?: string;
    readonly targets: readonly string[];
    /** Private address the cloud LB uses to reach the targets. */
    readonly privateAddress?: string;
}

export interface DnsRecordSpec {
    readonly name: string;
    readonly type: "A" | "CNAME";
    /** A host name (its public or private address is resolved by the components), `lb`, or a literal. */
    readonly target: { readonly kind: "host-public" | "host-private"; readonly host: string } | { readonly kind: "lb" } | { readonly kind: "name"; readonly value: string };
}

export interface Topology {
    readonly cloud: Cloud;
    readonly phase: Phase;
    readonly domain: string;
    readonly hosts: readonly TopologyHost[];
    /**
     * True where we choose private addresses (Hetzner, existing servers). DigitalOcean assigns VPC
     * addresses itself: there `privateAddress` is only the plan's placeholder, and the real one
     * comes from the droplet.
     */
    readonly privateAddressesFixed: boolean;
    readonly loadBalancer?: LoadBalancerSpec;
    /** The host whose address the apex and www records point at when there is no load balancer. */
    readonly entryHost?: string;
    readonly dns: readonly DnsRecordSpec[];
    /** Where Prometheus runs (none in phase 1). */
    readonly monitoringHost?: string;
    readonly dbPrimary: string;
    readonly dbReplica?: string;
    readonly redisHosts: readonly string[];
    /** The single host running Celery beat. */
    readonly beatHost: string;
}
