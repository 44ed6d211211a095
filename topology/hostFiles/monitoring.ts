// Prometheus (scrape config over every exporter of the stack, alert rules), Alertmanager, Grafana
// provisioning and dashboards, Loki, and Alloy on every host that ships logs.
import type { BackupKind } from "../../render/backup";
import { renderAlertmanagerConfig, type AlertmanagerSpec, type AlertReceiver } from "../../render/alertmanager";
import { renderAlloyConfig } from "../../render/alloy";
import { bundledDashboards, renderGrafanaDashboardProvider, renderGrafanaDatasources } from "../../render/grafana";
import { renderLokiConfig } from "../../render/loki";
import { renderAlertRules, renderPrometheusConfig, type PrometheusSpec, type ScrapeTarget } from "../../render/prometheus";
import { PORTS } from "../build";
import type { PlacedService, TopologyHost } from "../types";
import { senexFile, type HostFile } from "./file";
import { CONFIG_ROOT, configPath, type HostContext } from "./layout";
import { unitsOf } from "./quadlets";

const RULES = configPath("prometheus", "senex.rules.yml");
/** Where alerts go that have no destination in the stack: a receiver without integrations. */
const NULL_RECEIVER = "null";
/** Grafana's provisioning directory is `${CONFIG_ROOT}/grafana`, mounted at /etc/grafana/provisioning. */
const GRAFANA_PROVISIONING = "/etc/grafana/provisioning";
const DASHBOARD_DIR = "senex-dashboards";
/** Loki's schema start: fixed forever once logs exist (changing it would orphan the index). */
const LOKI_SCHEMA_FROM = "2026-01-01";
const LOKI_RETENTION_DAYS = 30;

function scrapeTargetsOf(ctx: HostContext, h: TopologyHost): ScrapeTarget[] {
  const address = ctx.addressOf(h.name);
  const role = h.groups[0] ?? "main";
  const target = (kind: ScrapeTarget["kind"], s: PlacedService, instanceKind?: "broker" | "cache"): ScrapeTarget => ({ kind, host: h.name, role, address, port: s.port!, ...(instanceKind ? { instanceKind } : {}) });
  return h.services.flatMap((s): ScrapeTarget[] => {
    switch (s.kind) {
      case "node-exporter":
        return [target("node", s)];
      case "postgres-exporter":
        return [target("postgres", s)];
      case "redis-exporter-broker":
        return [target("redis", s, "broker")];
      case "redis-exporter-cache":
        return [target("redis", s, "cache")];
      case "daphne":
        return [target("daphne", s)];
      case "prometheus":
        return [target("prometheus", s)];
      case "alertmanager":
        return [target("alertmanager", s)];
      default:
        return [];
    }
  });
}

/** The backup kinds the stack's backup services report (their BackupNeverSucceeded rules). */
export function backupKinds(ctx: HostContext): BackupKind[] {
  const names = new Set(ctx.topology.hosts.flatMap((h) => h.services.filter((s) => s.kind === "backup").map((s) => s.name)));
  return [
    ...(names.has("backup-postgres") ? (["postgres-full", "postgres-diff"] as const) : []),
    ...(names.has("backup-redis") ? (["redis"] as const) : []),
    ...(names.has("backup-media") ? (["media"] as const) : []),
  ];
}

export function prometheusSpec(ctx: HostContext): PrometheusSpec {
  return {
    targets: ctx.topology.hosts.flatMap((h) => scrapeTargetsOf(ctx, h)),
    alertmanagers: ctx.has("alertmanager") ? [{ address: ctx.address, port: PORTS.alertmanager }] : [],
    ruleFiles: [RULES.container],
    externalLabels: { stack: ctx.config.stack },
  };
}

/**
 * Receivers from the stack's `alerts`: Slack (webhook from a podman secret) as the default when
 * set, e-mail for critical alerts (or as the default without Slack), the heartbeat URL for the
 * Watchdog. Routes need a receiver in every combination: where the stack names no destination
 * (and for the Watchdog without a heartbeat URL) they go to a `null` receiver — dropped, but still
 * shown in Alertmanager's UI — rather than mailing the always-firing Watchdog to a human.
 */
