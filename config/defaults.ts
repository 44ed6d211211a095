import type { Cloud, HostGroup, ImageName, Phase } from "./types";

/**
 * Server types per cloud, phase and host group, sized after the seeds' resource tables
 * (phase 1: 4 CPU / 8 GB; phase 2: 2 CPU / 4 GB per role; phase 3 doubles the database).
 */
export const DEFAULT_SIZES: Record<Exclude<Cloud, "existing">, Record<Phase, Partial<Record<HostGroup, string>>>> = {
    hetzner: {
        1: { main: "cx33" },
        2: { web: "cx23", db: "cx23", cache: "cx23" },
        3: { web: "cx23", db: "cx33", redis: "cx23", worker: "cx23", monitoring: "cx23" },
    },
    digitalocean: {
        1: { main: "s-4vcpu-8gb" },
        2: { web: "s-2vcpu-4gb", db: "s-2vcpu-4gb", cache: "s-2vcpu-2gb" },
        3: { web: "s-2vcpu-4gb", db: "s-4vcpu-8gb", redis: "s-1vcpu-2gb", worker: "s-2vcpu-2gb", monitoring: "s-2vcpu-2gb" },
    },
};

/** Host groups a phase uses (on cloud stacks; `lb` is for existing servers only). */
export const PHASE_GROUPS: Record<Phase, readonly HostGroup[]> = {
    1: ["main"],
    2: ["web", "db", "cache"],
    3: ["web", "db", "redis", "worker", "monitoring"],
};

/**
 * Default images: official images by tag. Production stacks pin every one by digest (enforced when
 * `protect` is true). The postgres default is a tag of our own build recipe's base; the PostgreSQL
 * image must contain pgBackRest (ARCHITECTURE.md, Backups), so the host builds `senex-postgres`
 * from it unless the stack names an image that already has it.
 */
export function defaultImages(postgresVersion: 16 | 17): Record<ImageName, string> {
    return {
        app: "ghcr.io/senex-trader/senex-trader:latest",
        postgres: `docker.io/library/postgres:${postgresVersion}-bookworm`,
        redis: "docker.io/library/redis:7.2-bookworm",
        nginx: "docker.io/library/nginx:1.26-bookworm",
        pgbouncer: "docker.io/bitnami/pgbouncer:1.24.1",
        prometheus: "docker.io/prom/prometheus:v2.53.4",
        alertmanager: "docker.io/prom/alertmanager:v0.28.1",
        grafana: "docker.io/grafana/grafana-oss:11.6.0",
        loki: "docker.io/grafana/loki:3.4.3",
        alloy: "docker.io/grafana/alloy:v1.8.2",
        nodeExporter: "docker.io/prom/node-exporter:v1.9.1",
        postgresExporter: "quay.io/prometheuscommunity/postgres-exporter:v0.17.1",
        redisExporter: "docker.io/oliver006/redis_exporter:v1.70.0",
        haproxy: "docker.io/library/haproxy:3.0-bookworm",
    };
}

export const LETS_ENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory";
