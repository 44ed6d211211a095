/**
 * One test host booted like a cloud server (NoCloud seed) that trusts a test registry: cloud-init
 * installs the given Debian packages through the apt proxy, creates the rootless user `senex`
 * with linger and the registry's auth file, and `asSenex` runs commands as that user with its
 * runtime directory (rootless podman needs it). Shared by the hosts-tier tests that pull images
 * from the test registry (test/hosts/app/app.test.ts, test/hosts/images.test.ts).
 */
import { stringify as toYaml } from "yaml";
import { TestHost, ToolRun, startHosts } from "./index";
import type { TestRegistry } from "./registry";

export interface RegistryHostOptions {
  /** Hostname, e.g. `app-1`. */
  name: string;
  /** The registry whose CA the host trusts and whose credentials `senex` gets. */
  registry: TestRegistry;
  /** Debian packages cloud-init installs (without Recommends), e.g. podman, uidmap, passt. */
  packages: string[];
  /** Bound for cloud-init to finish after SSH answers (default 600 s). */
  cloudInitTimeoutMs?: number;
}

/** Where the host keeps senex's registry credentials, and an empty auth file (a pull must fail with it). */
export const SENEX_AUTH_FILE = "/home/senex/.config/containers/auth.json";
export const EMPTY_AUTH_FILE = "/home/senex/empty-auth.json";

export interface RegistryHost {
  host: TestHost;
  /** senex's uid on the host. */
  senexUid: string;
  /** How long cloud-init took after SSH answered (ms). */
  cloudInitMs: number;
  /** Runs argv as `senex` with XDG_RUNTIME_DIR and HOME set (default timeout 180 s). */
  asSenex(argv: string[], opts?: { input?: string; timeoutMs?: number }): Promise<ToolRun>;
}

/** Boots the host, waits for cloud-init and for senex's user manager (linger). */
export async function startRegistryHost(opts: RegistryHostOptions): Promise<RegistryHost> {
  const { registry } = opts;
  const [host] = await startHosts(1, {
    names: [opts.name],
    seed: (h) => ({
      userData: "#cloud-config\n" + toYaml({
        // no Recommends: a third of the install time on these 2 cores; callers list what they need
        apt: { proxy: h.aptProxy, conf: 'APT::Install-Recommends "false";\n' },
        ca_certs: { trusted: [registry.caCertPem] },
        package_update: true,
        packages: opts.packages,
        users: [{ name: "senex", shell: "/bin/bash", lock_passwd: true }],
        ssh_genkeytypes: ["ed25519"],
        write_files: [
          { path: SENEX_AUTH_FILE, content: registry.authFileJson(), permissions: "0600", defer: true },
          { path: EMPTY_AUTH_FILE, content: "{}\n", permissions: "0600", defer: true },
        ],
        runcmd: [["chown", "-R", "senex:senex", "/home/senex"], ["loginctl", "enable-linger", "senex"]],
      }),
    }),
  });
  const t0 = Date.now();
  const ci = await host!.exec(["cloud-init", "status", "--wait"], { timeoutMs: opts.cloudInitTimeoutMs ?? 600_000 });
  const cloudInitMs = Date.now() - t0;
  if (!/status: done/.test(ci.stdout)) throw new Error(`cloud-init: ${ci.stdout}${ci.stderr}`);
  const senexUid = (await host!.exec(["id", "-u", "senex"])).stdout.trim();
  // Wait for senex's user manager (linger) so /run/user/<uid> exists.
  const bus = await host!.exec(["sh", "-c", `for i in $(seq 100); do test -S /run/user/${senexUid}/bus && exit 0; sleep 0.1; done; exit 1`]);
  if (bus.code !== 0) throw new Error(`senex's user manager did not start (no /run/user/${senexUid}/bus)`);
  const asSenex = (argv: string[], o: { input?: string; timeoutMs?: number } = {}) =>
    host!.exec(["runuser", "-u", "senex", "--", "env", `XDG_RUNTIME_DIR=/run/user/${senexUid}`, "HOME=/home/senex", ...argv],
      { timeoutMs: o.timeoutMs ?? 180_000, input: o.input });
  return { host: host!, senexUid, cloudInitMs, asSenex };
}
