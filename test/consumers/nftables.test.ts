/**
 * The host firewall of every host of every phase through nft (trixie chroot): `nft -c -f`, and a
 * real load inside the call's own network namespace, which shows that reloading replaces only our
 * table (a stand-in for podman's netavark table survives) and that a reload is idempotent.
 */
import { renderNftables } from "../../render/nftables";
import { runInTrixie } from "../support/trixie";
import { defaultInput, deployment, firewallFor, type Phase } from "../unit/render/phase-hosts";

const hosts = ([1, 2, 3] as Phase[]).flatMap((phase) => {
  const d = deployment(defaultInput(phase));
  return d.hosts.map((h) => [phase, h.name, renderNftables(firewallFor(d, h))] as const);
});

describe("nftables ruleset through nft", () => {
  it.each(hosts)("phase %i %s: nft -c -f accepts it", (_phase, _name, ruleset) => {
    const r = runInTrixie(["nft", "-c", "-f", "firewall.nft"], { files: { "firewall.nft": ruleset } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("loads for real, twice, leaving another table (podman's netavark) untouched", () => {
    const [, , ruleset] = hosts.find(([phase, name]) => phase === 3 && name === "db-1")!;
    const r = runInTrixie(
      [
        "sh",
        "-c",
        [
          "set -e",
          // a stand-in for the table netavark keeps for containers
          "nft add table inet netavark",
          "nft add chain inet netavark forward '{ type filter hook forward priority filter; policy accept; }'",
          "nft -f firewall.nft",
          "nft -f firewall.nft",
          "nft list tables",
          "nft list chain inet senex input | grep -c 'tcp dport 5432'",
          "nft list chain inet senex output | grep -c '169.254.169.254'",
        ].join("\n"),
      ],
      { files: { "firewall.nft": ruleset } },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toEqual(["table inet netavark", "table inet senex", "1", "1", ""]);
  });

  it("enforces it: PgBouncer answers an allowed peer only, and the metadata address answers root only", () => {
    const d = deployment(defaultInput(3));
    const db = d.hosts.find((h) => h.name === "db-1")!;
    const rules = firewallFor(d, db);
    const peers = rules.privatePorts.find((p) => p.port === 6432)!.from;
    const allowed = d.hosts.find((h) => h.name === "web-1")!.privateAddress;
    const outsider = d.hosts.find((h) => h.name === "monitoring-1")!.privateAddress;
    // the fixture's allow-list itself: web hosts run the app, the monitoring host does not
    expect(peers).toContain(allowed);
    expect(peers).not.toContain(outsider);
    const listen = `
import socket, sys, time
socks = []
for addr, port in [(sys.argv[1], 6432), ("169.254.169.254", 80)]:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((addr, port)); s.listen(); socks.append(s)
time.sleep(60)
`;
    const probe = `
import socket, sys
dst, port = sys.argv[1], int(sys.argv[2])
src = (sys.argv[3], 0) if len(sys.argv) > 3 else None
try:
    socket.create_connection((dst, port), timeout=2, source_address=src).close(); print("open")
except OSError as e:
    print(type(e).__name__)
`;
    const r = runInTrixie(
      [
        "sh",
        "-c",
        [
          "set -e",
          // the peers live in a second network namespace, joined to this one by a veth pair
          "unshare --net sleep 60 & peer=$!",
          "sleep 0.3",
          "ip link add v0 type veth peer name v1 netns $peer",
          `ip addr add ${db.privateAddress}/24 dev v0 && ip link set v0 up`,
          `nsenter -t $peer -n ip addr add ${allowed}/24 dev v1`,
          `nsenter -t $peer -n ip addr add ${outsider}/24 dev v1`,
          "nsenter -t $peer -n ip link set v1 up",
          "ip addr add 169.254.169.254/32 dev lo",
          `python3 listen.py ${db.privateAddress} & sleep 0.5`,
          // before the firewall: everything is reachable, so what follows is the firewall's doing
          `echo "before, outsider: $(nsenter -t $peer -n python3 probe.py ${db.privateAddress} 6432 ${outsider})"`,
          'echo "before, metadata as nobody: $(setpriv --reuid=65534 --regid=65534 --clear-groups python3 probe.py 169.254.169.254 80)"',
          "nft -f firewall.nft",
          `echo "allowed peer: $(nsenter -t $peer -n python3 probe.py ${db.privateAddress} 6432 ${allowed})"`,
          `echo "outsider: $(nsenter -t $peer -n python3 probe.py ${db.privateAddress} 6432 ${outsider})"`,
          'echo "metadata as root: $(python3 probe.py 169.254.169.254 80)"',
          'echo "metadata as nobody: $(setpriv --reuid=65534 --regid=65534 --clear-groups python3 probe.py 169.254.169.254 80)"',
        ].join("\n"),
      ],
      { files: { "firewall.nft": renderNftables(rules), "listen.py": listen, "probe.py": probe }, timeoutMs: 60_000 },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toEqual([
      "before, outsider: open",
      "before, metadata as nobody: open",
      "allowed peer: open",
      "outsider: TimeoutError", // dropped, not refused: to an outsider the port looks like nothing
      "metadata as root: open",
      "metadata as nobody: ConnectionRefusedError", // rejected at once for every uid but root
      "",
    ]);
  });

  it("a broken ruleset fails nft -c (the check can fail)", () => {
    const [, , ruleset] = hosts[0]!;
    const r = runInTrixie(["nft", "-c", "-f", "firewall.nft"], { files: { "firewall.nft": ruleset.replace("policy drop;", "policy dorp;") } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/syntax error/);
  });
});
