/**
 * nginx.conf and the ACME (lego) script/units through their real consumers in the trixie chroot:
 * the ACME script's `placeholder` step makes the self-signed certificate nginx starts with, then
 * `nginx -t` accepts the conf of every phase; one conf is run for real on the call's private
 * loopback in front of a stand-in upstream, and requests prove the redirect, the ACME path, HSTS,
 * the WebSocket Origin allow-list, the real client address and static files.
 * (lego itself is not in the tools chroot; its flags were checked against Debian's lego 4.9 `--help`.)
 */
import { renderAcmeScript, renderAcmeUnits, type AcmeSpec } from "../../render/acme";
import { renderNginxConf, type NginxSpec } from "../../render/nginx";
import { runInTrixie } from "../support/trixie";
import { acmeSpec, defaultInput, deployment, nginxSpec, type Phase } from "../unit/render/phase-hosts";

/** The ACME spec with every path inside the call's working directory. */
function acmeIn(dir: string, base: AcmeSpec): AcmeSpec {
  return { ...base, webroot: `${dir}/webroot`, tlsDir: `${dir}/tls`, legoPath: `${dir}/lego`, scriptPath: `${dir}/acme.sh` };
}

function nginxIn(dir: string, base: NginxSpec): NginxSpec {
  return { ...base, tls: { certificate: `${dir}/tls/fullchain.pem`, key: `${dir}/tls/privkey.pem` }, acmeWebroot: `${dir}/webroot`, staticRoot: `${dir}/static` };
}

const webHosts = ([1, 2, 3] as Phase[]).flatMap((phase) => {
  const d = deployment(defaultInput(phase));
  return d.hosts.filter((h) => h.publicHttp).map((h) => [phase, h.name, d, h] as const);
});

