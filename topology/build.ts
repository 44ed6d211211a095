import { PROJECT } from "../config/keys";
import { ConfigError } from "../config/schema";
import type { HostGroup, StackConfig } from "../config/types";
import type { DnsRecordSpec, Exposure, LoadBalancerSpec, PlacedService, Topology, TopologyHost } from "./types";

/** Well-known ports, one place (the renderers and the firewall read them from the topology). */
export const PORTS = {
    http: 80,
    https: 443,
    daphneBase: 8000, // daphne-1 listens on 8001, daphne-2 on 8002, ...
    postgres: 5432,
    pgbouncer: 6432,
    redisBroker: 6379,
    redisCache: 6380,
    sentinel: 26379,
    nodeExporter: 9100,
    postgresExporter: 9187,
    redisExporterBroker: 9121,
    redisExporterCache: 9122,
    prometheus: 9090,
    alertmanager: 9093,
    grafana: 3000,
    loki: 3100,
} as const;

/** Data volume sizes (GB) for hosts that hold data; the volume outlives the server. */
const DATA_VOLUME_GB: Partial<Record<HostGroup, number>> = { main: 40, db: 40, cache: 10, redis: 10 };

/**
 * Fixed host-part offsets in the private subnet, by host-name prefix, so that a host keeps its
 * private address whatever the phase and however many web/worker hosts come and go: `main` and
 * `db-1` share .10 (db-1 *is* the former main), `cache-1` and `redis-1` share .20.
 */
const ADDRESS_OFFSET: Record<string, { base: number; max: number }> = {
    lb: { base: 4, max: 1 }, // the cloud load balancer's private address
    main: { base: 10, max: 1 },
    db: { base: 10, max: 9 },
    cache: { base: 20, max: 1 },
    redis: { base: 20, max: 9 },
    monitoring: { base: 30, max: 9 },
    web: { base: 100, max: 50 },
    worker: { base: 150, max: 50 },
};

