// haproxy.cfg for the load-balancer host of `existing` servers in phase 3 (cloud stacks use the
// cloud's load balancer). Decisions (why):
// - TCP mode, TLS passed through: nginx on each web host keeps the certificate and its ACME
//   HTTP-01 renewal works through port 80 unchanged; haproxy never sees plaintext.
// - PROXY protocol v2 to every backend (`send-proxy-v2`), so nginx (realIp mode `proxy-protocol`,
//   trusting only this host's private address) logs and rate-limits the real client address.
//   Health checks send the PROXY header too (`check-send-proxy`): nginx's listeners require it.
// - leastconn on 443: WebSockets are long-lived, new connections go to the least busy web host.
// - Long client/server/tunnel timeouts (1 h) so idle WebSockets are not cut by the balancer.

/** A web host behind the balancer. */
export interface HaproxyBackend {
  /** Host name (haproxy server name). */
  readonly name: string;
  /** Private address of the web host. */
  readonly address: string;
}

/** Everything haproxy.cfg depends on. */
export interface HaproxySpec {
  /** The web hosts running nginx. */
  readonly backends: readonly HaproxyBackend[];
  /** Address to bind 80/443 on (default all IPv4 addresses). */
  readonly bindAddress?: string;
  /** Also bind IPv6 (default true). */
  readonly ipv6?: boolean;
  /**
   * Maximum concurrent connections. Unset: haproxy derives it from the open-files limit it gets
   * (a fixed value above what the container's limit allows makes haproxy refuse to start).
   */
  readonly maxConnections?: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const IP = /^([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9a-fA-F:]+)$/;

function validate(spec: HaproxySpec): void {
  const problems: string[] = [];
  if (spec.backends.length === 0) problems.push("`backends` must list at least one web host");
  const names = new Set<string>();
  for (const [i, b] of spec.backends.entries()) {
    if (!NAME.test(b.name)) problems.push(`\`backends[${i}].name\` ${JSON.stringify(b.name)} is not a plain name`);
    if (!IP.test(b.address)) problems.push(`\`backends[${i}].address\` ${JSON.stringify(b.address)} is not an IP address`);
    if (names.has(b.name)) problems.push(`\`backends[${i}].name\` ${b.name} is listed twice`);
    names.add(b.name);
  }
  if (spec.bindAddress !== undefined && !IP.test(spec.bindAddress)) problems.push("`bindAddress` must be an IP address");
  if (spec.maxConnections !== undefined && (!Number.isInteger(spec.maxConnections) || spec.maxConnections < 1)) problems.push("`maxConnections` must be a positive integer");
  if (problems.length > 0) throw new Error(problems.join("\n"));
}

function hostPort(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Renders haproxy.cfg (`haproxy -c -f FILE` checks it). */
export function renderHaproxyCfg(spec: HaproxySpec): string {
  validate(spec);
  const bind = (port: number): string[] => [
    `    bind ${spec.bindAddress ? hostPort(spec.bindAddress, port) : `:${port}`}`,
    ...(spec.ipv6 ?? true ? [`    bind :::${port} v6only`] : []),
  ];
  const servers = (port: number) =>
    spec.backends.map((b) => `    server ${b.name} ${hostPort(b.address, port)} check inter 5s fall 3 rise 2 send-proxy-v2 check-send-proxy`);
  return [
    "# haproxy.cfg rendered by senex-infra; do not edit on the host.",
    "global",
    "    log stdout format raw local0",
    ...(spec.maxConnections !== undefined ? [`    maxconn ${spec.maxConnections}`] : []),
    "",
    "defaults",
    "    mode tcp",
    "    log global",
    "    option tcplog",
    "    option dontlognull",
    "    timeout connect 5s",
    // WebSockets stay open for long: the balancer must not be the one that cuts them.
    "    timeout client 1h",
    "    timeout server 1h",
    "    timeout tunnel 1h",
    "",
    "frontend senex_http",
    ...bind(80),
    "    default_backend senex_web_http",
    "",
    "frontend senex_https",
    ...bind(443),
    "    default_backend senex_web_https",
    "",
    "backend senex_web_http",
    "    balance roundrobin",
    ...servers(80),
    "",
    "backend senex_web_https",
    "    balance leastconn",
    ...servers(443),
    "",
  ].join("\n");
}
