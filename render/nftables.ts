// The host firewall as an nft script. Why a table of our own (`inet senex`) instead of
// `flush ruleset`: netavark (podman's network backend) keeps its own `inet netavark` table for
// container NAT and forwarding; flushing the whole ruleset on every reload would cut running
// containers off until podman re-creates its rules. So we only ever delete and re-create our table
// (`table inet senex {}` first makes the `delete` safe on the very first load), atomically in one
// `nft -f` transaction. Base chains of different tables at the same hook all see the packet; a
// packet dropped by ours is dropped, so default-drop still holds for every port we did not open.
//
// Rules:
// - input: default drop; established/related, loopback, ICMP/ICMPv6 (rate limited), SSH (its
//   configured port only) from the configured CIDRs, 80/443 on public hosts, and each private port
//   only from the listed peers.
// - output: the cloud metadata address (169.254.169.254) only for root: user-data carries the
//   pinned host key, and every container user could otherwise read it.

/** A private port opened to a list of peers (the roles that need it). */
export interface PrivatePortRule {
  /** TCP port, e.g. 5432. */
  readonly port: number;
  /** What listens there (comment only), e.g. `postgres`. */
  readonly service: string;
  /** Peer addresses (IPv4 or IPv6, CIDR allowed) that may connect. Empty: nobody from outside. */
  readonly from: readonly string[];
}

/** One host's firewall. */
export interface FirewallSpec {
  /** CIDRs that may reach SSH. */
  readonly sshAllowFrom: readonly string[];
  /** The port sshd listens on (`senex-infra:ssh.port`): the only SSH port the firewall opens. */
  readonly sshPort: number;
  /** Open 80/443 to everyone (hosts running nginx). */
  readonly publicHttp: boolean;
  /** Private ports with their allow-lists. */
  readonly privatePorts: readonly PrivatePortRule[];
  /** Block 169.254.169.254 for every uid but root (default true). */
  readonly blockMetadata?: boolean;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(\/(\d{1,2}))?$/;
const IPV6 = /^[0-9a-fA-F:]+(\/\d{1,3})?$/;

function family(address: string): "ip" | "ip6" {
  const v4 = IPV4.exec(address);
  if (v4) {
    const octetsOk = v4.slice(1, 5).every((o) => Number(o) <= 255);
    const prefixOk = v4[6] === undefined || Number(v4[6]) <= 32;
    if (octetsOk && prefixOk) return "ip";
  } else if (IPV6.test(address) && address.includes(":")) {
    return "ip6";
  }
  throw new Error(`${JSON.stringify(address)} is not an IPv4/IPv6 address or CIDR`);
}

/** `ip saddr { a, b } tcp dport P accept` lines, split by family (nft needs one family per set). */
function allowFrom(addresses: readonly string[], match: string, comment: string): string[] {
  const byFamily = new Map<"ip" | "ip6", string[]>();
  for (const address of [...new Set(addresses)]) {
    const f = family(address);
    byFamily.set(f, [...(byFamily.get(f) ?? []), address]);
  }
  return [...byFamily.entries()].map(([f, list]) => `${f} saddr { ${list.join(", ")} } ${match} accept comment "${comment}"`);
}

/** Renders the nft script (load with `nft -f`; check with `nft -c -f`). */
export function renderNftables(spec: FirewallSpec): string {
  const problems: string[] = [];
  const seen = new Set<number>();
  if (!Number.isInteger(spec.sshPort) || spec.sshPort < 1 || spec.sshPort > 65535) problems.push(`\`sshPort\`: ${spec.sshPort} is not a TCP port`);
  else if ((spec.sshPort === 80 || spec.sshPort === 443) && spec.publicHttp) problems.push(`\`sshPort\`: ${spec.sshPort} is already the public web port`);
  for (const rule of spec.privatePorts) {
    if (!Number.isInteger(rule.port) || rule.port < 1 || rule.port > 65535) problems.push(`\`privatePorts\`: ${rule.port} is not a TCP port`);
    if (rule.port === spec.sshPort || ((rule.port === 80 || rule.port === 443) && spec.publicHttp)) problems.push(`\`privatePorts\`: ${rule.port} is already a public/SSH port`);
    if (seen.has(rule.port)) problems.push(`\`privatePorts\`: port ${rule.port} listed twice`);
    if (!/^[A-Za-z0-9 _.-]+$/.test(rule.service)) problems.push(`\`privatePorts\`: service name ${JSON.stringify(rule.service)} has characters nft comments cannot hold`);
    seen.add(rule.port);
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));

  const input: string[] = [
    "type filter hook input priority filter; policy drop;",
    "ct state established,related accept",
    "ct state invalid drop",
    'iif "lo" accept',
    "ip protocol icmp limit rate 20/second accept",
    // ICMPv6 neighbour discovery must pass or IPv6 breaks entirely.
    "meta l4proto ipv6-icmp accept",
    ...allowFrom(spec.sshAllowFrom, `tcp dport ${spec.sshPort}`, "ssh"),
  ];
  if (spec.publicHttp) input.push('tcp dport { 80, 443 } accept comment "public http/https"');
  for (const rule of [...spec.privatePorts].sort((a, b) => a.port - b.port)) {
    input.push(...allowFrom(rule.from, `tcp dport ${rule.port}`, `${rule.service} from its peers`));
  }
  const output: string[] = ["type filter hook output priority filter; policy accept;"];
  if (spec.blockMetadata ?? true) {
    // Only root may ask the metadata service (user-data holds the host key); reject, not drop, so
    // a curious process fails fast instead of hanging.
    output.push('ip daddr 169.254.169.254 meta skuid != 0 reject comment "metadata: root only"');
  }
  const chain = (name: string, rules: readonly string[]) => [`  chain ${name} {`, ...rules.map((r) => `    ${r}`), "  }"];
  return [
    "#!/usr/sbin/nft -f",
    "# senex host firewall. Only our own table is replaced; podman/netavark tables stay untouched.",
    "table inet senex {}",
    "delete table inet senex",
    "table inet senex {",
    ...chain("input", input),
    ...chain("output", output),
    "}",
    "",
  ].join("\n");
}