describe("nginx.conf through nginx -t (certificate from the ACME script's placeholder step)", () => {
  it.each(webHosts)("phase %i %s", (_phase, _name, d, host) => {
    const r = runInTrixie((dir) => {
      const conf = renderNginxConf(nginxIn(dir, nginxSpec(d, host)));
      const script = renderAcmeScript(acmeIn(dir, acmeSpec(d)));
      return ["sh", "-c", `cat > nginx.conf <<'EOF'\n${conf}EOF\ncat > acme.sh <<'EOF'\n${script}EOF\nset -e\nbash acme.sh placeholder\nnginx -t -c ${dir}/nginx.conf >nginx.out`];
    });
    expect(r.stderr).toMatch(/syntax is ok[\s\S]*test is successful/);
    expect(r.code).toBe(0);
  });

  it("a broken conf fails nginx -t (the check can fail)", () => {
    const d = deployment(defaultInput(1));
    const r = runInTrixie((dir) => {
      const conf = renderNginxConf(nginxIn(dir, nginxSpec(d, d.hosts[0]!))).replace("limit_req_status 429;", "limit_req_status 429");
      const script = renderAcmeScript(acmeIn(dir, acmeSpec(d)));
      return ["sh", "-c", `cat > nginx.conf <<'EOF'\n${conf}EOF\ncat > acme.sh <<'EOF'\n${script}EOF\nbash acme.sh placeholder\nnginx -t -c ${dir}/nginx.conf >nginx.out`];
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/emerg/);
  });
});

/** Stand-in upstream (Daphne's place) and the client that checks nginx's behaviour. */
const UPSTREAM_PY = `
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path, "xff": self.headers.get("X-Forwarded-For"), "proto": self.headers.get("X-Forwarded-Proto"), "upgrade": self.headers.get("Upgrade")}).encode()
        self.send_response(200); self.send_header("X-Upstream", "daphne"); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
`;

const CLIENT_PY = `
import http.client, json, socket, ssl, sys
domain = sys.argv[1]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
class TLS(http.client.HTTPSConnection):
    # connect to the loopback but present the domain as SNI, as a browser would
    def connect(self):
        self.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", 443), 5), server_hostname=domain)
def req(tls, path, headers=None, host=domain):
    c = TLS("127.0.0.1", 443, timeout=5) if tls else http.client.HTTPConnection("127.0.0.1", 80, timeout=5)
    h = {"Host": host}; h.update(headers or {})
    c.request("GET", path, headers=h); r = c.getresponse(); body = r.read().decode(errors="replace")
    return {"status": r.status, "headers": {k.lower(): v for k, v in r.getheaders()}, "body": body}
def sni(name):
    try:
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", 443), timeout=5), server_hostname=name); s.close(); return "accepted"
    except ssl.SSLError as e:
        return "refused"
ws = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
out = {
  "redirect": req(False, "/positions/?a=1"),
  "acme": req(False, "/.well-known/acme-challenge/tok123"),
  "health": req(True, "/health/", {"X-Forwarded-For": "6.6.6.6"}),
  "wsForeign": req(True, "/ws/stream/", dict(ws, Origin="https://evil.test")),
  "wsNoOrigin": req(True, "/ws/stream/", ws),
  "wsAllowed": req(True, "/ws/stream/", dict(ws, Origin="https://www." + domain)),
  "static": req(True, "/static/app.css"),
  "sniOther": sni("other.test"),
  "sniOurs": sni(domain),
}
print(json.dumps(out))
`;

describe("nginx running the rendered conf (private loopback of the call)", () => {
  it("redirects, serves ACME and static files, sets HSTS, passes the real client address, and enforces the WS Origin allow-list", () => {
    const d = deployment(defaultInput(1));
    const host = d.hosts[0]!;
    const upstream = nginxSpec(d, host).upstreams[0]!;
    const r = runInTrixie((dir) => {
      const conf = renderNginxConf({ ...nginxIn(dir, nginxSpec(d, host)), upstreams: [upstream] });
      const script = renderAcmeScript(acmeIn(dir, acmeSpec(d)));
      return [
        "sh",
        "-c",
        [
          `cat > nginx.conf <<'EOF'\n${conf}EOF`,
          `cat > acme.sh <<'EOF'\n${script}EOF`,
          "set -e",
          `ip addr add ${upstream.address}/32 dev lo`,
          "bash acme.sh placeholder",
          "mkdir -p static && printf 'body{}' > static/app.css && chmod -R a+rX static webroot",
          "printf tok123-content > webroot/.well-known/acme-challenge/tok123",
          `python3 upstream.py ${upstream.address} ${upstream.port} & sleep 0.5`,
          // stdout as the container has it (a pipe/file): the access log goes there
          `nginx -c ${dir}/nginx.conf >nginx.out`,
          "sleep 0.5",
          `python3 client.py ${d.input.domain}`,
        ].join("\n"),
      ];
    }, { files: { "upstream.py": UPSTREAM_PY, "client.py": CLIENT_PY }, timeoutMs: 60_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!);

    expect(out.redirect.status).toBe(301);
    expect(out.redirect.headers.location).toBe(`https://${d.input.domain}/positions/?a=1`);
    expect(out.acme).toMatchObject({ status: 200, body: "tok123-content" });

    expect(out.health.status).toBe(200);
    expect(out.health.headers["x-upstream"]).toBe("daphne");
    expect(out.health.headers["strict-transport-security"]).toBe("max-age=63072000; includeSubDomains");
    const seen = JSON.parse(out.health.body);
    // the client's own address, not the X-Forwarded-For it tried to inject
    expect(seen).toMatchObject({ xff: "127.0.0.1", proto: "https" });

    expect(out.wsForeign.status).toBe(403);
    expect(out.wsNoOrigin.status).toBe(403);
    expect(out.wsAllowed.headers["x-upstream"]).toBe("daphne");
    expect(JSON.parse(out.wsAllowed.body).upgrade).toBe("websocket");

    expect(out.static).toMatchObject({ status: 200, body: "body{}" });
    expect(out.static.headers["strict-transport-security"]).toBeDefined();
    expect(out.sniOther).toBe("refused");
    expect(out.sniOurs).toBe("accepted");
  });
});

describe("nginx behind a TLS-terminating load balancer (tls-offload)", () => {
  it.each(["proxy-protocol", "x-forwarded-for"] as const)("nginx -t accepts the %s variant", (clientAddressFrom) => {
    const d = deployment(defaultInput(3));
    const r = runInTrixie((dir) => {
      const conf = renderNginxConf({ ...nginxIn(dir, nginxSpec(d, d.hosts[0]!)), realIp: { mode: "tls-offload", trustedFrom: ["10.0.1.2"], clientAddressFrom } });
      return ["sh", "-c", `cat > nginx.conf <<'EOF'\n${conf}EOF\nnginx -t -c ${dir}/nginx.conf >nginx.out`];
    });
    expect(r.stderr).toMatch(/test is successful/);
    expect(r.code).toBe(0);
  });

  it("serves the app on port 80 to the LB, takes the client address from the LB's X-Forwarded-For, and answers the LB health check", () => {
    const d = deployment(defaultInput(3));
    const host = d.hosts[0]!;
    const upstream = nginxSpec(d, host).upstreams[0]!;
    const client = `
import http.client, json
def get(path, headers):
    c = http.client.HTTPConnection("127.0.0.1", 80, timeout=5); c.request("GET", path, headers=headers); r = c.getresponse()
    return {"status": r.status, "body": r.read().decode(), "hsts": r.getheader("Strict-Transport-Security")}
print(json.dumps({
  # the LB appends the address it saw; a client's own X-Forwarded-For entry comes first and is ignored
  "app": get("/positions/", {"Host": "${d.input.domain}", "X-Forwarded-For": "6.6.6.6, 203.0.113.7", "X-Forwarded-Proto": "https"}),
  "health": get("/lb-health", {"Host": "10.0.1.11"}),
}))
`;
    const r = runInTrixie((dir) => {
      const conf = renderNginxConf({ ...nginxIn(dir, nginxSpec(d, host)), upstreams: [upstream], realIp: { mode: "tls-offload", trustedFrom: ["127.0.0.1"], clientAddressFrom: "x-forwarded-for" } });
      return [
        "sh",
        "-c",
        [
          `cat > nginx.conf <<'EOF'\n${conf}EOF`,
          "set -e",
          `ip addr add ${upstream.address}/32 dev lo`,
          "mkdir -p static webroot && chmod a+rX static webroot",
          `python3 upstream.py ${upstream.address} ${upstream.port} & sleep 0.5`,
          `nginx -c ${dir}/nginx.conf >nginx.out`,
          "sleep 0.5",
          "python3 client.py",
        ].join("\n"),
      ];
    }, { files: { "upstream.py": UPSTREAM_PY, "client.py": client }, timeoutMs: 60_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
    expect(out.app.status).toBe(200);
    expect(JSON.parse(out.app.body)).toMatchObject({ path: "/positions/", xff: "203.0.113.7", proto: "https" });
    expect(out.app.hsts).toBe("max-age=63072000; includeSubDomains");
    expect(out.health.status).toBe(200);
    expect(JSON.parse(out.health.body).path).toBe("/health/");
  });
});

describe("ACME script and renewal units", () => {
  it("the script passes shellcheck and its units pass systemd-analyze verify --user", () => {
    const d = deployment(defaultInput(1));
    const units = renderAcmeUnits(acmeSpec(d));
    const r = runInTrixie(["sh", "-c", "shellcheck -S style acme.sh && systemd-analyze verify --user --man=no --generators=no senex-acme.service senex-acme.timer"], {
      files: { "acme.sh": renderAcmeScript({ ...acmeSpec(d), caBundle: "/etc/senex/ca.pem" }), ...units },
    });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("placeholder is idempotent and deploy swaps in lego's certificate atomically", () => {
    const d = deployment(defaultInput(1));
    const r = runInTrixie((dir) => {
      const script = renderAcmeScript(acmeIn(dir, acmeSpec(d)));
      return [
        "sh",
        "-c",
        [
          `cat > acme.sh <<'EOF'\n${script}EOF`,
          "set -e",
          "bash acme.sh placeholder && first=$(sha256sum tls/fullchain.pem)",
          "bash acme.sh placeholder && test \"$first\" = \"$(sha256sum tls/fullchain.pem)\" && echo placeholder-kept",
          `mkdir -p lego/certificates && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 90 -subj /CN=${d.input.domain} -keyout lego/certificates/${d.input.domain}.key -out lego/certificates/${d.input.domain}.crt 2>/dev/null`,
          "bash acme.sh deploy",
          `cmp lego/certificates/${d.input.domain}.crt tls/fullchain.pem && cmp lego/certificates/${d.input.domain}.key tls/privkey.pem && echo deployed`,
          "stat -c %a tls/privkey.pem",
        ].join("\n"),
      ];
    });
    expect(r.stdout.split("\n")).toEqual(["placeholder-kept", "deployed", "600", ""]);
    expect(r.code).toBe(0);
  });

  it("shellcheck fails a broken script (the check can fail)", () => {
    const d = deployment(defaultInput(1));
    const broken = renderAcmeScript(acmeSpec(d)).replace('lego "${lego_args[@]}" run', "lego ${lego_args[@]} run");
    expect(broken).toContain("lego ${lego_args[@]} run");
    const r = runInTrixie(["shellcheck", "acme.sh"], { files: { "acme.sh": broken } });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/SC2068/);
  });
});

/**
 * The whole ACME path for real: pebble (Debian's ACME test server) resolves the domain to the
 * loopback through pebble-challtestsrv's DNS, lego (called by the rendered script) answers HTTP-01
 * through the webroot the rendered nginx serves, the script deploys the certificate, nginx serves
 * it after SIGHUP, and a second run renews nothing. Needs `lego` and `pebble` in the tools chroot
 * (test/consumers/prepare.sh); without them this test is reported as skipped, never as passed.
 */
const acmeTools = runInTrixie(["sh", "-c", "command -v lego && command -v pebble && command -v pebble-challtestsrv"]).code === 0;
describe("ACME issuance through nginx, lego and pebble", () => {
  (acmeTools ? it : it.skip)("issues a certificate over HTTP-01, deploys it to nginx, and a second run renews nothing", () => {
    const d = deployment(defaultInput(1));
    const domain = d.input.domain;
    const r = runInTrixie(
      (dir) => {
        const acme = { ...acmeIn(dir, acmeSpec(d)), directoryUrl: "https://127.0.0.1:14000/dir", caBundle: `${dir}/ca.pem` };
        const conf = renderNginxConf({ ...nginxIn(dir, nginxSpec(d, d.hosts[0]!)), upstreams: [{ address: "127.0.0.1", port: 8001 }] });
        const pebble = { pebble: { listenAddress: "127.0.0.1:14000", managementListenAddress: "127.0.0.1:15000", certificate: `${dir}/pebble-cert.pem`, privateKey: `${dir}/pebble-key.pem`, httpPort: 80, tlsPort: 5001, ocspResponderURL: "", externalAccountBindingRequired: false } };
        return [
          "bash",
          "-c",
          [
            `cat > acme.sh <<'EOF'\n${renderAcmeScript(acme)}EOF`,
            `cat > nginx.conf <<'EOF'\n${conf}EOF`,
            `cat > pebble.json <<'EOF'\n${JSON.stringify(pebble)}\nEOF`,
            "set -e",
            // a test CA for pebble's own HTTPS endpoint, trusted by lego through LEGO_CA_CERTIFICATES
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=senex-test-ca -keyout ca-key.pem -out ca.pem 2>/dev/null",
            "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=pebble -keyout pebble-key.pem -out pebble.csr 2>/dev/null",
            "printf 'subjectAltName=IP:127.0.0.1' > san.ext",
            "openssl x509 -req -in pebble.csr -CA ca.pem -CAkey ca-key.pem -days 2 -extfile san.ext -out pebble-cert.pem 2>/dev/null",
            'pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 127.0.0.1:8053 -http01 "" -https01 "" -tlsalpn01 "" -doh "" >challtest.log 2>&1 &',
            "PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 pebble -config pebble.json -dnsserver 127.0.0.1:8053 >pebble.log 2>&1 &",
            "bash acme.sh placeholder",
            `nginx -c ${dir}/nginx.conf >nginx.out`,
            "sleep 1",
            "bash acme.sh renew >first.log 2>&1 || { cat first.log >&2; exit 1; }",
            "openssl x509 -in tls/fullchain.pem -noout -issuer -ext subjectAltName | tr -s ' \\n' ' '; echo",
            // what the deploy step's SIGHUP does in the container
            "kill -HUP $(cat /tmp/nginx.pid) && sleep 1",
            `echo | openssl s_client -connect 127.0.0.1:443 -servername ${domain} 2>/dev/null | openssl x509 -noout -issuer`,
            "before=$(sha256sum tls/fullchain.pem)",
            "bash acme.sh renew >second.log 2>&1",
            'test "$before" = "$(sha256sum tls/fullchain.pem)" && grep -c "no renewal" second.log',
          ].join("\n"),
        ];
      },
      { timeoutMs: 120_000 },
    );
    expect(r.stderr).toBe("");
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^issuer=CN ?= ?Pebble Intermediate CA [0-9a-f]+ X509v3 Subject Alternative Name: critical DNS:${domain}, DNS:www.${domain}`));
    expect(lines[1]).toMatch(/^issuer=CN ?= ?Pebble Intermediate CA/);
    expect(lines[2]).toBe("1");
    expect(r.code).toBe(0);
  });
});
