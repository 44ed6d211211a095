// Grafana provisioning (datasources, dashboard provider, the bundled dashboards) and the
// grafana.ini fragment for serving under /grafana/ behind nginx.
//
// Grafana is AGPL and is never run here: tests check these files against Grafana's documented
// provisioning schema, not against a real Grafana (ARCHITECTURE: Pitfalls).
import { stringify } from "yaml";
import django from "./dashboards/django-17658.json";
import postgresql from "./dashboards/postgresql-9628.json";
import redis from "./dashboards/redis-11835.json";
import { absolutePath, iniText, intInRange, ipAddress } from "./conf-syntax";

/** Datasource uids the bundled dashboards refer to; stable so dashboards survive re-provisioning. */
export const PROMETHEUS_DATASOURCE_UID = "senex-prometheus";
export const LOKI_DATASOURCE_UID = "senex-loki";

/** Typed input of the datasource provisioning file. */
export interface GrafanaDatasourcesSpec {
  /** Prometheus base URL as Grafana reaches it, e.g. http://10.0.0.5:9090. */
  readonly prometheusUrl: string;
  /** Loki base URL (phase 3), e.g. http://10.0.0.5:3100. */
  readonly lokiUrl?: string;
}

function httpUrl(field: string, value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new Error(`\`${field}\` must be an absolute URL, got ${JSON.stringify(value)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error(`\`${field}\` must be http(s)`);
  return value.replace(/\/$/, "");
}

/** Renders provisioning/datasources/senex.yaml. */
export function renderGrafanaDatasources(spec: GrafanaDatasourcesSpec): string {
  const datasources: Array<Record<string, unknown>> = [
    {
      name: "Prometheus",
      type: "prometheus",
      uid: PROMETHEUS_DATASOURCE_UID,
      access: "proxy",
      url: httpUrl("prometheusUrl", spec.prometheusUrl),
      isDefault: true,
      editable: false,
      jsonData: { httpMethod: "POST", timeInterval: "15s" },
    },
  ];
  if (spec.lokiUrl !== undefined) {
    datasources.push({
      name: "Loki",
      type: "loki",
      uid: LOKI_DATASOURCE_UID,
      access: "proxy",
      url: httpUrl("lokiUrl", spec.lokiUrl),
      isDefault: false,
      editable: false,
      jsonData: { maxLines: 1000 },
    });
  }
  // deleteDatasources is not used: uids are stable, so an update edits in place.
  return stringify({ apiVersion: 1, datasources }, { lineWidth: 0 });
}

/** Renders provisioning/dashboards/senex.yaml: a file provider over the bundled dashboards directory. */
export function renderGrafanaDashboardProvider(dashboardsDirectory: string): string {
  return stringify(
    {
      apiVersion: 1,
      providers: [
        {
          name: "senex",
          orgId: 1,
          folder: "Senex",
          type: "file",
          // Provisioned dashboards are code: edits in the UI would be lost on the next apply anyway.
          disableDeletion: true,
          allowUiUpdates: false,
          updateIntervalSeconds: 60,
          options: { path: absolutePath("dashboardsDirectory", dashboardsDirectory), foldersFromFilesStructure: false },
        },
      ],
    },
    { lineWidth: 0 },
  );
}

/**
 * The dashboards bundled in place of the seeds' grafana.com ids (provisioning cannot fetch by id):
 * file name → JSON text. Authored for this project from the exporters' metric names.
 */
export function bundledDashboards(): Readonly<Record<string, string>> {
  return {
    "django-17658.json": JSON.stringify(django, null, 2) + "\n",
    "postgresql-9628.json": JSON.stringify(postgresql, null, 2) + "\n",
    "redis-11835.json": JSON.stringify(redis, null, 2) + "\n",
  };
}

/** Typed input of the grafana.ini fragment. */
export interface GrafanaIniSpec {
  /** Public domain nginx serves (Grafana builds absolute links from it). */
  readonly domain: string;
  /** Sub-path under which nginx proxies Grafana. Default "/grafana/". */
  readonly subPath?: string;
  /** Address Grafana listens on (private or loopback; nginx is the only client). */
  readonly listenAddress: string;
  /** Port. Default 3000. */
  readonly port?: number;
  /** Admin user name. Default "admin". */
  readonly adminUser?: string;
  /** File (podman secret mount) holding the admin password; read by Grafana through `$__file{}`. */
  readonly adminPasswordFile: string;
  /** Provisioning directory. Default /etc/grafana/provisioning. */
  readonly provisioningDirectory?: string;
}

/** Renders grafana.ini: sub-path behind nginx, no sign-up, no anonymous access, admin password from a file. */
export function renderGrafanaIni(spec: GrafanaIniSpec): string {
  const sub = spec.subPath ?? "/grafana/";
  if (!/^\/[a-z0-9-]+\/$/.test(sub)) throw new Error("`subPath` must look like /name/");
  if (!/^[a-z0-9.-]+$/i.test(spec.domain)) throw new Error("`domain` must be a host name");
  return iniText(
    [
      {
        name: "server",
        comment: ["nginx proxies https://DOMAIN/grafana/ here; Grafana must know its public URL and sub-path."],
        entries: [
          ["protocol", "http"],
          ["http_addr", ipAddress("listenAddress", spec.listenAddress)],
          ["http_port", intInRange("port", spec.port ?? 3000, 1, 65535)],
          ["domain", spec.domain],
          ["root_url", `https://${spec.domain}${sub}`],
          ["serve_from_sub_path", true],
          ["enforce_domain", false],
        ],
      },
      {
        name: "security",
        entries: [
          ["admin_user", spec.adminUser ?? "admin"],
          // Grafana expands $__file{} itself, so the password never appears in this file or the env.
          ["admin_password", `$__file{${absolutePath("adminPasswordFile", spec.adminPasswordFile)}}`],
          ["cookie_secure", true],
          ["cookie_samesite", "strict"],
          ["disable_gravatar", true],
          ["disable_initial_admin_creation", false],
        ],
      },
      { name: "users", entries: [["allow_sign_up", false], ["allow_org_create", false]] },
      { name: "auth.anonymous", entries: [["enabled", false]] },
      { name: "auth", entries: [["disable_login_form", false]] },
      { name: "analytics", entries: [["reporting_enabled", false], ["check_for_updates", false], ["check_for_plugin_updates", false]] },
      { name: "paths", entries: [["provisioning", absolutePath("provisioningDirectory", spec.provisioningDirectory ?? "/etc/grafana/provisioning")]] },
      { name: "log", entries: [["mode", "console"]] },
    ],
    " = ",
  );
}
