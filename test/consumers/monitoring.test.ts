/**
 * prometheus.yml, the alert rules, alertmanager.yml and every PromQL query of the bundled Grafana
 * dashboards through Prometheus' and Alertmanager's own tools from Debian trixie: promtool check
 * config / check rules / test rules, amtool check-config / config routes test.
 */
import { stringify } from "yaml";
import { renderAlertmanagerConfig } from "../../render/alertmanager";
import { bundledDashboards } from "../../render/grafana";
import { CELERY_QUEUE_EXPORTER_FLAG, renderAlertRules, renderPrometheusConfig } from "../../render/prometheus";
import { runInTrixie } from "../support/trixie";
import { alertmanagerSpec, scrapeTargets, type Phase } from "../unit/render/data-services-specs";
import { expectExit } from "./pg-cluster";

const rules = renderAlertRules({ backupKinds: ["postgres-full", "postgres-diff", "redis", "media"] });
const prometheusYml = (phase: Phase) =>
  renderPrometheusConfig({ targets: scrapeTargets(phase), alertmanagers: [{ address: "10.0.1.51", port: 9093 }], ruleFiles: ["senex.rules.yml"], externalLabels: { stack: "production" } });

/** promtool unit tests of the rules: the watchdog always fires; a seeds' trigger fires exactly after its `for`. */
const ruleTests = stringify({
  rule_files: ["senex.rules.yml"],
  evaluation_interval: "1m",
  tests: [
    {
      interval: "1m",
      input_series: [
        // web-1: idle 20 % of each second → CPU 80 %; web-2: idle 40 % → CPU 60 %.
        { series: 'node_cpu_seconds_total{mode="idle", role="web", host="web-1", cpu="0"}', values: "0+12x30" },
        { series: 'node_cpu_seconds_total{mode="idle", role="web", host="web-2", cpu="0"}', values: "0+24x30" },
        { series: 'redis_key_size{redis_instance="broker", db="db2", key="celery", host="redis-1"}', values: "150x30" },
        { series: 'senex_backup_last_success_timestamp_seconds{kind="postgres-full", host="db-1"}', values: "0x30" },
      ],
      alert_rule_test: [
        { eval_time: "0m", alertname: "Watchdog", exp_alerts: [{ exp_labels: { severity: "none" }, exp_annotations: { summary: "Alerting pipeline heartbeat", description: "Always firing. If the heartbeat receiver stops hearing it, Prometheus or Alertmanager is down." } }] },
        // rate() needs two samples, then `for: 5m`: not yet at 5m, firing at 7m, only for web-1.
        { eval_time: "5m", alertname: "WebCpuHigh", exp_alerts: [] },
        {
          eval_time: "7m",
          alertname: "WebCpuHigh",
          exp_alerts: [{ exp_labels: { severity: "warning", host: "web-1" }, exp_annotations: { summary: "CPU above 70 % on web-1", description: "Seeds' trigger: add a Django/Daphne instance (raise webCount)." } }],
        },
        { eval_time: "4m", alertname: "CeleryQueueLong", exp_alerts: [] },
        {
          eval_time: "6m",
          alertname: "CeleryQueueLong",
          exp_alerts: [{ exp_labels: { severity: "warning", host: "redis-1" }, exp_annotations: { summary: "Celery queue longer than 100 on redis-1", description: `Seeds' trigger: add a Celery worker. Needs redis_exporter ${CELERY_QUEUE_EXPORTER_FLAG}.` } }],
        },
      ],
    },
    {
      // Backup age on a scale of hours: the last success at t=0 is too old once 26 h have passed.
      interval: "1h",
      input_series: [{ series: 'senex_backup_last_success_timestamp_seconds{kind="postgres-full", host="db-1"}', values: "0x30" }],
      alert_rule_test: [
        { eval_time: "25h", alertname: "BackupTooOld", exp_alerts: [] },
        {
          eval_time: "27h",
          alertname: "BackupTooOld",
          exp_alerts: [{ exp_labels: { severity: "critical", kind: "postgres-full", host: "db-1" }, exp_annotations: { summary: "Last successful postgres-full backup on db-1 is older than 26 h", description: "The backup timer failed or stopped; the RPO is no longer met." } }],
        },
      ],
    },
  ],
});

