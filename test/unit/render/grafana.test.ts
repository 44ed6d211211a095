import { parse } from "yaml";
import { bundledDashboards, PROMETHEUS_DATASOURCE_UID, renderGrafanaDashboardProvider, renderGrafanaDatasources, renderGrafanaIni } from "../../../render/grafana";

describe("Grafana provisioning", () => {
  it("datasources: Prometheus (default) and Loki with stable uids", () => {
    const doc = parse(renderGrafanaDatasources({ prometheusUrl: "http://10.0.1.51:9090/", lokiUrl: "http://10.0.1.51:3100" })) as { datasources: Array<Record<string, unknown>> };
    expect(doc.datasources.map((d) => [d.type, d.uid, d.url, d.isDefault])).toEqual([
      ["prometheus", "senex-prometheus", "http://10.0.1.51:9090", true],
      ["loki", "senex-loki", "http://10.0.1.51:3100", false],
    ]);
    expect(() => renderGrafanaDatasources({ prometheusUrl: "file:///etc/passwd" })).toThrow(/http/);
  });

  it("dashboard provider points at the bundled directory and forbids UI edits", () => {
    expect(renderGrafanaDashboardProvider("/var/lib/grafana/dashboards/senex")).toMatchSnapshot();
  });

  it("grafana.ini: served under /grafana/ behind nginx, no anonymous access or sign-up, password from a file", () => {
    const text = renderGrafanaIni({ domain: "senex.example.com", listenAddress: "10.0.1.51", adminPasswordFile: "/run/secrets/senex-grafana-admin-password" });
    expect(text).toMatchSnapshot();
    expect(text).toMatch(/^root_url = https:\/\/senex\.example\.com\/grafana\/$/m);
    expect(text).toMatch(/^serve_from_sub_path = true$/m);
    expect(text).toMatch(/^admin_password = \$__file\{\/run\/secrets\/senex-grafana-admin-password\}$/m);
    expect(text).toMatch(/\[auth\.anonymous\]\nenabled = false/);
    expect(() => renderGrafanaIni({ domain: "x.example", listenAddress: "10.0.0.1", adminPasswordFile: "/p", subPath: "grafana" })).toThrow(/subPath/);
  });
});

describe("bundled dashboards (the seeds' 17658, 9628, 11835, authored for this project)", () => {
  const dashboards = bundledDashboards();
  it("are named after the seeds' ids, have unique uids and panel ids, and query only our Prometheus datasource", () => {
    expect(Object.keys(dashboards)).toEqual(["django-17658.json", "postgresql-9628.json", "redis-11835.json"]);
    const uids = new Set<string>();
    for (const [file, text] of Object.entries(dashboards)) {
      const d = JSON.parse(text) as { uid: string; title: string; panels: Array<{ id: number; datasource: { uid: string }; targets: Array<{ expr: string; datasource: { uid: string } }> }> };
      const seed = /-(\d+)\.json$/.exec(file)![1]!;
      expect(d.uid).toContain(seed);
      expect(d.title).toContain(seed);
      uids.add(d.uid);
      expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
      for (const p of d.panels) {
        expect(p.datasource.uid).toBe(PROMETHEUS_DATASOURCE_UID);
        for (const t of p.targets) expect(t.datasource.uid).toBe(PROMETHEUS_DATASOURCE_UID);
      }
    }
    expect(uids.size).toBe(3);
  });

  it.each<[string, RegExp[]]>([
    ["django-17658.json", [/django_http_requests_total_by_view_transport_method_total/, /django_http_responses_total_by_status_total/, /django_http_requests_latency_seconds_by_view_method_bucket/]],
    ["postgresql-9628.json", [/pg_up/, /pg_stat_database_numbackends/, /pg_replication_lag_seconds/, /pg_stat_database_blks_hit/]],
    ["redis-11835.json", [/redis_memory_used_bytes/, /redis_key_size\{.*key=\\"celery\\"/, /redis_evicted_keys_total/, /redis_keyspace_hits_total/]],
  ])("%s covers the seeds' metrics", (file, patterns) => {
    for (const p of patterns) expect(dashboards[file]).toMatch(p);
  });
});
