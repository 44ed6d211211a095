import fc from "fast-check";
import { parse } from "yaml";
import { BACKUP_METRIC, renderAlertRules, renderPrometheusConfig, type ScrapeTarget } from "../../../render/prometheus";
import { renderPhaseFiles, scrapeTargets } from "./data-services-specs";

interface PromYml {
  global: { scrape_interval: string; external_labels?: Record<string, string> };
  alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
  rule_files: string[];
  scrape_configs: Array<{ job_name: string; metrics_path: string; static_configs: Array<{ targets: string[]; labels: Record<string, string> }> }>;
}
const render = (targets: ScrapeTarget[]) => parse(renderPrometheusConfig({ targets, alertmanagers: [{ address: "10.0.1.51", port: 9093 }], ruleFiles: ["/etc/prometheus/rules/senex.rules.yml"] })) as PromYml;

describe("renderPrometheusConfig", () => {
  it.each([1, 2, 3] as const)("phase %i snapshot", (phase) => {
    const files = renderPhaseFiles(phase);
    expect(Object.fromEntries(Object.entries(files).filter(([k]) => /prometheus\.yml|rules\.yml/.test(k)))).toMatchSnapshot();
  });

  it("scrapes node, postgres, redis, daphne, alertmanager and itself, labelled with host and role", () => {
    const doc = render(scrapeTargets(3));
    expect(doc.scrape_configs.map((j) => j.job_name)).toEqual(["prometheus", "alertmanager", "node", "postgres", "redis", "daphne"]);
    const node = doc.scrape_configs.find((j) => j.job_name === "node")!;
    expect(node.static_configs).toContainEqual({ targets: ["10.0.1.21:9100"], labels: { host: "db-1", role: "db" } });
    const redis = doc.scrape_configs.find((j) => j.job_name === "redis")!;
    expect(redis.static_configs).toContainEqual({ targets: ["10.0.1.31:9121"], labels: { host: "redis-1", role: "redis", redis_instance: "broker" } });
    expect(doc.alerting.alertmanagers[0]!.static_configs[0]!.targets).toEqual(["10.0.1.51:9093"]);
  });

  it("property: every target appears in exactly one job, once", () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3), fc.integer({ min: 0, max: 5 }), (phase, drop) => {
        const targets = scrapeTargets(phase as 1 | 2 | 3).filter((_, i) => i % 6 !== drop);
        const all = render(targets).scrape_configs.flatMap((j) => j.static_configs.flatMap((s) => s.targets));
        expect(all.sort()).toEqual(targets.map((t) => `${t.address}:${t.port}`).sort());
      }),
    );
  });

  it("rejects duplicate targets, hostnames and redis targets without an instance kind", () => {
    const t: ScrapeTarget = { kind: "node", host: "a", role: "web", address: "10.0.0.1", port: 9100 };
    expect(() => render([t, t])).toThrow(/listed twice/);
    expect(() => render([{ ...t, address: "web-1" }])).toThrow(/address/);
    expect(() => render([{ ...t, kind: "redis" }])).toThrow(/instanceKind/);
  });
});

describe("renderAlertRules", () => {
  type Rules = { groups: Array<{ name: string; rules: Array<{ alert: string; expr: string; for?: string; labels: Record<string, string> }> }> };
  const rules = (parse(renderAlertRules({ backupKinds: ["postgres-full", "redis"] })) as Rules).groups.flatMap((g) => g.rules);
  const byName = (n: string) => rules.filter((r) => r.alert === n);

  it.each<[string, RegExp, string | undefined]>([
    ["Watchdog", /^vector\(1\)$/, undefined],
    ["WebCpuHigh", /role="web".*> 70$/, "5m"],
    ["DbCpuHigh", /role="db".*> 80$/, "10m"],
    ["CeleryQueueLong", /redis_key_size\{redis_instance="broker", db="db2", key="celery"\}\) > 100$/, "5m"],
    ["RedisMemoryHigh", /redis_memory_used_bytes \/ \(redis_memory_max_bytes > 0\) > 0\.9$/, "5m"],
    ["PostgresReplicationLag", /pg_replication_lag_seconds > 60$/, "5m"],
    ["BackupTooOld", new RegExp(`time\\(\\) - ${BACKUP_METRIC} > 93600$`), undefined],
    ["InstanceDown", /^up == 0$/, "2m"],
    ["DiskSpaceLow", /node_filesystem_avail_bytes/, "10m"],
  ])("%s has the seeds' threshold and duration", (name, expr, forDuration) => {
    const [rule] = byName(name);
    expect(rule?.expr).toMatch(expr);
    expect(rule?.for).toBe(forDuration);
  });

  it("reports a backup kind that never succeeded, one rule per kind with its own label", () => {
    expect(byName("BackupNeverSucceeded").map((r) => r.labels.kind)).toEqual(["postgres-full", "redis"]);
  });

  it("rejects nonsense thresholds", () => {
    expect(() => renderAlertRules({ backupKinds: [], redisMemoryRatio: 90 })).toThrow(/redisMemoryRatio/);
    expect(() => renderAlertRules({ backupKinds: [], webCpuPercent: 0 })).toThrow(/webCpuPercent/);
    expect(() => renderAlertRules({ backupKinds: ['x"} or vector(1) #'] })).toThrow(/backupKinds/);
  });
});