export function alertmanagerSpec(ctx: HostContext): AlertmanagerSpec {
  const alerts = ctx.config.alerts;
  const receivers: AlertReceiver[] = [];
  if (alerts.slackWebhook) receivers.push({ kind: "slack", name: "slack", apiUrlFile: "/run/secrets/senex-alert-slack-webhook" });
  if (alerts.email) receivers.push({ kind: "email", name: "email", to: [alerts.email.to], from: alerts.email.from, smarthost: alerts.email.smarthost });
  // The heartbeat URL carries a token: a podman secret mounted for Alertmanager, like the Slack webhook.
  if (alerts.heartbeatUrl) receivers.push({ kind: "webhook", name: "heartbeat", urlFile: "/run/secrets/senex-alert-heartbeat-url" });
  const defaultReceiver = alerts.slackWebhook ? "slack" : alerts.email ? "email" : NULL_RECEIVER;
  const heartbeatReceiver = alerts.heartbeatUrl ? "heartbeat" : NULL_RECEIVER;
  if (defaultReceiver === NULL_RECEIVER || heartbeatReceiver === NULL_RECEIVER) receivers.push({ kind: "null", name: NULL_RECEIVER });
  return {
    receivers,
    defaultReceiver,
    heartbeatReceiver,
    ...(alerts.slackWebhook && alerts.email ? { criticalReceivers: ["email"] } : {}),
  };
}

export function monitoringFiles(ctx: HostContext): HostFile[] {
  const files: HostFile[] = [];
  const monitoring = ctx.topology.monitoringHost;
  if (ctx.has("prometheus")) {
    const unit = unitsOf(ctx, "prometheus");
    files.push(senexFile(configPath("prometheus", "prometheus.yml").host, renderPrometheusConfig(prometheusSpec(ctx)), unit));
    files.push(senexFile(RULES.host, renderAlertRules({ backupKinds: backupKinds(ctx) }), unit));
  }
  if (ctx.has("alertmanager")) {
    const unit = unitsOf(ctx, "alertmanager");
    files.push(senexFile(configPath("alertmanager", "alertmanager.yml").host, renderAlertmanagerConfig(alertmanagerSpec(ctx)), unit));
  }
  if (ctx.has("grafana")) {
    const unit = unitsOf(ctx, "grafana");
    const prometheusAt = monitoring ? ctx.addressOf(monitoring) : ctx.address;
    files.push(
      senexFile(
        `${CONFIG_ROOT}/grafana/datasources/senex.yaml`,
        renderGrafanaDatasources({ prometheusUrl: `http://${prometheusAt}:${PORTS.prometheus}`, ...(ctx.has("loki") ? { lokiUrl: `http://${ctx.address}:${PORTS.loki}` } : {}) }),
        unit,
      ),
      senexFile(`${CONFIG_ROOT}/grafana/dashboards/senex.yaml`, renderGrafanaDashboardProvider(`${GRAFANA_PROVISIONING}/${DASHBOARD_DIR}`), unit),
      // Grafana's file provider re-reads dashboards itself (updateIntervalSeconds): no restart.
      ...Object.entries(bundledDashboards()).map(([name, json]) => senexFile(`${CONFIG_ROOT}/grafana/${DASHBOARD_DIR}/${name}`, json, [])),
    );
  }
  if (ctx.has("loki")) {
    files.push(
      senexFile(
        configPath("loki", "loki.yaml").host,
        renderLokiConfig({ listenAddress: ctx.address, dataDirectory: "/loki", retentionDays: LOKI_RETENTION_DAYS, schemaFrom: LOKI_SCHEMA_FROM }),
        unitsOf(ctx, "loki"),
      ),
    );
  }
  if (ctx.has("alloy") && monitoring) {
    const loki = ctx.topology.hosts.find((h) => h.services.some((s) => s.kind === "loki"));
    if (loki) {
      files.push(
        senexFile(
          configPath("alloy", "config.alloy").host,
          renderAlloyConfig({ lokiPushUrl: `http://${ctx.addressOf(loki.name)}:${PORTS.loki}/loki/api/v1/push`, host: ctx.host.name, role: ctx.role }),
          unitsOf(ctx, "alloy"),
        ),
      );
    }
  }
  return files;
}
