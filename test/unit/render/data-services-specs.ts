/**
 * Fixtures for the part-B renderers (data services, monitoring, backups): the specs of every
 * phase's hosts as the deployment will build them, and every file they render. Secret values are
 * part of the input on purpose, so tests can prove which files may and may not contain them.
 */
import { renderAlertmanagerConfig, type AlertmanagerSpec } from "../../../render/alertmanager";
import { renderAlloyConfig } from "../../../render/alloy";
import { renderBackupScript, renderBackupUnits, renderPgBackRestConf, renderRestoreScript, type BackupHostSpec, type BackupJob } from "../../../render/backup";
import { bundledDashboards, renderGrafanaDashboardProvider, renderGrafanaDatasources, renderGrafanaIni } from "../../../render/grafana";
import { renderLokiConfig } from "../../../render/loki";
import { renderPgBouncerAuthFile, renderPgBouncerIni, scramVerifier } from "../../../render/pgbouncer";
import { renderPgHba, renderPgPass, renderPostgresConf, type PostgresConfSpec, type PostgresMajor } from "../../../render/postgres";
import { renderAlertRules, renderPrometheusConfig, type ScrapeTarget } from "../../../render/prometheus";
import { renderRedisAuth, renderRedisConf, type RedisSpec } from "../../../render/redis";
import { renderSentinelAuth, renderSentinelSeed, type SentinelSpec } from "../../../render/sentinel";

export type Phase = 1 | 2 | 3;

/** Secret inputs; only the files named in SECRET_BEARING may contain them. */
export interface DataSecrets {
  readonly dbAppPassword: string;
  readonly dbReplicationPassword: string;
  readonly redisPassword: string;
  /** 16 random bytes the stack keeps so the SCRAM verifier is stable. */
  readonly scramSalt: Uint8Array;
}

export const EXAMPLE_SECRETS: DataSecrets = {
  dbAppPassword: "app-Pa55word-0123456789abcdef",
  dbReplicationPassword: "repl-Pa55word-0123456789abcdef",
  redisPassword: "redis-Pa55word-0123456789abcdef",
  scramSalt: Uint8Array.from({ length: 16 }, (_, i) => i * 7 + 1),
};

/** Files whose whole point is to carry a secret (written 0600 by the provider). */
export const SECRET_BEARING = /(redis-auth\.conf|sentinel-auth\.conf|pgpass)$/;

interface Host {
  readonly name: string;
  readonly role: string;
  readonly address: string;
}

/** The hosts of each phase that matter to data services and monitoring. */
export function phaseHosts(phase: Phase): Host[] {
  switch (phase) {
    case 1:
      return [{ name: "main", role: "main", address: "10.0.0.2" }];
    case 2:
      return [
        { name: "web-1", role: "web", address: "10.0.0.3" },
        { name: "db-1", role: "db", address: "10.0.0.4" },
        { name: "cache-1", role: "cache", address: "10.0.0.5" },
      ];
    case 3:
      return [
        { name: "web-1", role: "web", address: "10.0.1.11" },
        { name: "web-2", role: "web", address: "10.0.1.12" },
        { name: "db-1", role: "db", address: "10.0.1.21" },
        { name: "db-2", role: "db", address: "10.0.1.22" },
        { name: "redis-1", role: "redis", address: "10.0.1.31" },
        { name: "redis-2", role: "redis", address: "10.0.1.32" },
        { name: "redis-3", role: "redis", address: "10.0.1.33" },
        { name: "worker-1", role: "worker", address: "10.0.1.41" },
        { name: "worker-2", role: "worker", address: "10.0.1.42" },
        { name: "monitoring-1", role: "monitoring", address: "10.0.1.51" },
      ];
  }
}

