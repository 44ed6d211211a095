// nginx.conf for a web host. Decisions (why):
// - nginx runs as a ROOTLESS Quadlet of `senex` with `Network=host`, after the bootstrap sets
//   `net.ipv4.ip_unprivileged_port_start=80`. Host networking means nginx sees the real client
//   address (a rootless bridge + PublishPort would show it 10.89.x / rootlessport addresses), and
//   rootless means an nginx compromise lands in an unprivileged user namespace, not in root.
//   A system nginx would need admin/sudo for every config change and couples nginx to the host's
//   package version; the container pins it like every other image.
// - Real client address: phases 1–2 take `$remote_addr` directly (clients connect to nginx).
//   Phase 3 has a cloud load balancer in front: we use the PROXY protocol (Hetzner and DigitalOcean
//   load balancers both speak it in TCP mode) with `set_real_ip_from` = the LB's private address,
//   so `$remote_addr` (logs, rate limits, X-Forwarded-For to Django) is the client again. We chose
//   PROXY protocol over X-Forwarded-For because the LB then passes TLS through untouched (nginx
//   keeps the certificate) and a header a client sent can never be mistaken for the LB's.
//   Where the LB terminates TLS itself (a managed certificate), mode `tls-offload` serves the app
//   on port 80 to the LB only (redirecting there would loop) and trusts the LB's PROXY header or
//   X-Forwarded-For from the LB's address alone.
// - TLS comes from lego (Debian's ACME client, one Go binary) with HTTP-01 via the webroot nginx
//   serves at /.well-known/acme-challenge/ (render/acme.ts). Before the first certificate exists,
//   a self-signed placeholder sits at the same path (nginx's ExecStartPre), so nginx always starts
//   and can serve the challenge; lego's deploy step swaps the files and sends nginx SIGHUP.
// - Grafana under /grafana/ uses Grafana's own login (admin password from a podman secret,
//   anonymous access and sign-up off), not an nginx basic-auth file: basic auth in front of Grafana
//   collides with its own Authorization handling and would be a second password to rotate. The
//   login endpoint gets a strict rate limit.
// - WebSockets on the app's WS paths are accepted only from the configured origins (https://domain
//   and https://www.domain); a request without a matching Origin is refused with 403 before it
//   reaches Daphne (Channels' AllowedHostsOriginValidator checks again behind it).

/** One Daphne instance nginx proxies to. */
export interface UpstreamServer {
  readonly address: string;
  readonly port: number;
}

/** How the client's address reaches nginx. */
export type RealIpMode =
  /** Clients connect to nginx directly (phases 1–2). */
  | { readonly mode: "direct" }
  /** A TCP load balancer in front passes TLS through and sends the PROXY protocol header (phase 3, nginx holds the certificate). */
  | { readonly mode: "proxy-protocol"; /** Addresses/CIDRs of the load balancer(s). */ readonly trustedFrom: readonly string[] }
  /**
   * A load balancer in front terminates TLS with its own (managed) certificate and forwards plain
   * HTTP to nginx's port 80 (phase 3 with a cloud LB certificate). Port 80 then serves the app (no
   * redirect: that would loop; the LB redirects HTTP to HTTPS itself), 443 is not opened, and the
   * client address comes from the PROXY protocol or X-Forwarded-For, trusted only from the LB.
   */
  | {
      readonly mode: "tls-offload";
      /** Addresses/CIDRs of the load balancer(s). */
      readonly trustedFrom: readonly string[];
      /** How the LB passes the client address. */
      readonly clientAddressFrom: "proxy-protocol" | "x-forwarded-for";
    };

/** TLS material as nginx sees it (paths inside the nginx container). */
export interface TlsPaths {
  readonly certificate: string;
  readonly key: string;
}

