import { renderAcmeScript, renderAcmeUnits } from "../../../render/acme";
import { renderNginxConf, type NginxSpec } from "../../../render/nginx";
import { acmeSpec, defaultInput, deployment, nginxSpec, type Phase } from "./phase-hosts";

const base: NginxSpec = {
  domain: "senextrader.test",
  upstreams: [
    { address: "10.0.1.10", port: 8001 },
    { address: "10.0.1.10", port: 8002 },
  ],
  realIp: { mode: "direct" },
};

/** The body of the first block whose header line matches, e.g. `location /ws/`. */
function block(conf: string, header: RegExp): string {
  const lines = conf.split("\n");
  const start = lines.findIndex((l) => l.trim().endsWith(" {") && header.test(l.trim().slice(0, -2)));
  if (start < 0) throw new Error(`no block ${header}`);
  let depth = 0;
  const body: string[] = [];
  for (const line of lines.slice(start)) {
    depth += (line.match(/{/g) ?? []).length - (line.match(/}/g) ?? []).length;
    body.push(line);
    if (depth === 0) break;
  }
  return body.join("\n");
}

describe("renderNginxConf", () => {
  it.each<Phase>([1, 2, 3])("phase %i web-1 nginx.conf matches the snapshot", (phase) => {
    const d = deployment(defaultInput(phase));
    expect(renderNginxConf(nginxSpec(d, d.hosts[0]!))).toMatchSnapshot();
  });

  it("redirects HTTP to HTTPS except the ACME challenge path", () => {
    const conf = renderNginxConf(base);
    const http = block(conf, /^server$/);
    expect(http).toMatch(/listen 80;/);
    expect(http).toMatch(/location \^~ \/\.well-known\/acme-challenge\/ {\n\s+root \/srv\/acme;/);
    expect(http).toMatch(/location \/ {\n\s+return 301 https:\/\/\$host\$request_uri;/);
  });

  it("sets HSTS, modern TLS only, and proxies to every daphne instance with passive health", () => {
    const conf = renderNginxConf(base);
    expect(conf).toContain('add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;');
    expect(conf).toContain("ssl_protocols TLSv1.2 TLSv1.3;");
    expect(conf).not.toMatch(/TLSv1(\.1)?[ ;]/);
    const upstream = block(conf, /^upstream senex_daphne$/);
    expect(upstream).toContain("server 10.0.1.10:8001 max_fails=3 fail_timeout=10s;");
    expect(upstream).toContain("server 10.0.1.10:8002 max_fails=3 fail_timeout=10s;");
  });

  it("upgrades WebSockets on /ws/ only for the domain's origins", () => {
    const conf = renderNginxConf(base);
    const origins = block(conf, /^map \$http_origin \$senex_ws_origin_allowed$/);
    expect(origins).toContain("default 0;");
    expect(origins).toContain('"https://senextrader.test" 1;');
    expect(origins).toContain('"https://www.senextrader.test" 1;');
    expect(origins.match(/ 1;/g)).toHaveLength(2);
    const ws = block(conf, /^location \/ws\/$/);
    expect(ws).toMatch(/if \(\$senex_ws_origin_allowed = 0\) {\n\s+return 403;/);
    expect(ws).toContain("proxy_set_header Upgrade $http_upgrade;");
    expect(ws).toContain("proxy_set_header Connection $connection_upgrade;");
  });

  it("rate-limits on the client address and never forwards a client-supplied X-Forwarded-For", () => {
    const conf = renderNginxConf({ ...base, rateLimit: { perSecond: 7, burst: 3 } });
    expect(conf).toContain("limit_req_zone $binary_remote_addr zone=senex_req:10m rate=7r/s;");
    expect(conf).toContain("limit_req zone=senex_req burst=3 nodelay;");
    expect(conf).toContain("proxy_set_header X-Forwarded-For $remote_addr;");
    expect(conf).not.toContain("$proxy_add_x_forwarded_for");
    expect(conf).not.toContain("proxy_protocol");
  });

  it("behind the phase-3 load balancer takes the client address from PROXY protocol, trusting only the LB", () => {
    const conf = renderNginxConf({ ...base, realIp: { mode: "proxy-protocol", trustedFrom: ["10.0.1.2"] } });
    expect(conf).toContain("set_real_ip_from 10.0.1.2;");
    expect(conf).toContain("real_ip_header proxy_protocol;");
    expect(conf.match(/listen (\[::\]:)?(80|443)[^;]*;/g)!.every((l) => l.includes("proxy_protocol"))).toBe(true);
  });

  it("behind a TLS-terminating load balancer serves the app on port 80 to the LB (no redirect loop, no 443)", () => {
    const conf = renderNginxConf({ ...base, realIp: { mode: "tls-offload", trustedFrom: ["10.0.1.2"], clientAddressFrom: "x-forwarded-for" } });
    expect(conf).not.toMatch(/listen [^;]*443/);
    expect(conf).not.toContain("return 301");
    expect(conf).not.toContain("ssl_certificate");
    expect(conf).toContain("listen 80 default_server;");
    expect(conf).toContain("set_real_ip_from 10.0.1.2;");
    expect(conf).toContain("real_ip_header X-Forwarded-For;");
    expect(conf).toContain("real_ip_recursive on;");
    expect(block(conf, /^location = \/lb-health$/)).toContain("proxy_pass http://senex_daphne/health/;");
    expect(conf).toContain('add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;');
    const pp = renderNginxConf({ ...base, realIp: { mode: "tls-offload", trustedFrom: ["10.0.1.2"], clientAddressFrom: "proxy-protocol" } });
    expect(pp).toContain("listen 80 default_server proxy_protocol;");
    expect(pp).toContain("real_ip_header proxy_protocol;");
  });

  it("serves Grafana under /grafana/ with a strict login rate limit only when configured", () => {
    expect(renderNginxConf(base)).not.toContain("grafana");
    const conf = renderNginxConf({ ...base, grafana: { address: "10.0.1.50", port: 3000 } });
    expect(block(conf, /^upstream senex_grafana$/)).toContain("server 10.0.1.50:3000");
    expect(block(conf, /^location = \/grafana\/login$/)).toContain("limit_req zone=senex_login");
  });

  it("listens on IPv6 too unless turned off", () => {
    expect(renderNginxConf(base).match(/listen \[::\]:/g)).toHaveLength(4);
    expect(renderNginxConf({ ...base, ipv6: false })).not.toContain("[::]");
  });

  it("serves static files with body and timeout limits", () => {
    const conf = renderNginxConf({ ...base, clientMaxBodySize: "25m" });
    expect(block(conf, /^location \/static\/$/)).toContain("alias /srv/static/;");
    expect(conf).toContain("client_max_body_size 25m;");
    expect(conf).toMatch(/location \/ {\n\s+proxy_pass http:\/\/senex_daphne;[^}]*proxy_read_timeout 60s;/);
  });

  it.each<[Partial<NginxSpec>, RegExp]>([
    [{ domain: "Senex Trader" }, /`domain`/],
    [{ upstreams: [] }, /at least one Daphne/],
    [{ upstreams: [{ address: "10.0.0.1; evil", port: 8001 }] }, /not an IP address/],
    [{ upstreams: [{ address: "10.0.0.1", port: 8001 }, { address: "10.0.0.1", port: 8001 }] }, /listed twice/],
    [{ wsPaths: ["/ws"] }, /must end with \//],
    [{ staticRoot: "/srv/static; root /" }, /plain characters/],
    [{ realIp: { mode: "proxy-protocol", trustedFrom: [] } }, /load balancer address/],
    [{ realIp: { mode: "tls-offload", trustedFrom: ["lb.example"], clientAddressFrom: "x-forwarded-for" } }, /not an address or CIDR/],
    [{ clientMaxBodySize: "lots" }, /clientMaxBodySize/],
  ])("rejects %j", (override, message) => {
    expect(() => renderNginxConf({ ...base, ...override })).toThrow(message);
  });
});

describe("ACME (lego) renderers", () => {
  const spec = acmeSpec(deployment(defaultInput(1)));

  it("issues with HTTP-01 through the webroot nginx serves, then renews, and reloads nginx on change", () => {
    const script = renderAcmeScript(spec);
    expect(script).toContain("--http --http.webroot \"$webroot\"");
    expect(script).toContain("--server https://acme-v02.api.letsencrypt.org/directory");
    expect(script).toMatch(/lego "\$\{lego_args\[@\]\}" run\n/);
    expect(script).toMatch(/lego "\$\{lego_args\[@\]\}" renew --days 30 --no-random-sleep/);
    expect(script).toContain('podman kill --signal HUP "$nginx_container"');
    expect(script).not.toContain("LEGO_CA_CERTIFICATES");
    expect(renderAcmeScript({ ...spec, caBundle: "/etc/senex/pebble.pem" })).toContain("export LEGO_CA_CERTIFICATES=/etc/senex/pebble.pem");
  });

  it("quotes a directory URL with shell metacharacters", () => {
    expect(renderAcmeScript({ ...spec, directoryUrl: "https://10.0.0.1:14000/dir?a=1&b=2" })).toContain("--server 'https://10.0.0.1:14000/dir?a=1&b=2'");
  });

  it("renders a renewal service and timer that wait for nginx", () => {
    const units = renderAcmeUnits(spec);
    expect(Object.keys(units).sort()).toEqual(["senex-acme.service", "senex-acme.timer"]);
    expect(units["senex-acme.service"]).toContain("ExecStart=/bin/bash /home/senex/.config/senex/acme/acme.sh renew");
    expect(units["senex-acme.service"]).toContain("After=senex-nginx.service");
    expect(units["senex-acme.timer"]).toContain("Persistent=true");
    expect(units["senex-acme.timer"]).toContain("WantedBy=timers.target");
  });

  it.each<[string, object]>([
    ["email", { email: "not an email" }],
    ["directoryUrl", { directoryUrl: "http://insecure.test/dir" }],
    ["webroot", { webroot: "relative/path" }],
  ])("rejects a bad %s", (key, override) => {
    expect(() => renderAcmeScript({ ...spec, ...override })).toThrow(new RegExp(`\`${key}\``));
  });
});
