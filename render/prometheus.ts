// prometheus.yml and the alert rules file. YAML comes from the `yaml` serializer, never by hand.
import { stringify } from "yaml";
import { intInRange, ipAddress } from "./conf-syntax";

/** What a scrape target is; decides the job name and the metrics path. */
export type ScrapeKind =
  | "node" // prometheus-node-exporter :9100 (also serves the backup textfile metric)
  | "postgres" // postgres_exporter :9187
  | "redis" // redis_exporter :9121 broker / :9122 cache
  | "pgbouncer" // pgbouncer exporter, if deployed
  | "daphne" // the app's /metrics (django-prometheus)
  | "alertmanager"
  | "prometheus";

/** One endpoint Prometheus scrapes. */
export interface ScrapeTarget {
  /** Kind of exporter. */
  readonly kind: ScrapeKind;
  /** Host name (becomes the `host` label, so alerts name the machine, not an IP). */
  readonly host: string;
  /** Host role (web, db, cache, redis, worker, monitoring, main); rules select on it. */
  readonly role: string;
  /** Private address. */
  readonly address: string;
  /** Port. */
  readonly port: number;
  /** For redis targets: which instance (broker or cache), so the Celery rule can select the broker. */
  readonly instanceKind?: "broker" | "cache";
}

/** Typed input of prometheus.yml. */
export interface PrometheusSpec {
  /** Scrape interval in seconds. Default 15. */
  readonly scrapeIntervalSeconds?: number;
  /** Every target of the deployment. */
  readonly targets: readonly ScrapeTarget[];
  /** Alertmanager endpoints (address:port). */
  readonly alertmanagers: ReadonlyArray<{ readonly address: string; readonly port: number }>;
  /** Absolute paths of rule files (the rendered alert rules). */
  readonly ruleFiles: readonly string[];
  /** Labels added to every alert (e.g. the stack name), so a shared receiver knows where it came from. */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /** Path prefix Prometheus is served under behind nginx, if any (e.g. "/prometheus"). */
  readonly routePrefix?: string;
}

const JOB_ORDER: readonly ScrapeKind[] = ["prometheus", "alertmanager", "node", "postgres", "pgbouncer", "redis", "daphne"];

function metricsPath(kind: ScrapeKind, routePrefix: string | undefined): string {
  switch (kind) {
    case "prometheus":
      return `${routePrefix ?? ""}/metrics`;
    case "node":
    case "postgres":
    case "redis":
    case "pgbouncer":
    case "daphne":
    case "alertmanager":
      return "/metrics";
    default: {
      const never: never = kind;
      throw new Error(`unknown scrape kind ${String(never)}`);
    }
  }
}

/** Renders prometheus.yml: one job per kind, static targets labelled with host and role. */
export function renderPrometheusConfig(spec: PrometheusSpec): string {
  const interval = `${intInRange("scrapeIntervalSeconds", spec.scrapeIntervalSeconds ?? 15, 5, 300)}s`;
  const seen = new Set<string>();
  for (const [i, t] of spec.targets.entries()) {
    ipAddress(`targets[${i}].address`, t.address);
    intInRange(`targets[${i}].port`, t.port, 1, 65535);
    const key = `${t.address}:${t.port}`;
    if (seen.has(key)) throw new Error(`\`targets[${i}]\` ${key} is listed twice`);
    seen.add(key);
    if (t.kind === "redis" && t.instanceKind === undefined) throw new Error(`\`targets[${i}].instanceKind\` is required for redis targets`);
  }
  const scrapeConfigs = JOB_ORDER.filter((kind) => spec.targets.some((t) => t.kind === kind)).map((kind) => ({
    job_name: kind,
    metrics_path: metricsPath(kind, spec.routePrefix),
    static_configs: spec.targets
      .filter((t) => t.kind === kind)
      .map((t) => ({
        targets: [`${t.address}:${t.port}`],
        labels: { host: t.host, role: t.role, ...(t.instanceKind ? { redis_instance: t.instanceKind } : {}) },
      })),
  }));
  const doc = {
    global: {
      scrape_interval: interval,
      evaluation_interval: interval,
      ...(spec.externalLabels ? { external_labels: { ...spec.externalLabels } } : {}),
    },
    alerting: {
      alertmanagers: [
        {
          static_configs: [{ targets: spec.alertmanagers.map((a, i) => `${ipAddress(`alertmanagers[${i}].address`, a.address)}:${intInRange(`alertmanagers[${i}].port`, a.port, 1, 65535)}`) }],
        },
      ],
    },
    rule_files: [...spec.ruleFiles],
    scrape_configs: scrapeConfigs,
  };
  return "# Rendered by senex-infra; do not edit on the host.\n" + stringify(doc, { lineWidth: 0 });
}

