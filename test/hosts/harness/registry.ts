/**
 * A private image registry for the test hosts: Debian's `docker-registry` (distribution 2.8) on
 * the bridge gateway, with htpasswd (bcrypt) auth and TLS from a throw-away test CA — so hosts
 * really pull with credentials, as from a production registry. Images come from the cached OCI
 * archives the build scripts make (e.g. test/hosts/app/build-image.sh) and are pushed with skopeo.
 */
import { spawn, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { GATEWAY, ensureNetwork, freeGatewayPort, raceTimeout, registerGatewayService, unregisterGatewayService } from "./index";


export interface RegistryOptions {
  /** Port on GATEWAY (default: the first free one from 5000; suites running at once must not meet). */
  port?: number;
}

/** A running registry; `stop()` ends it and removes its storage. */
export interface TestRegistry {
  /** `host:port` as image references use it, e.g. `10.213.7.1:5000`. */
  readonly address: string;
  /** PEM of the CA that signed the registry's certificate: hosts trust it (cloud-init `ca_certs`, or /etc/containers/certs.d/<address>/ca.crt). */
  readonly caCertPem: string;
  readonly username: string;
  readonly password: string;
  /** PID of docker-registry. */
  readonly pid: number;
  /** A containers-auth.json (`REGISTRY_AUTH_FILE`, `--authfile`) holding the credentials. */
  authFileJson(): string;
  /** Pushes an OCI archive as `<address>/<repository>:<tag>`; resolves to the pushed manifest digest. */
  push(ociArchive: string, repository: string, tag: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts a registry with a fresh CA, certificate, user and empty storage. */
export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  ensureNetwork();
  const port = opts.port ?? (await freeGatewayPort(5000));
  const address = `${GATEWAY}:${port}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "senex-registry-"));
  const username = "senex-test";
  const password = randomBytes(18).toString("base64url");

  // Test CA + server certificate for the gateway's IP (P-256: fast to make, accepted everywhere).
  const openssl = (...args: string[]) => {
    const r = spawnSync("/usr/bin/openssl", args, { cwd: dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
    "-out", "ca.crt", "-days", "2", "-subj", "/CN=senex test registry CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key",
    "-out", "server.csr", "-subj", `/CN=${GATEWAY}`);
  fs.writeFileSync(path.join(dir, "server.ext"),
    `subjectAltName=IP:${GATEWAY}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
    "-out", "server.crt", "-days", "2", "-extfile", "server.ext");
  // The password reaches htpasswd on stdin, never argv.
  const h = spawnSync("/usr/bin/htpasswd", ["-niB", username], { input: `${password}\n`, encoding: "utf8" });
  if (h.status !== 0) throw new Error(`htpasswd failed: ${h.stderr}`);
  fs.writeFileSync(path.join(dir, "htpasswd"), h.stdout.trim() + "\n", { mode: 0o600 });
  fs.writeFileSync(path.join(dir, "config.yml"), toYaml({
    version: 0.1,
    log: { level: "warn" },
    storage: { filesystem: { rootdirectory: path.join(dir, "data") }, delete: { enabled: true } },
    http: { addr: address, tls: { certificate: path.join(dir, "server.crt"), key: path.join(dir, "server.key") } },
    auth: { htpasswd: { realm: "senex-test", path: path.join(dir, "htpasswd") } },
  }));

  const serviceName = `registry-${port}`;
  // Hold the bridge up first: the gateway address must exist before the registry binds it.
  registerGatewayService(serviceName, 0, "");
  const log = fs.openSync(path.join(dir, "registry.log"), "a");
  const child = spawn("/usr/bin/docker-registry", ["serve", path.join(dir, "config.yml")], { detached: true, stdio: ["ignore", log, log] });
  fs.closeSync(log);
  child.unref();
  if (!child.pid) throw new Error("could not start docker-registry");
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  registerGatewayService(serviceName, pid, path.join(dir, "config.yml"));
  const stop = async () => {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
    await raceTimeout(exited, 5000);
    unregisterGatewayService(serviceName);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(GATEWAY, port, 15_000, () => fs.readFileSync(path.join(dir, "registry.log"), "utf8"));
  } catch (e) {
    await stop();
    throw e;
  }

  const authFileJson = () => JSON.stringify({ auths: { [address]: { auth: Buffer.from(`${username}:${password}`).toString("base64") } } });
  const certDir = path.join(dir, "certs");
  fs.mkdirSync(certDir);
  fs.copyFileSync(path.join(dir, "ca.crt"), path.join(certDir, "ca.crt"));
  fs.writeFileSync(path.join(dir, "auth.json"), authFileJson(), { mode: 0o600 });

  return {
    address, username, password, pid,
    caCertPem: fs.readFileSync(path.join(dir, "ca.crt"), "utf8"),
    authFileJson,
    async push(ociArchive, repository, tag) {
      const digestFile = path.join(dir, `digest-${randomBytes(4).toString("hex")}`);
      const r = spawnSync("/usr/bin/skopeo", ["copy", "--quiet", "--dest-cert-dir", certDir, "--dest-authfile", path.join(dir, "auth.json"),
        "--digestfile", digestFile, `oci-archive:${ociArchive}`, `docker://${address}/${repository}:${tag}`],
      { encoding: "utf8", timeout: 300_000, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: dir, TMPDIR: dir } });
      if (r.status !== 0) throw new Error(`skopeo copy to ${address}/${repository}:${tag} failed: ${r.stderr}`);
      return fs.readFileSync(digestFile, "utf8").trim();
    },
    stop,
  };
}

function waitForPort(host: string, port: number, timeoutMs: number, diagnostics: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect({ host, port });
      s.once("connect", () => {
        s.destroy();
        resolve();
      });
      s.once("error", () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`registry did not listen on ${host}:${port}:\n${diagnostics()}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}
