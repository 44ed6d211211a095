/**
 * A local ACME server for the test hosts: Debian's `pebble` (with `pebble-challtestsrv` as its DNS)
 * from the cached trixie tools root, run on the bridge gateway in this machine's network namespace
 * (chroot only: the hosts must reach it). Names resolve to the addresses the test gives, so pebble
 * validates HTTP-01 against the test host's real nginx on port 80. Its HTTPS endpoint uses a
 * certificate from a fresh test CA (`caCertPem`), which hosts trust through the stack's
 * `caCertificates` like any private CA.
 */
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { toolsRoot } from "../../support/trixie";
import { GATEWAY, ensureNetwork, freeGatewayPort, raceTimeout, registerGatewayService, unregisterGatewayService } from "./index";

export interface AcmeServer {
  /** The directory URL to configure (`acme.directoryUrl`). */
  readonly directoryUrl: string;
  /** PEM of the CA that signed pebble's HTTPS certificate. */
  readonly caCertPem: string;
  /** PEM of pebble's issuing root (what issued certificates chain to). */
  rootCertPem(): Promise<string>;
  stop(): Promise<void>;
}


/** Starts pebble + challtestsrv; `names` maps each domain to the IPv4 address pebble validates. */
export async function startAcmeServer(names: Readonly<Record<string, string>>): Promise<AcmeServer> {
  ensureNetwork();
  // Free ports of their own: suites running at once (tests, benchmarks) must not meet.
  const PORT = await freeGatewayPort(14000);
  const MGMT_PORT = await freeGatewayPort(15000);
  const DNS_PORT = await freeGatewayPort(8053);
  const CHALL_MGMT_PORT = await freeGatewayPort(8155);
  const root = toolsRoot();
  const rel = `/tmp/senex-acme-${process.pid}`;
  const dir = path.join(root, rel);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const openssl = (...args: string[]) => {
    const r = spawnSync("/usr/bin/openssl", args, { cwd: dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
  };
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=senex test ACME CA", "-keyout", "ca-key.pem", "-out", "ca.pem",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=pebble", "-keyout", "pebble-key.pem", "-out", "pebble.csr");
  fs.writeFileSync(path.join(dir, "san.ext"), `subjectAltName=IP:${GATEWAY}\nextendedKeyUsage=serverAuth\n`);
  openssl("x509", "-req", "-in", "pebble.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-days", "2", "-extfile", "san.ext", "-out", "pebble-cert.pem");
  fs.writeFileSync(
    path.join(dir, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `${GATEWAY}:${PORT}`,
        managementListenAddress: `${GATEWAY}:${MGMT_PORT}`,
        certificate: `${rel}/pebble-cert.pem`,
        privateKey: `${rel}/pebble-key.pem`,
        httpPort: 80,
        tlsPort: 443,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );

  const started: ChildProcess[] = [];
  const launch = (name: string, argv: string[], env: Record<string, string> = {}): ChildProcess => {
    const log = fs.openSync(path.join(dir, `${name}.log`), "a");
    const child = spawn("/usr/sbin/chroot", [root, ...argv], { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...env }, stdio: ["ignore", log, log], detached: false });
    fs.closeSync(log);
    registerGatewayService(name, child.pid!, argv[0]!);
    started.push(child);
    return child;
  };
  launch("acme-dns", ["pebble-challtestsrv", "-defaultIPv4", GATEWAY, "-defaultIPv6", "", "-dns01", `${GATEWAY}:${DNS_PORT}`, "-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "", "-management", `${GATEWAY}:${CHALL_MGMT_PORT}`]);
  launch("acme-pebble", ["pebble", "-config", `${rel}/pebble.json`, "-dnsserver", `${GATEWAY}:${DNS_PORT}`], { PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" });

  // Wait until both answer, then point every name at its host.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`http://${GATEWAY}:${CHALL_MGMT_PORT}/add-a`, { method: "POST", body: JSON.stringify({ host: "probe.test.", addresses: [GATEWAY] }) }).then((r) => r.ok, () => false);
    const up = ok && spawnSync("/usr/bin/curl", ["-sf", "--cacert", path.join(dir, "ca.pem"), `https://${GATEWAY}:${PORT}/dir`]).status === 0;
    if (up) break;
    if (Date.now() > deadline) throw new Error(`ACME server did not start: ${fs.readFileSync(path.join(dir, "acme-pebble.log"), "utf8").slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const [host, address] of Object.entries(names)) {
    const r = await fetch(`http://${GATEWAY}:${CHALL_MGMT_PORT}/add-a`, { method: "POST", body: JSON.stringify({ host: `${host}.`, addresses: [address] }) });
    if (!r.ok) throw new Error(`challtestsrv add-a ${host}: HTTP ${r.status}`);
  }

  const caCertPem = fs.readFileSync(path.join(dir, "ca.pem"), "utf8");
  return {
    directoryUrl: `https://${GATEWAY}:${PORT}/dir`,
    caCertPem,
    async rootCertPem() {
      const r = spawnSync("/usr/bin/curl", ["-sf", "--cacert", path.join(dir, "ca.pem"), `https://${GATEWAY}:${MGMT_PORT}/roots/0`], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`pebble roots: ${r.stderr}`);
      return r.stdout;
    },
    async stop() {
      for (const child of started) {
        if (child.exitCode === null) {
          const exited = new Promise((r) => child.once("exit", r));
          child.kill("SIGTERM");
          if (!(await raceTimeout(exited, 5000))) child.kill("SIGKILL");
        }
      }
      unregisterGatewayService("acme-pebble");
      unregisterGatewayService("acme-dns");
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