/** Every dashboard query as a recording rule, template variables replaced: promtool parses each. */
function dashboardQueryRules(): string {
  const rulesOut: Array<{ record: string; expr: string }> = [];
  for (const [file, text] of Object.entries(bundledDashboards())) {
    const dash = JSON.parse(text) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    dash.panels.forEach((p, i) => p.targets.forEach((t, j) => rulesOut.push({ record: `dashboard:${file.replace(/\W/g, "_")}:${i}_${j}`, expr: t.expr.replace(/\$\w+/g, ".*") })));
  }
  return stringify({ groups: [{ name: "dashboards", rules: rulesOut }] });
}

describe("Prometheus 2.53 tools on the rendered monitoring files", () => {
  it.each([1, 2, 3] as const)("promtool check config accepts phase %i's prometheus.yml with its rules", (phase) => {
    const r = runInTrixie(["promtool", "check", "config", "prometheus.yml"], { files: { "prometheus.yml": prometheusYml(phase), "senex.rules.yml": rules } });
    expectExit(r, 0);
    expect(r.stdout).toMatch(/SUCCESS: prometheus\.yml is valid prometheus config file syntax/);
    expect(r.stdout + r.stderr).toMatch(/SUCCESS: 1[0-9] rules found/);
  });

  it("promtool check rules and test rules: Watchdog always fires, CPU > 70 % and queue > 100 fire after 5 minutes, backup age after 26 h", () => {
    const check = runInTrixie(["promtool", "check", "rules", "senex.rules.yml"], { files: { "senex.rules.yml": rules } });
    expectExit(check, 0);
    const test = runInTrixie(["promtool", "test", "rules", "tests.yml"], { files: { "senex.rules.yml": rules, "tests.yml": ruleTests } });
    expectExit(test, 0);
    expect(test.stdout).toMatch(/SUCCESS/);
  });

  it("promtool parses every PromQL query of the bundled dashboards", () => {
    const r = runInTrixie(["promtool", "check", "rules", "dashboards.yml"], { files: { "dashboards.yml": dashboardQueryRules() } });
    expectExit(r, 0);
    expect(r.stdout + r.stderr).toMatch(/SUCCESS: [3-9]\d rules found/);
  });

  it("deliberately broken renders fail: a bad duration in prometheus.yml, a bad expression in the rules", () => {
    const badConfig = runInTrixie(["promtool", "check", "config", "prometheus.yml"], { files: { "prometheus.yml": prometheusYml(2).replace("scrape_interval: 15s", "scrape_interval: 15"), "senex.rules.yml": rules } });
    expectExit(badConfig, 1);
    const badRules = runInTrixie(["promtool", "check", "rules", "senex.rules.yml"], { files: { "senex.rules.yml": rules.replace("expr: up == 0", "expr: up === 0") } });
    expectExit(badRules, 1);
  });
});

describe("Alertmanager 0.28 (amtool) on the rendered alertmanager.yml", () => {
  const yml = renderAlertmanagerConfig(alertmanagerSpec());

  it("amtool check-config accepts it, with every secret only a *_file path", () => {
    const r = runInTrixie(["amtool", "check-config", "alertmanager.yml"], { files: { "alertmanager.yml": yml } });
    expectExit(r, 0);
    expect(r.stdout).toMatch(/SUCCESS/);
    expect(r.stdout).toMatch(/ - 3 receivers/);
  });

  it.each<[string, string[], string]>([
    ["the Watchdog goes to the heartbeat only", ["alertname=Watchdog", "severity=none"], "heartbeat"],
    ["a critical alert reaches email and the default (Slack)", ["alertname=PostgresDown", "severity=critical"], "ops-email,ops-slack"],
    ["a warning goes to the default", ["alertname=WebCpuHigh", "severity=warning"], "ops-slack"],
  ])("routing: %s", (_name, labels, receivers) => {
    const r = runInTrixie(["amtool", "config", "routes", "test", "--config.file=alertmanager.yml", ...labels], { files: { "alertmanager.yml": yml } });
    expectExit(r, 0);
    expect(r.stdout.trim()).toBe(receivers);
  });

  it("a deliberately broken render (a route to an unknown receiver) fails its consumer", () => {
    const r = runInTrixie(["amtool", "check-config", "alertmanager.yml"], { files: { "alertmanager.yml": yml.replace("receiver: heartbeat", "receiver: heartbeats") } });
    expectExit(r, 1);
    expect(r.stdout + r.stderr).toMatch(/undefined receiver "heartbeats"/);
  });
});