// Hosts are compared by name everywhere: phaseHosts builds new objects on every call.
const byRole = (phase: Phase, ...roles: string[]): Host[] => phaseHosts(phase).filter((h) => roles.includes(h.role));
const same = (a: Host | undefined, b: Host | undefined): boolean => a !== undefined && b !== undefined && a.name === b.name;
const one = (hosts: Host[]): Host => {
  const h = hosts[0];
  if (!h) throw new Error("fixture: no such host");
  return h;
};

export function postgresSpec(phase: Phase, host: Host, major: PostgresMajor = 16): PostgresConfSpec {
  const primary = one(byRole(phase, "db", "main"));
  const standby = phase === 3 && host.name === "db-2";
  return {
    major,
    // Phase 1 shares an 8 GiB host with everything else: PostgreSQL plans with a quarter of it.
    resources: phase === 1 ? { memoryMiB: 2048, cpus: 4 } : { memoryMiB: 4096, cpus: 2 },
    listenAddress: host.address,
    dataDirectory: "/var/lib/postgresql/data",
    hbaFile: "/etc/senex/postgres/pg_hba.conf",
    tls: { certFile: "/etc/senex/postgres/server.crt", keyFile: "/etc/senex/postgres/server.key" },
    archive: { stanza: "senex", timeoutSeconds: 60 },
    replication:
      phase !== 3
        ? { kind: "standalone" }
        : standby
          ? { kind: "standby", primaryAddress: primary.address, replicationUser: "replicator", passfile: "/etc/senex/postgres/pgpass", slotName: "db_2", applicationName: "db-2", sslRootCert: "/etc/senex/postgres/ca.crt" }
          : { kind: "primary" },
  };
}

function redisSpec(phase: Phase, host: Host, kind: "broker" | "cache", redisHosts: Host[]): RedisSpec {
  const master = redisHosts[0]!;
  return {
    instance: kind === "broker" ? { kind: "broker", maxmemoryMiB: phase === 1 ? 512 : 768 } : { kind: "cache", maxmemoryMiB: phase === 1 ? 256 : 512 },
    listenAddress: host.address,
    port: kind === "broker" ? 6379 : 6380,
    dataDirectory: "/data",
    authInclude: "/run/secrets/redis-auth.conf",
    ...(phase === 3 ? { announceIp: host.address } : {}),
    ...(phase === 3 && !same(host, master) ? { replicaOf: { address: master.address, port: kind === "broker" ? 6379 : 6380 } } : {}),
  };
}

export function sentinelSpec(host: Host, redisHosts: Host[]): SentinelSpec {
  const master = redisHosts[0]!;
  return {
    listenAddress: host.address,
    dataDirectory: "/data",
    masters: [
      { name: "senex-broker", address: master.address, port: 6379 },
      { name: "senex-cache", address: master.address, port: 6380 },
    ],
    quorum: 2,
    sentinelCount: redisHosts.length,
    authInclude: "/run/secrets/sentinel-auth.conf",
  };
}

export function alertmanagerSpec(): AlertmanagerSpec {
  return {
    receivers: [
      { kind: "email", name: "ops-email", to: ["ops@example.com"], from: "alerts@example.com", smarthost: "smtp.example.com:587", authUsername: "alerts@example.com", authPasswordFile: "/run/secrets/senex-alert-smtp-password" },
      { kind: "slack", name: "ops-slack", apiUrlFile: "/run/secrets/senex-alert-slack-webhook", channel: "#ops" },
      { kind: "webhook", name: "heartbeat", urlFile: "/run/secrets/senex-alert-heartbeat-url" },
    ],
    defaultReceiver: "ops-slack",
    heartbeatReceiver: "heartbeat",
    criticalReceivers: ["ops-email"],
  };
}

