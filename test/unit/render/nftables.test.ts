import fc from "fast-check";
import { renderNftables, type FirewallSpec } from "../../../render/nftables";
import { defaultInput, deployment, firewallFor, type Phase } from "./phase-hosts";

const base: FirewallSpec = {
  sshAllowFrom: ["203.0.113.0/24", "2001:db8::/32"],
  sshPort: 22,
  publicHttp: true,
  privatePorts: [
    { port: 5432, service: "postgres", from: ["10.0.1.10", "10.0.1.30"] },
    { port: 9100, service: "node-exporter", from: ["10.0.1.50"] },
  ],
};

describe("renderNftables", () => {
  it.each<Phase>([1, 2, 3])("phase %i: every host's ruleset matches the snapshot", (phase) => {
    const d = deployment(defaultInput(phase));
    expect(Object.fromEntries(d.hosts.map((h) => [h.name, renderNftables(firewallFor(d, h))]))).toMatchSnapshot();
  });

  it("replaces only its own table, never the whole ruleset (podman/netavark keep theirs)", () => {
    const text = renderNftables(base);
    expect(text).not.toMatch(/flush ruleset/);
    expect(text.split("\n").slice(2, 5)).toEqual(["table inet senex {}", "delete table inet senex", "table inet senex {"]);
  });

  it("drops input by default and opens SSH, web and each private port only to its peers", () => {
    const text = renderNftables(base);
    expect(text).toContain("type filter hook input priority filter; policy drop;");
    expect(text).toContain('ip saddr { 203.0.113.0/24 } tcp dport 22 accept comment "ssh"');
    expect(text).toContain('ip6 saddr { 2001:db8::/32 } tcp dport 22 accept comment "ssh"');
    expect(text).toContain('tcp dport { 80, 443 } accept comment "public http/https"');
    expect(text).toContain('ip saddr { 10.0.1.10, 10.0.1.30 } tcp dport 5432 accept comment "postgres from its peers"');
    expect(text).toContain('ip saddr { 10.0.1.50 } tcp dport 9100 accept');
    expect(renderNftables({ ...base, publicHttp: false })).not.toMatch(/dport \{ 80, 443 \}/);
  });

  it("opens SSH on the configured port only (#11.3: a host with sshd on 2222 stays reachable)", () => {
    const text = renderNftables({ ...base, sshPort: 2222 });
    expect(text).toContain('ip saddr { 203.0.113.0/24 } tcp dport 2222 accept comment "ssh"');
    expect(text).toContain('ip6 saddr { 2001:db8::/32 } tcp dport 2222 accept comment "ssh"');
    expect(text).not.toMatch(/dport 22 /);
  });

  it("blocks the metadata address for every uid but root", () => {
    expect(renderNftables(base)).toContain('ip daddr 169.254.169.254 meta skuid != 0 reject comment "metadata: root only"');
    expect(renderNftables({ ...base, blockMetadata: false })).not.toContain("169.254.169.254");
  });

  it("a port with no peers stays closed (no accept rule at all)", () => {
    const text = renderNftables({ ...base, privatePorts: [{ port: 6379, service: "redis", from: [] }] });
    expect(text).not.toMatch(/dport 6379/);
  });

  it.each<[Partial<FirewallSpec>, RegExp]>([
    [{ sshAllowFrom: ["10.0.0.0/33"] }, /not an IPv4\/IPv6 address/],
    [{ sshAllowFrom: ["any"] }, /not an IPv4\/IPv6 address/],
    [{ privatePorts: [{ port: 70000, service: "x", from: [] }] }, /not a TCP port/],
    [{ privatePorts: [{ port: 443, service: "x", from: [] }] }, /already a public\/SSH port/],
    [{ sshPort: 2222, privatePorts: [{ port: 2222, service: "x", from: [] }] }, /2222 is already a public\/SSH port/],
    [{ sshPort: 443 }, /`sshPort`: 443 is already the public web port/],
    [{ sshPort: 0 }, /`sshPort`: 0 is not a TCP port/],
    [{ privatePorts: [{ port: 5432, service: "a", from: [] }, { port: 5432, service: "b", from: [] }] }, /listed twice/],
    [{ privatePorts: [{ port: 5432, service: 'x" accept', from: [] }] }, /comments cannot hold/],
  ])("rejects %j", (override, message) => {
    expect(() => renderNftables({ ...base, ...override })).toThrow(message);
  });

  it("phase 1 (one host) opens no private port to anyone, only SSH and the web", () => {
    const d = deployment(defaultInput(1));
    const spec = firewallFor(d, d.hosts[0]!);
    expect(spec.publicHttp).toBe(true);
    expect(spec.privatePorts.every((p) => p.from.length === 0)).toBe(true);
    expect(renderNftables(spec)).not.toMatch(/dport (5432|6379|6380|8001|9100) /);
  });

  it("phase 2 opens the pool to the app hosts only, PostgreSQL to no other host, exporters to prometheus only", () => {
    const d = deployment(defaultInput(2));
    const [web, db, cache] = d.hosts;
    const dbRules = new Map(firewallFor(d, db!).privatePorts.map((p) => [p.port, p.from]));
    // The app reaches PostgreSQL only through PgBouncer beside it (loopback): 5432 stays closed.
    expect(dbRules.has(5432)).toBe(false);
    expect(dbRules.get(6432)).toEqual([web!.privateAddress, cache!.privateAddress]);
    expect(dbRules.get(9100)).toEqual([web!.privateAddress]); // prometheus runs on web-1 in phase 2
    const cacheRules = new Map(firewallFor(d, cache!).privatePorts.map((p) => [p.port, p.from]));
    expect(cacheRules.get(6379)).toEqual([web!.privateAddress]);
    expect(firewallFor(d, db!).publicHttp).toBe(false);
  });

  it("property: in phase 3, database and Redis ports are open only to hosts with a client role, never to the world", () => {
    const d = deployment(defaultInput(3));
    fc.assert(
      fc.property(fc.constantFrom(...d.hosts), (host) => {
        const text = renderNftables(firewallFor(d, host));
        for (const port of [5432, 6432, 6379, 6380, 26379]) {
          for (const line of text.split("\n").filter((l) => l.includes(`tcp dport ${port} `))) {
            expect(line).toMatch(/^\s+ip6? saddr \{ (10\.0\.1\.\d+(, )?)+ \}/);
            expect(line).not.toContain("0.0.0.0/0");
          }
        }
        const web = d.hosts.find((h) => h.name === "web-1")!;
        // web hosts run daphne, a Channels client of the broker: redis hosts must list them on 6379
        if (host.name.startsWith("redis-")) expect(text).toMatch(new RegExp(`saddr \\{[^}]*${web.privateAddress.replace(/\./g, "\\.")}[^}]*\\} tcp dport 6379`));
        // the monitoring host never reaches the database port
        if (host.name.startsWith("db-")) expect(text).not.toMatch(/10\.0\.1\.50[^}]*\} tcp dport 6432/);
      }),
    );
  });
});
