/**
 * Grafana (provisioning, grafana.ini), Grafana Loki and Grafana Alloy cannot run here: Grafana and
 * Loki are AGPL (ARCHITECTURE: never built or run) and Alloy is not in Debian. So NO REAL CONSUMER
 * RUNS in this file. Instead the rendered files are validated against schemas written from those
 * projects' documentation (keys, required fields, value shapes), with python3-jsonschema from
 * Debian trixie, and the Alloy file by a structural check of its documented syntax. Every schema
 * rejects unknown keys, so a misspelled key — a deliberately broken render — fails.
 */
import { parse } from "yaml";
import { renderAlloyConfig } from "../../render/alloy";
import { bundledDashboards, LOKI_DATASOURCE_UID, PROMETHEUS_DATASOURCE_UID, renderGrafanaDashboardProvider, renderGrafanaDatasources, renderGrafanaIni } from "../../render/grafana";
import { renderLokiConfig } from "../../render/loki";
import { runInTrixie } from "../support/trixie";
import { expectExit } from "./pg-cluster";

const str = { type: "string" };
const bool = { type: "boolean" };
const int = { type: "integer" };
const duration = { type: "string", pattern: "^[0-9]+(ms|s|m|h)$" };
const closed = (properties: Record<string, unknown>, required: string[] = []) => ({ type: "object", properties, required, additionalProperties: false });

/** Grafana provisioning docs, "Data sources" (apiVersion 1). */
const DATASOURCES_SCHEMA = closed(
  {
    apiVersion: { const: 1 },
    deleteDatasources: { type: "array" },
    datasources: {
      type: "array",
      minItems: 1,
      items: closed(
        {
          name: str, type: { enum: ["prometheus", "loki"] }, access: { enum: ["proxy", "direct"] }, orgId: int, uid: str, url: { type: "string", pattern: "^https?://" },
          user: str, database: str, basicAuth: bool, basicAuthUser: str, withCredentials: bool, isDefault: bool, jsonData: { type: "object" }, secureJsonData: { type: "object" }, version: int, editable: bool,
        },
        ["name", "type", "access", "url", "uid"],
      ),
    },
  },
  ["apiVersion", "datasources"],
);

/** Grafana provisioning docs, "Dashboards" providers (apiVersion 1). */
const PROVIDERS_SCHEMA = closed(
  {
    apiVersion: { const: 1 },
    providers: {
      type: "array",
      minItems: 1,
      items: closed(
        {
          name: str, orgId: int, folder: str, folderUid: str, type: { const: "file" }, disableDeletion: bool, updateIntervalSeconds: int, allowUiUpdates: bool,
          options: closed({ path: { type: "string", pattern: "^/" }, foldersFromFilesStructure: bool }, ["path"]),
        },
        ["name", "type", "options"],
      ),
    },
  },
  ["apiVersion", "providers"],
);