/** Thresholds of the alert rules (defaults are the seeds' scaling triggers). */
export interface AlertRulesSpec {
  /** Web CPU % that means "add a Django instance" (seeds: 70 for 5 min). */
  readonly webCpuPercent?: number;
  /** DB CPU % that means "add a PostgreSQL replica" (seeds: 80 for 10 min). */
  readonly dbCpuPercent?: number;
  /** Celery queue length that means "add a worker" (seeds: 100 for 5 min). */
  readonly celeryQueueLength?: number;
  /** Redis memory fraction of maxmemory that means "upgrade Redis" (seeds: 90 %). */
  readonly redisMemoryRatio?: number;
  /** Replication lag in seconds that pages. Default 60. */
  readonly replicationLagSeconds?: number;
  /** Hours after which the newest successful backup of a kind is too old. Default 26 (daily + slack). */
  readonly backupMaxAgeHours?: number;
  /** Backup kinds the backup jobs report (label `kind` of senex_backup_last_success_timestamp_seconds). */
  readonly backupKinds: readonly string[];
  /** Free-disk fraction below which a filesystem alerts. Default 0.10. */
  readonly diskFreeRatio?: number;
}

/** The metric the backup jobs write through node-exporter's textfile collector (see render/backup.ts). */
export const BACKUP_METRIC = "senex_backup_last_success_timestamp_seconds";

/**
 * The redis_exporter metric for the Celery queue: Celery's default queue is a list named `celery`
 * in the broker's DB 2, and the exporter only reports a single key's length when started with
 * `--check-single-keys=db2=celery` (the Quadlet of the broker's exporter must pass that flag).
 */
export const CELERY_QUEUE_EXPORTER_FLAG = "--check-single-keys=db2=celery";

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string };
}

