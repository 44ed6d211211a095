// Who may reach which private port: the role allow-lists of ARCHITECTURE.md, as data. From the
// services placed on every host, `hostFirewall` computes one host's FirewallSpec: each port a
// service of this host listens on is opened exactly to the OTHER hosts running a client of it
// (same-host traffic arrives on `lo`, which the ruleset always accepts). A port no client needs
// stays closed, so an exporter or a database is never reachable "just in case".

import type { FirewallSpec, PrivatePortRule } from "./nftables";
import { servicePorts, type HostService, type HostServiceKind } from "./quadlet-host";

/** For each server kind, the kinds of services that connect to it. */
export const PORT_CLIENTS: Readonly<Record<HostServiceKind, readonly HostServiceKind[]>> = {
  // the app (migrations, web, workers), PgBouncer's pool, the standby's replication, the exporter
  postgres: ["migrate", "collectstatic", "daphne", "celery-worker", "celery-beat", "pgbouncer", "postgres", "postgres-exporter"],
  pgbouncer: ["migrate", "collectstatic", "daphne", "celery-worker", "celery-beat"],
  // Channels (daphne), Celery, replicas of each other, Sentinel, the exporter
  redis: ["daphne", "celery-worker", "celery-beat", "migrate", "redis", "sentinel", "redis-exporter"],
  sentinel: ["daphne", "celery-worker", "celery-beat", "migrate", "sentinel"],
  daphne: ["nginx", "prometheus"],
  nginx: [], // public ports 80/443, opened by `publicHttp`
  haproxy: [], // likewise
  migrate: [],
  collectstatic: [],
  "celery-worker": [],
  "celery-beat": [],
  "node-exporter": ["prometheus"],
  "postgres-exporter": ["prometheus"],
  "redis-exporter": ["prometheus"],
  prometheus: ["grafana"],
  alertmanager: ["prometheus"],
  grafana: ["nginx"],
  loki: ["alloy", "grafana"],
  alloy: ["prometheus"],
};

/** A host as the firewall policy sees it. */
export interface FirewallHost {
  readonly name: string;
  readonly privateAddress: string;
  readonly services: readonly HostService[];
}

/** One host's FirewallSpec from the services of all hosts. */
export function hostFirewall(host: FirewallHost, allHosts: readonly FirewallHost[], sshAllowFrom: readonly string[]): FirewallSpec {
  const privatePorts: PrivatePortRule[] = [];
  for (const service of host.services) {
    const clients = PORT_CLIENTS[service.kind];
    const from = allHosts
      .filter((other) => other.name !== host.name && other.services.some((s) => clients.includes(s.kind)))
      .map((other) => other.privateAddress);
    for (const port of servicePorts(service)) {
      if (service.kind === "nginx" || service.kind === "haproxy") continue;
      privatePorts.push({ port, service: service.kind, from });
    }
  }
  return { sshAllowFrom, publicHttp: host.services.some((s) => s.kind === "nginx" || s.kind === "haproxy"), privatePorts };
}