export function scrapeTargets(phase: Phase): ScrapeTarget[] {
  const targets: ScrapeTarget[] = [];
  const monitoring = one(byRole(phase, "monitoring", "web", "main"));
  for (const h of phaseHosts(phase)) {
    targets.push({ kind: "node", host: h.name, role: h.role, address: h.address, port: 9100 });
    if (["main", "db"].includes(h.role)) targets.push({ kind: "postgres", host: h.name, role: h.role, address: h.address, port: 9187 });
    if (["main", "cache", "redis"].includes(h.role)) {
      targets.push({ kind: "redis", host: h.name, role: h.role, address: h.address, port: 9121, instanceKind: "broker" });
      targets.push({ kind: "redis", host: h.name, role: h.role, address: h.address, port: 9122, instanceKind: "cache" });
    }
    if (["main", "web"].includes(h.role)) {
      for (const port of [8001, 8002]) targets.push({ kind: "daphne", host: h.name, role: h.role, address: h.address, port });
    }
  }
  targets.push({ kind: "prometheus", host: monitoring.name, role: monitoring.role, address: monitoring.address, port: 9090 });
  targets.push({ kind: "alertmanager", host: monitoring.name, role: monitoring.role, address: monitoring.address, port: 9093 });
  return targets;
}

export function backupSpec(jobs: readonly BackupJob[]): BackupHostSpec {
  return {
    jobs,
    scriptPath: "/home/senex/.local/bin/senex-backup",
    textfileDirectory: "/home/senex/.local/share/senex/textfile",
    stanza: "senex",
    postgres: { container: "senex-postgres", unit: "senex-postgres.service", image: "localhost/senex-postgres:17", dataVolume: "senex-postgres-data", dataPath: "/var/lib/postgresql/data", configFile: "/home/senex/.config/senex/pgbackrest/pgbackrest.conf" },
    redis: { unit: "senex-redis-broker.service", dataVolume: "senex-redis-broker-data", retentionDays: 7 },
    media: { dataVolume: "senex-media", retentionDays: 30 },
    restic: { repository: "s3:https://fsn1.your-objectstorage.com/senex-backups/restic" },
  };
}

