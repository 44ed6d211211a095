import { renderHaproxyCfg, type HaproxySpec } from "../../../render/haproxy";
import * as path from "path";
import { parseStackConfig } from "../../../config/schema";
import { rawConfigFromStackFile } from "../../../plan/stackFile";
import { buildTopology } from "../../../topology";
import { hostFirewall } from "../../../topology/firewall";
import { renderHostQuadlets } from "../../../render/quadlet-host";

const spec: HaproxySpec = {
  backends: [
    { name: "web-1", address: "10.0.1.11" },
    { name: "web-2", address: "10.0.1.12" },
  ],
};

describe("renderHaproxyCfg", () => {
  it("matches the snapshot", () => {
    expect(renderHaproxyCfg(spec)).toMatchSnapshot();
  });

  it("passes TLS through in TCP mode and sends PROXY v2 to every web host, health checks included", () => {
    const cfg = renderHaproxyCfg(spec);
    expect(cfg).toContain("    mode tcp\n");
    expect(cfg).not.toMatch(/\bssl\b|crt /);
    for (const port of [80, 443]) {
      for (const b of spec.backends) expect(cfg).toContain(`    server ${b.name} ${b.address}:${port} check inter 5s fall 3 rise 2 send-proxy-v2 check-send-proxy\n`);
    }
    expect(cfg).toMatch(/backend senex_web_https\n    balance leastconn/);
    expect(cfg).toContain("    timeout tunnel 1h\n");
  });

  it("sets maxconn only when asked (haproxy otherwise fits it to its open-files limit)", () => {
    expect(renderHaproxyCfg(spec)).not.toContain("maxconn");
    expect(renderHaproxyCfg({ ...spec, maxConnections: 5000 })).toContain("    maxconn 5000\n");
  });

  it("binds IPv6 unless turned off, and a given address", () => {
    expect(renderHaproxyCfg(spec)).toContain("    bind :::443 v6only\n");
    const cfg = renderHaproxyCfg({ ...spec, ipv6: false, bindAddress: "203.0.113.5" });
    expect(cfg).not.toContain(":::");
    expect(cfg).toContain("    bind 203.0.113.5:443\n");
  });

  it.each<[Partial<HaproxySpec>, RegExp]>([
    [{ backends: [] }, /at least one web host/],
    [{ backends: [{ name: "web 1", address: "10.0.0.1" }] }, /not a plain name/],
    [{ backends: [{ name: "w", address: "10.0.0.1; x" }] }, /not an IP address/],
    [{ backends: [{ name: "w", address: "10.0.0.1" }, { name: "w", address: "10.0.0.2" }] }, /listed twice/],
  ])("rejects %j", (override, message) => {
    expect(() => renderHaproxyCfg({ ...spec, ...override })).toThrow(message);
  });

  it("its Quadlet runs on the host network with the config mounted, and its host's firewall opens 80/443 publicly", () => {
    const host = { name: "lb-1", privateAddress: "10.0.1.2", services: [{ kind: "haproxy", image: "r.test/haproxy:3.0" } as const] };
    const files = renderHostQuadlets({ host: "lb-1", privateAddress: "10.0.1.2", configRoot: "/c", stateRoot: "/s", services: host.services });
    expect(files["senex-haproxy.container"]).toContain("Network=host\n");
    expect(files["senex-haproxy.container"]).toContain("Volume=/c/haproxy:/etc/senex/haproxy:ro\n");
    expect(files["senex-haproxy.container"]).toContain("Exec=haproxy -W -db -f /etc/senex/haproxy/haproxy.cfg\n");
    // The lb host of the existing-servers example: public 80/443; privately only its node exporter, to Prometheus.
    const config = parseStackConfig(rawConfigFromStackFile(path.resolve(__dirname, "../../../examples/Pulumi.existing-phase3.yaml")), "senex-infra", "existing-phase3");
    const topology = buildTopology(config);
    const lb = topology.hosts.find((h) => h.services.some((s) => s.kind === "haproxy"))!;
    const monitoring = topology.hosts.find((h) => h.name === topology.monitoringHost)!;
    expect(hostFirewall(config, topology, lb)).toMatchObject({ publicHttp: true, privatePorts: [{ port: 9100, service: "node-exporter", from: [monitoring.privateAddress] }] });
  });
});