/** Renders the Prometheus alert rules file (rule groups for scaling triggers, failures and the watchdog). */
export function renderAlertRules(spec: AlertRulesSpec): string {
  const pct = (field: string, v: number): number => intInRange(field, v, 1, 100);
  const web = pct("webCpuPercent", spec.webCpuPercent ?? 70);
  const db = pct("dbCpuPercent", spec.dbCpuPercent ?? 80);
  const queue = intInRange("celeryQueueLength", spec.celeryQueueLength ?? 100, 1, 1e9);
  const mem = spec.redisMemoryRatio ?? 0.9;
  if (!(mem > 0 && mem < 1)) throw new Error("`redisMemoryRatio` must be between 0 and 1");
  const disk = spec.diskFreeRatio ?? 0.1;
  if (!(disk > 0 && disk < 1)) throw new Error("`diskFreeRatio` must be between 0 and 1");
  const lag = intInRange("replicationLagSeconds", spec.replicationLagSeconds ?? 60, 1, 86400);
  const backupHours = intInRange("backupMaxAgeHours", spec.backupMaxAgeHours ?? 26, 1, 24 * 31);
  for (const [i, k] of spec.backupKinds.entries()) {
    if (!/^[a-z0-9-]+$/.test(k)) throw new Error(`\`backupKinds[${i}]\` must match [a-z0-9-]+`);
  }
  const cpu = (role: string): string =>
    `100 * (1 - avg by (host) (rate(node_cpu_seconds_total{mode="idle", role="${role}"}[5m])))`;
  const rule = (alert: string, expr: string, forDuration: string | undefined, severity: string, summary: string, description: string): Rule => ({
    alert,
    expr,
    ...(forDuration ? { for: forDuration } : {}),
    labels: { severity },
    annotations: { summary, description },
  });

  const groups = [
    {
      name: "senex-meta",
      rules: [
        // The dead-man's switch: always firing. Alertmanager routes it to a heartbeat receiver;
        // when the heartbeat stops, the outside world knows the alerting path itself is broken.
        rule("Watchdog", "vector(1)", undefined, "none", "Alerting pipeline heartbeat", "Always firing. If the heartbeat receiver stops hearing it, Prometheus or Alertmanager is down."),
        rule("InstanceDown", "up == 0", "2m", "critical", "{{ $labels.job }} on {{ $labels.host }} is down", "Prometheus could not scrape {{ $labels.instance }} for 2 minutes."),
      ],
    },
    {
      name: "senex-scaling",
      rules: [
        rule("WebCpuHigh", `${cpu("web")} > ${web}`, "5m", "warning", "CPU above " + web + " % on {{ $labels.host }}", "Seeds' trigger: add a Django/Daphne instance (raise webCount)."),
        rule("MainCpuHigh", `${cpu("main")} > ${web}`, "5m", "warning", "CPU above " + web + " % on {{ $labels.host }}", "The single phase-1 host is busy: consider phase 2."),
        rule("DbCpuHigh", `${cpu("db")} > ${db}`, "10m", "warning", "Database CPU above " + db + " % on {{ $labels.host }}", "Seeds' trigger: add a PostgreSQL read replica."),
        rule(
          "CeleryQueueLong",
          `sum by (host) (redis_key_size{redis_instance="broker", db="db2", key="celery"}) > ${queue}`,
          "5m",
          "warning",
          "Celery queue longer than " + queue + " on {{ $labels.host }}",
          `Seeds' trigger: add a Celery worker. Needs redis_exporter ${CELERY_QUEUE_EXPORTER_FLAG}.`,
        ),
        rule(
          "RedisMemoryHigh",
          `redis_memory_used_bytes / (redis_memory_max_bytes > 0) > ${mem}`,
          "5m",
          "warning",
          "Redis {{ $labels.redis_instance }} on {{ $labels.host }} above " + Math.round(mem * 100) + " % of maxmemory",
          "Seeds' trigger: upgrade Redis. The broker refuses writes (noeviction) when full.",
        ),
      ],
    },
    {
      name: "senex-failures",
      rules: [
        rule("PostgresDown", "pg_up == 0", "1m", "critical", "PostgreSQL on {{ $labels.host }} unreachable by its exporter", "postgres_exporter reports pg_up 0."),
        rule("RedisDown", "redis_up == 0", "1m", "critical", "Redis {{ $labels.redis_instance }} on {{ $labels.host }} is down", "redis_exporter reports redis_up 0."),
        rule(
          "PostgresReplicationLag",
          `pg_replication_is_replica == 1 and pg_replication_lag_seconds > ${lag}`,
          "5m",
          "critical",
          "Standby {{ $labels.host }} is more than " + lag + " s behind",
          "Streaming replication lags; a failover now would lose that much.",
        ),
        rule(
          "BackupTooOld",
          `time() - ${BACKUP_METRIC} > ${backupHours * 3600}`,
          undefined,
          "critical",
          "Last successful {{ $labels.kind }} backup on {{ $labels.host }} is older than " + backupHours + " h",
          "The backup timer failed or stopped; the RPO is no longer met.",
        ),
        ...spec.backupKinds.map((kind): Rule => {
          const r = rule(
            "BackupNeverSucceeded",
            `absent(${BACKUP_METRIC}{kind="${kind}"})`,
            `${backupHours}h`,
            "critical",
            `No successful ${kind} backup recorded`,
            "No backup job of this kind has ever reported success to node-exporter's textfile collector.",
          );
          // absent() drops the selector's labels; without `kind` the rules would be duplicates.
          return { ...r, labels: { ...r.labels, kind } };
        }),
        rule(
          "DiskSpaceLow",
          `node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"} < ${disk}`,
          "10m",
          "critical",
          "Less than " + Math.round(disk * 100) + " % disk free on {{ $labels.host }} {{ $labels.mountpoint }}",
          "PostgreSQL stops accepting writes when its disk fills; WAL and AOF grow fast.",
        ),
      ],
    },
  ];
  return "# Rendered by senex-infra; do not edit on the host.\n" + stringify({ groups }, { lineWidth: 0 });
}