/** Everything nginx.conf depends on. */
export interface NginxSpec {
  /** Public domain; `www.<domain>` is served too. */
  readonly domain: string;
  /** Daphne instances (this web host's). */
  readonly upstreams: readonly UpstreamServer[];
  /** Certificate and key paths (default `/etc/senex/tls/{fullchain,privkey}.pem`). */
  readonly tls?: TlsPaths;
  /** Directory served at /.well-known/acme-challenge/ (default `/srv/acme`). */
  readonly acmeWebroot?: string;
  /** Directory with collected static files (default `/srv/static`), served at `staticUrl`. */
  readonly staticRoot?: string;
  /** URL prefix of static files (default `/static/`). */
  readonly staticUrl?: string;
  /** WebSocket URL prefixes (default `["/ws/"]`). */
  readonly wsPaths?: readonly string[];
  /** Largest request body (default `10m`). */
  readonly clientMaxBodySize?: string;
  /** How the client's address is known. */
  readonly realIp: RealIpMode;
  /** Requests per second per client address, and the burst allowed (default 20 r/s, burst 40). */
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number };
  /** Grafana behind /grafana/ (phases 2–3). */
  readonly grafana?: UpstreamServer;
  /** HSTS max-age in seconds (default two years). */
  readonly hstsMaxAgeSec?: number;
  /** Also listen on IPv6 (default true; a host with IPv6 disabled would refuse `[::]` and nginx would not start). */
  readonly ipv6?: boolean;
  /** mime.types path in the nginx image (default `/etc/nginx/mime.types`). */
  readonly mimeTypes?: string;
}

const HOST_LABEL = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ADDRESS = /^([0-9.]+|\[[0-9a-fA-F:]+\]|[0-9a-fA-F:]+)(\/\d{1,3})?$/;
const PATH = /^\/[A-Za-z0-9_./-]*$/;
const SIZE = /^\d+[kKmMgG]?$/;