/** Loki 3.x configuration reference: the top-level blocks, and the single-binary filesystem shape we rely on. */
const LOKI_SCHEMA = closed(
  {
    target: str, auth_enabled: bool,
    server: closed({ http_listen_address: str, http_listen_port: int, grpc_listen_address: str, grpc_listen_port: int, log_level: { enum: ["debug", "info", "warn", "error"] } }, ["http_listen_port"]),
    common: closed(
      {
        instance_addr: str, path_prefix: { type: "string", pattern: "^/" }, replication_factor: { const: 1 },
        storage: closed({ filesystem: closed({ chunks_directory: str, rules_directory: str }, ["chunks_directory", "rules_directory"]) }, ["filesystem"]),
        ring: closed({ kvstore: closed({ store: { enum: ["inmemory", "memberlist", "consul", "etcd"] } }, ["store"]) }),
      },
      ["path_prefix", "storage"],
    ),
    schema_config: closed({
      configs: {
        type: "array",
        minItems: 1,
        items: closed(
          { from: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$" }, store: { const: "tsdb" }, object_store: { const: "filesystem" }, schema: { const: "v13" }, index: closed({ prefix: str, period: { const: "24h" } }, ["prefix", "period"]) },
          ["from", "store", "object_store", "schema", "index"],
        ),
      },
    }, ["configs"]),
    limits_config: closed({ retention_period: duration, reject_old_samples: bool, reject_old_samples_max_age: duration }, ["retention_period"]),
    // Retention needs the compactor with retention_enabled and (Loki ≥ 3) a delete_request_store.
    compactor: closed({ working_directory: str, retention_enabled: { const: true }, delete_request_store: { const: "filesystem" }, compaction_interval: duration, retention_delete_delay: duration }, ["working_directory", "retention_enabled", "delete_request_store"]),
    analytics: closed({ reporting_enabled: bool }),
    storage_config: { type: "object" }, ingester: { type: "object" }, querier: { type: "object" }, query_range: { type: "object" }, ruler: { type: "object" }, frontend: { type: "object" }, memberlist: { type: "object" },
  },
  ["server", "common", "schema_config", "limits_config", "compactor"],
);

/** Dashboard JSON model (Grafana docs "JSON model"): the fields provisioning needs, panels with Prometheus targets. */
const DASHBOARD_SCHEMA = {
  type: "object",
  required: ["uid", "title", "panels", "schemaVersion", "templating", "time"],
  properties: {
    uid: { type: "string", pattern: "^[a-z0-9-]{1,40}$" },
    panels: {
      type: "array",
      minItems: 6,
      items: {
        type: "object",
        required: ["id", "type", "title", "gridPos", "datasource", "targets"],
        properties: {
          type: { enum: ["timeseries", "stat", "gauge", "table"] },
          gridPos: closed({ h: int, w: { type: "integer", minimum: 1, maximum: 24 }, x: { type: "integer", minimum: 0, maximum: 23 }, y: int }, ["h", "w", "x", "y"]),
          datasource: closed({ type: { const: "prometheus" }, uid: { const: PROMETHEUS_DATASOURCE_UID } }, ["type", "uid"]),
          targets: { type: "array", minItems: 1, items: { type: "object", required: ["refId", "expr"], properties: { expr: { type: "string", minLength: 3 } } } },
        },
      },
    },
  },
};

/** grafana.ini: sections and keys from Grafana's configuration docs that this project sets. */
const GRAFANA_INI_KEYS: Record<string, string[]> = {
  server: ["protocol", "http_addr", "http_port", "domain", "root_url", "serve_from_sub_path", "enforce_domain"],
  security: ["admin_user", "admin_password", "cookie_secure", "cookie_samesite", "disable_gravatar", "disable_initial_admin_creation"],
  users: ["allow_sign_up", "allow_org_create"],
  "auth.anonymous": ["enabled"],
  auth: ["disable_login_form"],
  analytics: ["reporting_enabled", "check_for_updates", "check_for_plugin_updates"],
  paths: ["provisioning"],
  log: ["mode"],
};

/** Validates documents (YAML/JSON text) against schemas with python3-jsonschema in the trixie chroot. */
function validate(docs: Array<{ name: string; text: string; schema: unknown }>) {
  const files: Record<string, string> = {};
  docs.forEach((d, i) => {
    files[`doc${i}.json`] = JSON.stringify(d.name.endsWith(".json") ? JSON.parse(d.text) : parse(d.text));
    files[`schema${i}.json`] = JSON.stringify(d.schema);
  });
  const py = `
import json, sys, jsonschema
bad = 0
for i in range(${docs.length}):
    doc = json.load(open(f"doc{i}.json")); schema = json.load(open(f"schema{i}.json"))
    for e in jsonschema.Draft7Validator(schema).iter_errors(doc):
        bad += 1; print(f"doc{i}: {'/'.join(map(str, e.path))}: {e.message}")
sys.exit(1 if bad else 0)
`;
  return runInTrixie(["python3", "-c", py], { files });
}

const datasources = renderGrafanaDatasources({ prometheusUrl: "http://10.0.1.51:9090", lokiUrl: "http://10.0.1.51:3100" });
const provider = renderGrafanaDashboardProvider("/var/lib/grafana/dashboards/senex");
const loki = renderLokiConfig({ listenAddress: "10.0.1.51", dataDirectory: "/loki", retentionDays: 30, schemaFrom: "2026-01-01" });

describe("Grafana / Loki / Alloy files against their documented schemas (no real consumer runs: AGPL or not in Debian)", () => {
  it("Grafana datasource + dashboard provider provisioning, Loki config and the three bundled dashboards validate (python3-jsonschema)", () => {
    const r = validate([
      { name: "datasources.yaml", text: datasources, schema: DATASOURCES_SCHEMA },
      { name: "providers.yaml", text: provider, schema: PROVIDERS_SCHEMA },
      { name: "loki.yaml", text: loki, schema: LOKI_SCHEMA },
      ...Object.entries(bundledDashboards()).map(([name, text]) => ({ name, text, schema: DASHBOARD_SCHEMA })),
    ]);
    expect(r.stdout).toBe("");
    expectExit(r, 0);
  });

  it("deliberately broken renders fail the schema check: a misspelled Loki key, a datasource without uid", () => {
    const r = validate([
      { name: "loki.yaml", text: loki.replace("retention_enabled:", "retention_enable:"), schema: LOKI_SCHEMA },
      { name: "datasources.yaml", text: datasources.replace(`uid: ${LOKI_DATASOURCE_UID}`, `uuid: ${LOKI_DATASOURCE_UID}`), schema: DATASOURCES_SCHEMA },
    ]);
    expectExit(r, 1);
    expect(r.stdout).toMatch(/doc0: compactor: Additional properties are not allowed \('retention_enable' was unexpected\)/);
    expect(r.stdout).toMatch(/doc1: datasources\/1: 'uid' is a required property/);
  });

  it("grafana.ini parses (python configparser) with only documented keys; sub-path and $__file admin password set", () => {
    const ini = renderGrafanaIni({ domain: "senex.example.com", listenAddress: "10.0.1.51", adminPasswordFile: "/run/secrets/senex-grafana-admin-password" });
    const py = `
import configparser, json, sys
c = configparser.ConfigParser(interpolation=None); c.read("grafana.ini")
allowed = json.loads(sys.argv[1]); bad = [f"{s}.{k}" for s in c.sections() for k in c[s] if s not in allowed or k not in allowed[s]]
print(json.dumps({"bad": bad, "root_url": c["server"]["root_url"], "sub": c["server"]["serve_from_sub_path"], "pw": c["security"]["admin_password"], "anon": c["auth.anonymous"]["enabled"]}))
`;
    const r = runInTrixie(["python3", "-c", py, JSON.stringify(GRAFANA_INI_KEYS)], { files: { "grafana.ini": ini } });
    expectExit(r, 0);
    expect(JSON.parse(r.stdout)).toEqual({ bad: [], root_url: "https://senex.example.com/grafana/", sub: "true", pw: "$__file{/run/secrets/senex-grafana-admin-password}", anon: "false" });
  });
});

/**
 * Alloy's documented syntax, checked structurally: blocks `name "label" { … }` and attributes
 * `key = value`, balanced braces/brackets, known components with their documented required
 * arguments, and every reference naming a declared component's export.
 */
function alloyProblems(text: string): string[] {
  const problems: string[] = [];
  // Strings first (a URL holds "//"), then comments.
  const src = text.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\/\/.*$/gm, "");
  let depth = 0;
  for (const ch of src) {
    if ("{[(".includes(ch)) depth++;
    if ("}])".includes(ch)) depth--;
    if (depth < 0) problems.push("unbalanced closing bracket");
  }
  if (depth !== 0) problems.push("unbalanced brackets");
  const REQUIRED: Record<string, { args: string[]; exports: string[] }> = {
    "loki.write": { args: ["endpoint"], exports: ["receiver"] },
    "loki.relabel": { args: ["forward_to"], exports: ["receiver", "rules"] },
    "loki.source.journal": { args: ["forward_to"], exports: [] },
    "local.file_match": { args: ["path_targets"], exports: ["targets"] },
    "loki.source.file": { args: ["targets", "forward_to"], exports: [] },
  };
  const declared = new Map<string, string>();
  const top = /^([a-z_.]+) "([a-z0-9_]+)" \{\n([\s\S]*?)^\}/gm;
  for (const m of text.matchAll(top)) {
    const [, component, label, body] = m as unknown as [string, string, string, string];
    const known = REQUIRED[component];
    if (!known) { problems.push(`unknown component ${component}`); continue; }
    declared.set(`${component}.${label}`, component);
    for (const arg of known.args) if (!new RegExp(`^  ${arg}( =| \\{)`, "m").test(body)) problems.push(`${component}.${label}: missing ${arg}`);
  }
  for (const m of src.matchAll(/= \[?((?:loki|local)\.[a-z_.]+)/g)) {
    const ref = m[1]!;
    const owner = [...declared.keys()].find((k) => ref.startsWith(k + "."));
    const exportName = owner ? ref.slice(owner.length + 1) : "";
    if (!owner || !REQUIRED[declared.get(owner)!]!.exports.includes(exportName)) problems.push(`unresolved reference ${ref}`);
  }
  return problems;
}

describe("Grafana Alloy config: structural check of its documented syntax (no real consumer runs: Alloy is not in Debian)", () => {
  const alloy = renderAlloyConfig({ lokiPushUrl: "http://10.0.1.51:3100/loki/api/v1/push", host: "web-1", role: "web", containerLogGlobs: ["/home/senex/.local/share/containers/storage/overlay-containers/*/userdata/ctr.log"] });

  it("known components with their required arguments, balanced blocks, every reference resolves", () => {
    expect(alloyProblems(alloy)).toEqual([]);
    expect(alloy).toMatch(/loki\.source\.journal "system" \{[\s\S]*forward_to = \[loki\.write\.default\.receiver\]/);
  });

  it("a deliberately broken render fails the check: a dangling reference, an unbalanced block", () => {
    expect(alloyProblems(alloy.replace("loki.relabel.journal.rules", "loki.relabel.journals.rules"))).toContain("unresolved reference loki.relabel.journals.rules");
    expect(alloyProblems(alloy.replace(/\}\n$/, "\n"))).toContain("unbalanced brackets");
  });
});
