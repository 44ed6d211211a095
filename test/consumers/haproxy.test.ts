/**
 * haproxy.cfg (load balancer of existing servers, phase 3) through haproxy itself, and end to end:
 * client → haproxy (TCP, PROXY v2) → nginx on a web host in its own network namespace (realIp
 * `proxy-protocol`, trusting only the balancer) → a stand-in daphne, which must see the client's
 * address, not the balancer's. Needs `haproxy` in the tools chroot (test/consumers/prepare.sh);
 * without it these tests are reported as skipped, never as passed.
 */
import { renderAcmeScript } from "../../render/acme";
import { renderHaproxyCfg } from "../../render/haproxy";
import { renderNginxConf } from "../../render/nginx";
import { runInTrixie } from "../support/trixie";
import { acmeSpec, defaultInput, deployment, nginxSpec } from "../unit/render/phase-hosts";

const hasHaproxy = runInTrixie(["sh", "-c", "command -v haproxy"]).code === 0;
const maybe = hasHaproxy ? it : it.skip;

const UPSTREAM_PY = `
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"xff": self.headers.get("X-Forwarded-For")}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
`;

describe("haproxy.cfg through haproxy", () => {
  maybe("haproxy -c accepts it; a broken one is refused", () => {
    const cfg = renderHaproxyCfg({ backends: [{ name: "web-1", address: "10.0.1.11" }, { name: "web-2", address: "10.0.1.12" }] });
    const ok = runInTrixie(["haproxy", "-c", "-f", "haproxy.cfg"], { files: { "haproxy.cfg": cfg } });
    expect(ok.code).toBe(0);
    const bad = runInTrixie(["haproxy", "-c", "-f", "haproxy.cfg"], { files: { "haproxy.cfg": cfg.replace("balance leastconn", "balance fewestconn") } });
    expect(bad.code).not.toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(/balance only supports/);
  });

  maybe("carries the client's address through haproxy and nginx (PROXY protocol) to the app", () => {
    const d = deployment(defaultInput(3));
    const web = d.hosts.find((h) => h.name === "web-1")!;
    const lb = "10.0.1.2";
    const upstream = nginxSpec(d, web).upstreams[0]!;
    const client = `
import http.client, json, socket, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
class TLS(http.client.HTTPSConnection):
    def connect(self):
        self.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", 443), 5), server_hostname=sys.argv[1])
c = TLS("127.0.0.1", 443, timeout=5); c.request("GET", "/health/", headers={"Host": sys.argv[1], "X-Forwarded-For": "6.6.6.6"}); r = c.getresponse()
print(json.dumps({"status": r.status, "body": r.read().decode()}))
`;
    const r = runInTrixie(
      (dir) => {
        const conf = renderNginxConf({
          ...nginxSpec(d, web),
          upstreams: [upstream],
          ipv6: false,
          realIp: { mode: "proxy-protocol", trustedFrom: [lb] },
          tls: { certificate: `${dir}/tls/fullchain.pem`, key: `${dir}/tls/privkey.pem` },
          acmeWebroot: `${dir}/webroot`,
          staticRoot: `${dir}/static`,
        });
        const acme = renderAcmeScript({ ...acmeSpec(d), webroot: `${dir}/webroot`, tlsDir: `${dir}/tls`, legoPath: `${dir}/lego`, scriptPath: `${dir}/acme.sh` });
        const cfg = renderHaproxyCfg({ backends: [{ name: "web-1", address: web.privateAddress }], ipv6: false });
        return [
          "sh",
          "-c",
          [
            `cat > nginx.conf <<'EOF'\n${conf}EOF`,
            `cat > acme.sh <<'EOF'\n${acme}EOF`,
            `cat > haproxy.cfg <<'EOF'\n${cfg}EOF`,
            "set -e",
            // the web host in its own network namespace, joined to the balancer's by a veth pair
            "unshare --net sleep 60 & web=$!",
            "sleep 0.3",
            "ip link add v0 type veth peer name v1 netns $web",
            `ip addr add ${lb}/24 dev v0 && ip link set v0 up`,
            `nsenter -t $web -n ip addr add ${web.privateAddress}/24 dev v1`,
            "nsenter -t $web -n ip link set v1 up && nsenter -t $web -n ip link set lo up",
            "bash acme.sh placeholder",
            `nsenter -t $web -n python3 upstream.py ${upstream.address} ${upstream.port} & sleep 0.5`,
            `nsenter -t $web -n nginx -c ${dir}/nginx.conf >nginx.out`,
            "haproxy -D -f haproxy.cfg -p /tmp/haproxy.pid >haproxy.out 2>&1 || { cat haproxy.out >&2; exit 1; }",
            "sleep 1.5",
            `python3 client.py ${d.input.domain}`,
          ].join("\n"),
        ];
      },
      { files: { "upstream.py": UPSTREAM_PY, "client.py": client }, timeoutMs: 60_000 },
    );
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
    expect(out.status).toBe(200);
    // the client's own address (it connected from the loopback), neither the balancer's nor the injected header
    expect(JSON.parse(out.body)).toEqual({ xff: "127.0.0.1" });
  });
});