function validate(spec: NginxSpec): void {
  const problems: string[] = [];
  if (!HOST_LABEL.test(spec.domain)) problems.push(`\`domain\` ${JSON.stringify(spec.domain)} is not a lower-case DNS name`);
  if (spec.upstreams.length === 0) problems.push("`upstreams` must list at least one Daphne instance");
  const seen = new Set<string>();
  for (const u of [...spec.upstreams, ...(spec.grafana ? [spec.grafana] : [])]) {
    if (!ADDRESS.test(u.address) || u.address.includes("/")) problems.push(`upstream address ${JSON.stringify(u.address)} is not an IP address`);
    if (!Number.isInteger(u.port) || u.port < 1 || u.port > 65535) problems.push(`upstream port ${u.port} is not a TCP port`);
    const key = `${u.address}:${u.port}`;
    if (seen.has(key)) problems.push(`upstream ${key} is listed twice`);
    seen.add(key);
  }
  for (const [key, value] of [
    ["tls.certificate", spec.tls?.certificate],
    ["tls.key", spec.tls?.key],
    ["acmeWebroot", spec.acmeWebroot],
    ["staticRoot", spec.staticRoot],
    ["staticUrl", spec.staticUrl],
    ["mimeTypes", spec.mimeTypes],
    ...(spec.wsPaths ?? []).map((p, i) => [`wsPaths[${i}]`, p] as const),
  ] as const) {
    if (value !== undefined && !PATH.test(value)) problems.push(`\`${key}\` ${JSON.stringify(value)} must be an absolute path of plain characters`);
  }
  for (const [key, value] of [["staticUrl", spec.staticUrl], ...(spec.wsPaths ?? []).map((p, i) => [`wsPaths[${i}]`, p] as const)] as const) {
    if (value !== undefined && !value.endsWith("/")) problems.push(`\`${key}\` must end with /`);
  }
  if (spec.clientMaxBodySize !== undefined && !SIZE.test(spec.clientMaxBodySize)) problems.push("`clientMaxBodySize` must look like 10m");
  if (spec.realIp.mode === "proxy-protocol" || spec.realIp.mode === "tls-offload") {
    if (spec.realIp.trustedFrom.length === 0) problems.push("`realIp.trustedFrom` must name the load balancer address");
    for (const a of spec.realIp.trustedFrom) if (!ADDRESS.test(a)) problems.push(`\`realIp.trustedFrom\` ${JSON.stringify(a)} is not an address or CIDR`);
  }
  if (spec.rateLimit && (!(spec.rateLimit.perSecond > 0) || !Number.isInteger(spec.rateLimit.perSecond) || !Number.isInteger(spec.rateLimit.burst) || spec.rateLimit.burst < 0)) {
    problems.push("`rateLimit.perSecond` must be a positive integer and `burst` ≥ 0");
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
}

/** A tiny block builder so indentation and semicolons are produced in one place. */
type Directive = string | { readonly block: string; readonly body: readonly Directive[] };

function emit(directives: readonly Directive[], depth = 0): string[] {
  const pad = "    ".repeat(depth);
  return directives.flatMap((d) => {
    if (typeof d === "string") return d.startsWith("#") || d === "" ? [d === "" ? "" : pad + d] : [`${pad}${d};`];
    return [`${pad}${d.block} {`, ...emit(d.body, depth + 1), `${pad}}`];
  });
}

const PROXY_HEADERS: readonly Directive[] = [
  "proxy_set_header Host $host",
  // $remote_addr, not $proxy_add_x_forwarded_for: a client-supplied X-Forwarded-For is never passed on.
  "proxy_set_header X-Forwarded-For $remote_addr",
  "proxy_set_header X-Real-IP $remote_addr",
  "proxy_set_header X-Forwarded-Proto https",
  "proxy_set_header X-Forwarded-Host $host",
];

function acmeLocation(webroot: string): Directive {
  return { block: "location ^~ /.well-known/acme-challenge/", body: [`root ${webroot}`, "default_type text/plain", "try_files $uri =404"] };
}

/** Renders nginx.conf (a complete main config: `nginx -c FILE`). */
export function renderNginxConf(spec: NginxSpec): string {
  validate(spec);
  const listen = (port: string): Directive[] => [`listen ${port}`, ...(spec.ipv6 ?? true ? [`listen [::]:${port}`] : [])];
  const tls = spec.tls ?? { certificate: "/etc/senex/tls/fullchain.pem", key: "/etc/senex/tls/privkey.pem" };
  const webroot = spec.acmeWebroot ?? "/srv/acme";
  const staticRoot = spec.staticRoot ?? "/srv/static";
  const staticUrl = spec.staticUrl ?? "/static/";
  const wsPaths = spec.wsPaths ?? ["/ws/"];
  const rate = spec.rateLimit ?? { perSecond: 20, burst: 40 };
  const names = `${spec.domain} www.${spec.domain}`;
  const mode = spec.realIp;
  const proxyProtocol = mode.mode === "proxy-protocol" || (mode.mode === "tls-offload" && mode.clientAddressFrom === "proxy-protocol") ? " proxy_protocol" : "";
  const hsts = `add_header Strict-Transport-Security "max-age=${spec.hstsMaxAgeSec ?? 63072000}; includeSubDomains" always`;
  const securityHeaders: Directive[] = [
    hsts,
    'add_header X-Content-Type-Options "nosniff" always',
    'add_header X-Frame-Options "DENY" always',
    'add_header Referrer-Policy "strict-origin-when-cross-origin" always',
  ];

  let realIp: Directive[];
  switch (mode.mode) {
    case "direct":
      realIp = ["# clients connect directly: $remote_addr is the client"];
      break;
    case "proxy-protocol":
      realIp = ["# the load balancer speaks PROXY protocol; only its address is trusted", ...mode.trustedFrom.map((a) => `set_real_ip_from ${a}`), "real_ip_header proxy_protocol"];
      break;
    case "tls-offload":
      realIp = [
        "# the load balancer terminates TLS; the client address comes from it, trusted only from its address",
        ...mode.trustedFrom.map((a) => `set_real_ip_from ${a}`),
        mode.clientAddressFrom === "proxy-protocol" ? "real_ip_header proxy_protocol" : "real_ip_header X-Forwarded-For",
        // with X-Forwarded-For: the right-most address not of the LB is the client (a client's own header is ignored)
        ...(mode.clientAddressFrom === "x-forwarded-for" ? ["real_ip_recursive on"] : []),
      ];
      break;
    default: {
      const never: never = mode;
      throw new Error(`unknown realIp mode ${JSON.stringify(never)}`);
    }
  }

  const http: Directive[] = [
    `include ${spec.mimeTypes ?? "/etc/nginx/mime.types"}`,
    "default_type application/octet-stream",
    "sendfile on",
    "tcp_nopush on",
    "server_tokens off",
    "keepalive_timeout 65s",
    // Image-agnostic temp paths (Debian and upstream nginx images compile in different ones).
    "client_body_temp_path /tmp/nginx-client-body",
    "proxy_temp_path /tmp/nginx-proxy",
    "fastcgi_temp_path /tmp/nginx-fastcgi",
    "uwsgi_temp_path /tmp/nginx-uwsgi",
    "scgi_temp_path /tmp/nginx-scgi",
    `log_format senex '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" rt=$request_time urt=$upstream_response_time'`,
    "access_log /dev/stdout senex",
    ...realIp,
    `limit_req_zone $binary_remote_addr zone=senex_req:10m rate=${rate.perSecond}r/s`,
    "limit_req_zone $binary_remote_addr zone=senex_login:10m rate=1r/s",
    "limit_conn_zone $binary_remote_addr zone=senex_conn:10m",
    "limit_req_status 429",
    "limit_conn_status 429",
    { block: "map $http_upgrade $connection_upgrade", body: ["default upgrade", "'' close"] },
    { block: "map $http_origin $senex_ws_origin_allowed", body: ["default 0", `"https://${spec.domain}" 1`, `"https://www.${spec.domain}" 1`] },
    {
      block: "upstream senex_daphne",
      body: [
        // WebSockets are long-lived: send new connections to the least busy instance.
        "least_conn",
        ...spec.upstreams.map((u) => `server ${u.address}:${u.port} max_fails=3 fail_timeout=10s`),
        "keepalive 32",
      ],
    },
  ];
  if (spec.grafana) http.push({ block: "upstream senex_grafana", body: [`server ${spec.grafana.address}:${spec.grafana.port} max_fails=3 fail_timeout=10s`] });

  const tlsDirectives: Directive[] = [
    `ssl_certificate ${tls.certificate}`,
    `ssl_certificate_key ${tls.key}`,
    // Mozilla "intermediate": TLS 1.2 + 1.3, AEAD ciphers with forward secrecy.
    "ssl_protocols TLSv1.2 TLSv1.3",
    "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
    "ssl_prefer_server_ciphers off",
    "ssl_session_cache shared:senex_tls:10m",
    "ssl_session_timeout 1d",
    "ssl_session_tickets off",
  ];
  const offload = mode.mode === "tls-offload";
  const app: Directive[] = [
    ...(offload ? listen(`80 default_server${proxyProtocol}`) : [...listen(`443 ssl${proxyProtocol}`), "http2 on"]),
    offload ? `server_name ${names} _` : `server_name ${names}`,
    ...(offload ? [] : tlsDirectives),
    ...securityHeaders,
    `client_max_body_size ${spec.clientMaxBodySize ?? "10m"}`,
    "client_body_timeout 30s",
    "client_header_timeout 30s",
    "send_timeout 60s",
    `limit_req zone=senex_req burst=${rate.burst} nodelay`,
    "limit_conn senex_conn 100",
    ...(offload
      ? [
          // The LB's health check: daphne's health endpoint with our Host, whatever Host the LB sends.
          { block: "location = /lb-health", body: ["proxy_pass http://senex_daphne/health/", `proxy_set_header Host ${spec.domain}`, ...PROXY_HEADERS.slice(1), "proxy_connect_timeout 2s", "proxy_read_timeout 5s", "access_log off"] },
        ]
      : [acmeLocation(webroot)]),
    // `expires` (not add_header) so the server-level security headers are still inherited.
    { block: `location ${staticUrl}`, body: [`alias ${staticRoot}/`, "expires 30d", "access_log off", "try_files $uri =404"] },
    ...wsPaths.map(
      (path): Directive => ({
        block: `location ${path}`,
        body: [
          { block: "if ($senex_ws_origin_allowed = 0)", body: ["return 403"] },
          "proxy_pass http://senex_daphne",
          "proxy_http_version 1.1",
          "proxy_set_header Upgrade $http_upgrade",
          "proxy_set_header Connection $connection_upgrade",
          ...PROXY_HEADERS,
          "proxy_connect_timeout 5s",
          // An idle WebSocket stays open for an hour; the app sends pings well within that.
          "proxy_read_timeout 3600s",
          "proxy_send_timeout 3600s",
        ],
      }),
    ),
  ];
  if (spec.grafana) {
    app.push(
      { block: "location = /grafana/login", body: ["limit_req zone=senex_login burst=5 nodelay", "proxy_pass http://senex_grafana", ...PROXY_HEADERS] },
      {
        block: "location /grafana/",
        body: ["proxy_pass http://senex_grafana", "proxy_http_version 1.1", "proxy_set_header Upgrade $http_upgrade", "proxy_set_header Connection $connection_upgrade", ...PROXY_HEADERS, "proxy_read_timeout 300s"],
      },
    );
  }
  app.push({
    block: "location /",
    body: [
      "proxy_pass http://senex_daphne",
      "proxy_http_version 1.1",
      // Empty Connection header keeps upstream keepalive connections usable.
      'proxy_set_header Connection ""',
      ...PROXY_HEADERS,
      "proxy_connect_timeout 5s",
      "proxy_send_timeout 60s",
      "proxy_read_timeout 60s",
      // Passive health: a failed or timed-out instance is skipped and the request retried once (idempotent methods only).
      "proxy_next_upstream error timeout http_502 http_503",
      "proxy_next_upstream_tries 2",
    ],
  });
  if (offload) {
    // Only the LB connects (firewall), and it already redirected HTTP to HTTPS: port 80 is the app.
    http.push({ block: "server", body: app });
  } else {
    // Port 80: only the ACME challenge and a redirect; unknown names are dropped.
    http.push({
      block: "server",
      body: [...listen(`80${proxyProtocol}`), `server_name ${names}`, acmeLocation(webroot), { block: "location /", body: ["return 301 https://$host$request_uri"] }],
    });
    http.push({
      block: "server",
      body: [...listen(`80 default_server${proxyProtocol}`), "server_name _", acmeLocation(webroot), { block: "location /", body: ["return 444"] }],
    });
    http.push({ block: "server", body: app });
    // Any other name on 443: refuse the TLS handshake instead of presenting our certificate.
    http.push({ block: "server", body: [...listen(`443 ssl default_server${proxyProtocol}`), "server_name _", "ssl_reject_handshake on"] });
  }

  const main: Directive[] = [
    `# nginx.conf for ${spec.domain}, rendered by senex-infra; do not edit on the host.`,
    "worker_processes auto",
    // /tmp: the rootless container may not write /run.
    "pid /tmp/nginx.pid",
    "error_log stderr warn",
    { block: "events", body: ["worker_connections 4096"] },
    { block: "http", body: http },
  ];
  return emit(main).join("\n") + "\n";
}