/** Every file part B renders for a phase, keyed `host/file`. */
export function renderPhaseFiles(phase: Phase, secrets: DataSecrets = EXAMPLE_SECRETS, major: PostgresMajor = 16): Record<string, string> {
  const files: Record<string, string> = {};
  const hosts = phaseHosts(phase);
  const dbHosts = byRole(phase, "db", "main");
  const appClients = phase === 1 ? ["10.0.0.2"] : dbHosts.map((h) => h.address); // PgBouncer runs beside PostgreSQL
  const redisHosts = byRole(phase, "redis", "cache", "main");
  const monitoring = one(byRole(phase, "monitoring", "web", "main"));
  const verifier = scramVerifier(secrets.dbAppPassword, secrets.scramSalt);
  for (const h of hosts) {
    const at = (f: string): string => `${h.name}/${f}`;
    if (["main", "db"].includes(h.role)) {
      files[at("postgresql.conf")] = renderPostgresConf(postgresSpec(phase, h, major));
      files[at("pg_hba.conf")] = renderPgHba({
        database: "senex",
        app: { user: "senex", clients: appClients },
        ...(phase === 3 ? { replication: { user: "replicator", clients: dbHosts.filter((d) => !same(d, h)).map((d) => d.address) } } : {}),
        exporter: { user: "postgres_exporter", map: "senex_monitor" },
      });
      if (phase === 3 && h.name === "db-2") {
        files[at("pgpass")] = renderPgPass([{ host: dbHosts[0]!.address, port: 5432, database: "replication", user: "replicator", password: secrets.dbReplicationPassword }]);
      }
      if (phase !== 1) {
        files[at("pgbouncer.ini")] = renderPgBouncerIni({
          listenAddress: h.address,
          databases: [{ name: "senex", host: h.address }],
          authFile: "/etc/senex/pgbouncer/userlist.txt",
          serverTls: { sslmode: "verify-ca", caFile: "/etc/senex/postgres/ca.crt" },
          clientTls: { certFile: "/etc/senex/pgbouncer/server.crt", keyFile: "/etc/senex/pgbouncer/server.key" },
        });
        files[at("userlist.txt")] = renderPgBouncerAuthFile([{ user: "senex", verifier }]);
      }
      if (same(h, dbHosts[0])) {
        files[at("pgbackrest.conf")] = renderPgBackRestConf({
          stanza: "senex",
          repo: { kind: "s3", endpoint: "fsn1.your-objectstorage.com", bucket: "senex-backups", region: "fsn1" },
          retentionDays: 30,
          pgDataPath: "/var/lib/postgresql/data",
          spoolPath: "/var/spool/pgbackrest",
        });
      }
    }
    if (["main", "cache", "redis"].includes(h.role)) {
      files[at("redis-broker.conf")] = renderRedisConf(redisSpec(phase, h, "broker", redisHosts));
      files[at("redis-cache.conf")] = renderRedisConf(redisSpec(phase, h, "cache", redisHosts));
      files[at("redis-auth.conf")] = renderRedisAuth({ password: secrets.redisPassword });
      if (phase === 3) {
        files[at("sentinel.conf")] = renderSentinelSeed(sentinelSpec(h, redisHosts));
        files[at("sentinel-auth.conf")] = renderSentinelAuth(["senex-broker", "senex-cache"], secrets.redisPassword);
      }
    }
    if (same(h, monitoring)) {
      files[at("prometheus.yml")] = renderPrometheusConfig({
        targets: scrapeTargets(phase),
        alertmanagers: [{ address: monitoring.address, port: 9093 }],
        ruleFiles: ["/etc/prometheus/rules/senex.rules.yml"],
        externalLabels: { stack: "production" },
      });
      files[at("senex.rules.yml")] = renderAlertRules({ backupKinds: ["postgres-full", "postgres-diff", "redis", "media"] });
      files[at("alertmanager.yml")] = renderAlertmanagerConfig(alertmanagerSpec());
      files[at("grafana.ini")] = renderGrafanaIni({ domain: "senex.example.com", listenAddress: monitoring.address, adminPasswordFile: "/run/secrets/senex-grafana-admin-password" });
      files[at("provisioning/datasources/senex.yaml")] = renderGrafanaDatasources({
        prometheusUrl: `http://${monitoring.address}:9090`,
        ...(phase === 3 ? { lokiUrl: `http://${monitoring.address}:3100` } : {}),
      });
      files[at("provisioning/dashboards/senex.yaml")] = renderGrafanaDashboardProvider("/var/lib/grafana/dashboards/senex");
      for (const [name, text] of Object.entries(bundledDashboards())) files[at(`dashboards/${name}`)] = text;
      if (phase === 3) {
        files[at("loki.yaml")] = renderLokiConfig({ listenAddress: monitoring.address, dataDirectory: "/loki", retentionDays: 30, schemaFrom: "2026-01-01" });
      }
    }
    if (phase === 3) {
      files[at("config.alloy")] = renderAlloyConfig({ lokiPushUrl: `http://${monitoring.address}:3100/loki/api/v1/push`, host: h.name, role: h.role });
    }
    // Backups: PostgreSQL on the (primary) db host, Redis on the broker's master host, media on the first web host.
    const jobs: BackupJob[] = [];
    if (same(h, dbHosts[0])) jobs.push({ kind: "postgres-full" }, { kind: "postgres-diff" });
    if (same(h, redisHosts[0])) jobs.push({ kind: "redis" });
    if (same(h, one(byRole(phase, "web", "main")))) jobs.push({ kind: "media" });
    if (jobs.length > 0) {
      const spec = backupSpec(jobs);
      files[at("senex-backup")] = renderBackupScript(spec);
      files[at("senex-restore")] = renderRestoreScript(spec);
      for (const [name, text] of Object.entries(renderBackupUnits(spec))) files[at(name)] = text;
    }
  }
  return files;
}