export function subnetAddress(subnet: string, offset: number): string {
    const [base] = subnet.split("/");
    const n = base.split(".").reduce((acc, p) => acc * 256 + Number(p), 0) + offset;
    return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

function addressFor(subnet: string, name: string): string {
    const m = /^([a-z]+)(?:-(\d+))?$/.exec(name);
    const slot = m ? ADDRESS_OFFSET[m[1]] : undefined;
    const index = m?.[2] ? Number(m[2]) : 1;
    if (!slot || index > slot.max) throw new Error(`no private address slot for host ${name}`);
    return subnetAddress(subnet, slot.base + index - 1);
}

interface HostSkeleton {
    name: string;
    formerNames: string[];
    groups: HostGroup[];
    sshAddress?: string;
    privateAddress?: string;
    hostKey?: string;
}

/**
 * The hosts of a cloud stack per phase. Identities are stable across phases: the phase-1 `main`
 * becomes `db-1` in phase 2 (it holds the PostgreSQL data, so the data never moves: the new web and
 * cache hosts are the ones created), and `cache-1` becomes `redis-1` in phase 3.
 */
function cloudHosts(config: StackConfig): HostSkeleton[] {
    const range = (prefix: string, n: number, group: HostGroup): HostSkeleton[] =>
        Array.from({ length: n }, (_, i) => ({ name: `${prefix}-${i + 1}`, formerNames: [], groups: [group] }));
    switch (config.phase) {
        case 1:
            return [{ name: "main", formerNames: [], groups: ["main"] }];
        case 2:
            return [
                { name: "db-1", formerNames: ["main"], groups: ["db"] },
                { name: "web-1", formerNames: [], groups: ["web"] },
                { name: "cache-1", formerNames: [], groups: ["cache"] },
            ];
        case 3:
            return [
                { name: "db-1", formerNames: ["main"], groups: ["db"] },
                { name: "db-2", formerNames: [], groups: ["db"] },
                ...range("web", config.webCount, "web"),
                { name: "redis-1", formerNames: ["cache-1"], groups: ["redis"] },
                { name: "redis-2", formerNames: [], groups: ["redis"] },
                { name: "redis-3", formerNames: [], groups: ["redis"] },
                ...range("worker", config.workerCount, "worker"),
                { name: "monitoring-1", formerNames: [], groups: ["monitoring"] },
            ];
        default: {
            const never: never = config.phase;
            return never;
        }
    }
}

/** Builds the whole topology from validated config. Pure and deterministic. */
export function buildTopology(config: StackConfig): Topology {
    const skeletons: HostSkeleton[] =
        config.cloud === "existing"
            ? config.hosts.map((h) => ({ name: h.name, formerNames: [], groups: [...h.roles], sshAddress: h.address, privateAddress: h.privateAddress, hostKey: h.hostKey }))
            : cloudHosts(config);

    const withGroup = (g: HostGroup) => skeletons.filter((h) => h.groups.includes(g)).map((h) => h.name);
    const web = config.phase === 1 ? withGroup("main") : withGroup("web");
    const dbHosts = config.phase === 1 ? withGroup("main") : withGroup("db");
    const dbPrimary = dbHosts[0];
    const dbReplica = config.phase === 3 ? dbHosts[1] : undefined;
    const redisHosts = config.phase === 1 ? withGroup("main") : config.phase === 2 ? withGroup("cache") : withGroup("redis");
    const workers = config.phase === 1 ? withGroup("main") : config.phase === 2 ? withGroup("cache") : withGroup("worker");
    const beatHost = workers[0];
    const monitoringHost = config.phase === 1 ? undefined : config.phase === 2 ? web[0] : withGroup("monitoring")[0];
    const appHosts = unique([...web, ...workers]);
    const lbHost = withGroup("lb")[0];
    const loadBalancer: LoadBalancerSpec | undefined =
        config.phase !== 3
            ? undefined
            : config.cloud === "existing"
              ? { kind: "haproxy", host: lbHost, targets: web }
              : { kind: "cloud", targets: web, privateAddress: subnetAddress(config.network.subnet, ADDRESS_OFFSET.lb.base) };

    const others = (self: string, names: readonly string[]) => names.filter((n) => n !== self);
    const privateFrom = (self: string, peers: readonly string[]): Exposure => {
        const from = unique(others(self, peers));
        return from.length === 0 ? { kind: "loopback" } : { kind: "private", from };
    };
    const scrapedBy = (self: string): Exposure => (monitoringHost ? privateFrom(self, [monitoringHost]) : { kind: "loopback" });
    const exporter = config.phase >= 2;

    const servicesOf = (h: HostSkeleton): PlacedService[] => {
        const s: PlacedService[] = [];
        const add = (svc: PlacedService) => {
            if (!s.some((x) => x.name === svc.name)) s.push(svc);
        };
        const isWeb = web.includes(h.name);
        if (isWeb) {
            // Behind the phase-3 load balancer nginx speaks plain HTTP to the LB only; TLS ends at the LB.
            add(
                loadBalancer
                    ? { kind: "nginx", name: "nginx", port: PORTS.http, exposure: { kind: "private", from: [loadBalancer.kind === "cloud" ? "lb" : loadBalancer.host ?? "lb"] } }
                    : { kind: "nginx", name: "nginx", port: PORTS.https, exposure: { kind: "public" } },
            );
            for (let i = 1; i <= config.daphnePerHost; i++) add({ kind: "daphne", name: `daphne-${i}`, port: PORTS.daphneBase + i, exposure: scrapedBy(h.name) });
            add({ kind: "collectstatic", name: "collectstatic" });
            // Migrations run once per image, from the first web host, before any daphne starts on it.
            if (h.name === web[0]) add({ kind: "migrate", name: "migrate" });
        }
        if (h.name === dbPrimary || h.name === dbReplica) {
            const role = h.name === dbPrimary ? "primary" : "replica";
            add({ kind: "postgres", name: "postgres", port: PORTS.postgres, role, exposure: privateFrom(h.name, dbHosts) });
            if (config.phase >= 2) add({ kind: "pgbouncer", name: "pgbouncer", port: PORTS.pgbouncer, exposure: privateFrom(h.name, appHosts) });
            if (exporter) add({ kind: "postgres-exporter", name: "postgres-exporter", port: PORTS.postgresExporter, exposure: scrapedBy(h.name) });
            if (h.name === dbPrimary && config.backups.enabled) add({ kind: "backup", name: "backup-postgres" });
        }
        if (redisHosts.includes(h.name)) {
            const role = h.name === redisHosts[0] ? "primary" : "replica";
            const clients = privateFrom(h.name, [...appHosts, ...redisHosts]);
            add({ kind: "redis-broker", name: "redis-broker", port: PORTS.redisBroker, role, exposure: clients });
            add({ kind: "redis-cache", name: "redis-cache", port: PORTS.redisCache, role, exposure: clients });
            if (config.phase === 3) add({ kind: "sentinel", name: "sentinel", port: PORTS.sentinel, exposure: clients });
            if (exporter) {
                add({ kind: "redis-exporter-broker", name: "redis-exporter-broker", port: PORTS.redisExporterBroker, exposure: scrapedBy(h.name) });
                add({ kind: "redis-exporter-cache", name: "redis-exporter-cache", port: PORTS.redisExporterCache, exposure: scrapedBy(h.name) });
            }
            if (h.name === redisHosts[0] && config.backups.enabled) add({ kind: "backup", name: "backup-redis" });
        }
        if (workers.includes(h.name)) {
            add({ kind: "celery-worker", name: "celery-worker" });
            if (h.name === beatHost) add({ kind: "celery-beat", name: "celery-beat" });
        }
        if (h.name === monitoringHost) {
            add({ kind: "prometheus", name: "prometheus", port: PORTS.prometheus, exposure: { kind: "loopback" } });
            add({ kind: "alertmanager", name: "alertmanager", port: PORTS.alertmanager, exposure: { kind: "loopback" } });
            // Grafana is reached only through nginx (with auth): on its own host in phase 2, from the web hosts in phase 3.
            add({ kind: "grafana", name: "grafana", port: PORTS.grafana, exposure: privateFrom(h.name, web) });
            if (config.phase === 3) add({ kind: "loki", name: "loki", port: PORTS.loki, exposure: privateFrom(h.name, skeletons.map((x) => x.name)) });
        }
        if (h.name === lbHost) add({ kind: "haproxy", name: "haproxy", port: PORTS.https, exposure: { kind: "public" } });
        if (isWeb && h.name === web[0] && config.backups.enabled && config.phase >= 2) add({ kind: "backup", name: "backup-media" });
        if (exporter) add({ kind: "node-exporter", name: "node-exporter", port: PORTS.nodeExporter, exposure: scrapedBy(h.name) });
        if (config.phase === 3) add({ kind: "alloy", name: "alloy" });
        return s;
    };

    const hosts: TopologyHost[] = skeletons.map((h) => {
        const services = servicesOf(h);
        const holdsData = services.some((s) => s.kind === "postgres" || s.kind === "redis-broker");
        const group = h.groups[0];
        const size = config.cloud === "existing" ? undefined : config.sizes[group];
        const dataVolumeGb = config.cloud !== "existing" && holdsData ? Math.max(...h.groups.map((g) => DATA_VOLUME_GB[g] ?? 0)) : undefined;
        const publicPorts = unique(services.filter((s) => s.exposure?.kind === "public").flatMap((s) => (s.kind === "nginx" || s.kind === "haproxy" ? [PORTS.http, PORTS.https] : s.port ? [s.port] : [])));
        return {
            name: h.name,
            formerNames: h.formerNames,
            groups: h.groups,
            ...(size !== undefined ? { size } : {}),
            privateAddress: h.privateAddress ?? addressFor(config.network.subnet, h.name),
            ...(h.sshAddress !== undefined ? { sshAddress: h.sshAddress } : {}),
            ...(h.hostKey !== undefined ? { hostKey: h.hostKey } : {}),
            holdsData,
            ...(dataVolumeGb ? { dataVolumeGb } : {}),
            services,
            publicPorts,
        };
    });

    // sshd shares each host's ports with its services: a clash would open a service's port to
    // ssh.allowFrom (or SSH to a service's peers), so it is a config error before anything renders.
    const clashes = hosts.flatMap((h) => [
        ...h.services.filter((s) => s.port === config.ssh.port).map((s) => `${s.name} on ${h.name}`),
        ...(h.publicPorts.includes(config.ssh.port) && !h.services.some((s) => s.port === config.ssh.port) ? [`public web on ${h.name}`] : []),
    ]);
    if (clashes.length > 0)
        throw new ConfigError([`${PROJECT}:ssh.port: ${config.ssh.port} is already the port of ${clashes.join(", ")}. Fix: choose another port, e.g. \`pulumi config set --path '${PROJECT}:ssh.port' 2222\`, or remove the key (22).`]);

    const entryHost = loadBalancer?.kind === "haproxy" ? loadBalancer.host : loadBalancer ? undefined : web[0];
    const dns: DnsRecordSpec[] = [
        { name: "@", type: "A", target: entryHost ? { kind: "host-public", host: entryHost } : { kind: "lb" } },
        { name: "www", type: "CNAME", target: { kind: "name", value: `${config.domain}.` } },
        ...hosts.map((h): DnsRecordSpec => ({ name: `${h.name}.internal`, type: "A", target: { kind: "host-private", host: h.name } })),
    ];

    return deepFreeze({
        cloud: config.cloud,
        phase: config.phase,
        domain: config.domain,
        hosts,
        privateAddressesFixed: config.cloud !== "digitalocean",
        ...(loadBalancer ? { loadBalancer } : {}),
        ...(entryHost ? { entryHost } : {}),
        dns,
        ...(monitoringHost ? { monitoringHost } : {}),
        dbPrimary,
        ...(dbReplica ? { dbReplica } : {}),
        redisHosts,
        beatHost,
    });
}

function unique<T>(xs: readonly T[]): T[] {
    return [...new Set(xs)];
}

function deepFreeze<T>(o: T): T {
    if (o && typeof o === "object" && !Object.isFrozen(o)) {
        Object.freeze(o);
        for (const v of Object.values(o)) deepFreeze(v);
    }
    return o;
}
