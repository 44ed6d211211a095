import { parse } from "yaml";
import { alloyText, alloyValue, renderAlloyConfig } from "../../../render/alloy";
import { renderLokiConfig } from "../../../render/loki";

describe("renderLokiConfig", () => {
  const spec = { listenAddress: "10.0.1.51", dataDirectory: "/loki", retentionDays: 30, schemaFrom: "2026-01-01" };
  it("single binary on the filesystem with retention by the compactor", () => {
    const text = renderLokiConfig(spec);
    expect(text).toMatchSnapshot();
    const doc = parse(text) as { limits_config: { retention_period: string }; compactor: { retention_enabled: boolean }; auth_enabled: boolean };
    expect(doc.limits_config.retention_period).toBe("720h");
    expect(doc.compactor.retention_enabled).toBe(true);
    expect(doc.auth_enabled).toBe(false);
  });
  it("rejects a bad schema date and zero retention", () => {
    expect(() => renderLokiConfig({ ...spec, schemaFrom: "2026/01/01" })).toThrow(/schemaFrom/);
    expect(() => renderLokiConfig({ ...spec, retentionDays: 0 })).toThrow(/retentionDays/);
  });
});

describe("Alloy serializer and config", () => {
  it("escapes strings, emits references bare, nests objects", () => {
    expect(alloyValue('a "b" \\ c\n')).toBe('"a \\"b\\" \\\\ c\\n"');
    expect(alloyValue({ ref: "loki.write.default.receiver" })).toBe("loki.write.default.receiver");
    expect(alloyValue([{ ref: "a.b" }, "x"])).toBe('[a.b, "x"]');
    expect(alloyValue({ host: "web-1", "odd-key": 1 })).toBe('{\n  host = "web-1",\n  "odd-key" = 1,\n}');
    expect(() => alloyValue({ ref: "not a ref" })).toThrow(/reference/);
    expect(() => alloyText([{ block: "loki.write", label: "x", body: [["bad key", 1]] }])).toThrow(/attribute/);
  });

  it("ships the journal (system + rootless containers) to Loki with host/role labels", () => {
    const text = renderAlloyConfig({ lokiPushUrl: "http://10.0.1.51:3100/loki/api/v1/push", host: "worker-1", role: "worker" });
    expect(text).toMatchSnapshot();
    expect(text).toMatch(/__journal_container_name/);
    expect(text).toMatch(/external_labels = \{\n    host = "worker-1",\n    role = "worker",\n  \}/);
    expect(() => renderAlloyConfig({ lokiPushUrl: "ftp://x/", host: "a", role: "b" })).toThrow(/http/);
  });
});
