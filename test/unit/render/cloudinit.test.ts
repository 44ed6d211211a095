import { parse } from "yaml";
import { asUser, bootstrapCommands, bootstrapFiles, renderBootstrapScript, renderCloudInit, type BootstrapSpec } from "../../../render/cloudinit";
import { ADMIN_KEY, bootstrapSpec, defaultInput, deployment } from "./phase-hosts";

const HOST_KEY = {
  ed25519Private: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n-----END OPENSSH PRIVATE KEY-----\n",
  ed25519Public: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAUQrzN6ZOLHdPIH52JAUBf3JXKt8NKkj5tDQhyxdDgm main",
};

function spec(overrides: Partial<BootstrapSpec> = {}): BootstrapSpec {
  const d = deployment(defaultInput(1));
  return { ...bootstrapSpec(d, d.hosts[0]!, HOST_KEY), ...overrides };
}

type UserData = {
  users: { name: string; sudo?: string; lock_passwd: boolean; shell: string; ssh_authorized_keys: string[] }[];
  write_files: { path: string; content: string; permissions: string; owner: string; defer?: boolean }[];
  runcmd: string[][];
  [key: string]: unknown;
};

describe("renderCloudInit", () => {
  it("matches the snapshot (phase 1 main)", () => {
    expect(renderCloudInit(spec())).toMatchSnapshot();
  });

  it("starts with #cloud-config and parses back to the spec's users, keys and hardening", () => {
    const text = renderCloudInit(spec());
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    const doc = parse(text) as UserData;
    const [admin, senex] = doc.users;
    expect(admin).toMatchObject({ name: "admin", sudo: "ALL=(ALL) NOPASSWD:ALL", shell: "/bin/bash", ssh_authorized_keys: [ADMIN_KEY] });
    expect(senex).toMatchObject({ name: "senex", lock_passwd: true, shell: "/bin/bash" });
    expect(senex!.sudo).toBeUndefined();
    expect(doc).toMatchObject({ ssh_pwauth: false, disable_root: true, ssh_deletekeys: true, ssh_genkeytypes: ["ed25519"] });
    expect(doc.ssh_keys).toEqual({ ed25519_private: HOST_KEY.ed25519Private, ed25519_public: HOST_KEY.ed25519Public });
    expect(doc.packages).toEqual(expect.arrayContaining(["podman", "uidmap", "passt", "nftables", "fail2ban", "unattended-upgrades", "dbus-user-session", "lego"]));
    expect(doc.packages).not.toContain("slirp4netns");
  });

  it("writes sshd hardening, sysctl, firewall, fail2ban, unattended-upgrades and subuid/subgid (deferred)", () => {
    const files = new Map((parse(renderCloudInit(spec())) as UserData).write_files.map((f) => [f.path, f]));
    expect(files.get("/etc/ssh/sshd_config.d/10-senex.conf")!.content).toMatch(/PermitRootLogin no\nPasswordAuthentication no\n[\s\S]*AllowUsers admin senex/);
    expect(files.get("/etc/sysctl.d/60-senex.conf")!.content).toContain("net.ipv4.ip_unprivileged_port_start = 80");
    expect(files.get("/etc/senex/firewall.nft")!.content).toContain("table inet senex {");
    expect(files.get("/etc/senex/firewall.nft")!.permissions).toBe("0600");
    expect(files.get("/etc/fail2ban/jail.d/senex.conf")!.content).toContain("[sshd]\nenabled = true");
    expect(files.get("/etc/apt/apt.conf.d/20auto-upgrades")!.content).toContain('APT::Periodic::Unattended-Upgrade "1";');
    expect(files.get("/etc/subuid")).toMatchObject({ content: "senex:100000:65536\n", defer: true });
    expect(files.get("/etc/subgid")).toMatchObject({ content: "senex:100000:65536\n", defer: true });
  });

  it("carries ssh.port to sshd, the firewall and fail2ban (#11.3: nothing left on 22)", () => {
    const base = spec();
    const on2222 = spec({ firewall: { ...base.firewall, sshPort: 2222 } });
    for (const files of [new Map(bootstrapFiles(on2222).map((f) => [f.path, f.content])), new Map((parse(renderCloudInit(on2222)) as UserData).write_files.map((f) => [f.path, f.content]))]) {
      expect(files.get("/etc/ssh/sshd_config.d/10-senex.conf")).toMatch(/^Port 2222$/m);
      expect(files.get("/etc/ssh/sshd_config.d/10-senex.conf")).not.toMatch(/^Port 22$/m);
      expect(files.get("/etc/fail2ban/jail.d/senex.conf")).toMatch(/\[sshd\][^[]*\nport = 2222\n/);
      expect(files.get("/etc/senex/firewall.nft")).toMatch(/tcp dport 2222 accept comment "ssh"/);
      expect(files.get("/etc/senex/firewall.nft")).not.toMatch(/dport 22 /);
    }
  });

  it("the firewall unit reloads a changed ruleset (checked first) and never restarts it; the script checks the ruleset before replacing it (#11.7)", () => {
    const unit = bootstrapFiles(spec()).find((f) => f.path === "/etc/systemd/system/senex-firewall.service")!.content;
    expect(unit.match(/^ExecReload=.*$/gm)).toEqual(["ExecReload=/usr/sbin/nft -c -f /etc/senex/firewall.nft", "ExecReload=/usr/sbin/nft -f /etc/senex/firewall.nft"]);
    const runcmd = (parse(renderCloudInit(spec())) as UserData).runcmd.map((c) => c.join(" "));
    expect(runcmd.filter((c) => c.includes("senex-firewall")).filter((c) => /\b(restart|stop)\b/.test(c) && !c.includes("reload-or-restart"))).toEqual([]);
    const script = renderBootstrapScript(spec());
    const check = script.indexOf("nft -c -f /dev/stdin >/dev/null <<");
    expect(check).toBeGreaterThan(0);
    expect(check).toBeLessThan(script.indexOf("put_file 0600 root:root /etc/senex/firewall.nft"));
  });

  it("enables linger, starts the firewall, and applies sysctls tolerating a read-only /proc/sys", () => {
    const runcmd = (parse(renderCloudInit(spec())) as UserData).runcmd;
    expect(runcmd).toContainEqual(["loginctl", "enable-linger", "senex"]);
    expect(runcmd).toContainEqual(["systemctl", "enable", "--now", "senex-firewall.service"]);
    const sysctl = runcmd.find((c) => c.join(" ").includes("sysctl -p"))!;
    expect(sysctl[2]).toMatch(/sysctl -p \/etc\/sysctl\.d\/60-senex\.conf \|\| echo .*WARNING/);
  });

  it("adds the apt proxy and test CA only when given, and no sysctl on hosts without nginx", () => {
    const plain = parse(renderCloudInit(spec({ unprivilegedPortStart: undefined }))) as UserData;
    expect(plain.apt).toEqual({ conf: "Acquire::Retries \"5\";\nDPkg::Lock::Timeout \"300\";\n" }); // retries always, no proxy unless given
    expect(plain.ca_certs).toBeUndefined();
    expect(plain.write_files.map((f) => f.path)).not.toContain("/etc/sysctl.d/60-senex.conf");
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const withProxy = parse(renderCloudInit(spec({ aptProxy: "http://10.99.0.1:3142", caCertificates: [pem] }))) as UserData;
    expect(withProxy.apt).toEqual({ proxy: "http://10.99.0.1:3142", conf: "Acquire::Retries \"5\";\nDPkg::Lock::Timeout \"300\";\n" });
    expect(withProxy.ca_certs).toEqual({ trusted: [pem] });
  });

  it.each<[Partial<BootstrapSpec>, RegExp]>([
    [{ adminSshKeys: [] }, /at least one key/],
    [{ adminSshKeys: ["not a key"] }, /not an OpenSSH public key/],
    [{ hostname: "Main_Host" }, /`hostname`/],
    [{ aptProxy: "ftp://x" }, /`aptProxy`/],
    [{ unprivilegedPortStart: 2000 }, /unprivilegedPortStart/],
    [{ hostKey: { ed25519Private: "x", ed25519Public: "ssh-rsa AAA" } }, /ssh-ed25519[\s\S]*PEM/],
    [{ extraPackages: ["lego; rm -rf /"] }, /Debian package name/],
  ])("rejects %j", (override, message) => {
    expect(() => renderCloudInit(spec(override))).toThrow(message);
  });
});

describe("renderBootstrapScript (the same spec over SSH for existing hosts)", () => {
  it("matches the snapshot (phase 1 main)", () => {
    expect(renderBootstrapScript(spec())).toMatchSnapshot();
  });

  it("writes every file cloud-init writes, with the same content, and runs the same commands", () => {
    const s = spec({ aptProxy: "http://10.99.0.1:3142" });
    const script = renderBootstrapScript(s);
    for (const file of bootstrapFiles(s)) {
      expect(script).toContain(`put_file ${file.mode} ${file.owner} ${file.path} <<'SENEX_EOF'\n${file.content}SENEX_EOF`);
    }
    for (const command of bootstrapCommands(s)) {
      const line = command.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
      expect(script).toContain(`\n${line}\n`);
    }
    expect(script).toContain('Acquire::http::Proxy "http://10.99.0.1:3142";');
  });

  it("never touches the existing host's SSH host key, and checks sshd config before reloading", () => {
    const script = renderBootstrapScript(spec());
    expect(script).not.toContain("PRIVATE KEY");
    expect(script.indexOf("sshd -t")).toBeGreaterThan(0);
    expect(script.indexOf("sshd -t")).toBeLessThan(script.indexOf("reload-or-restart ssh.service"));
  });

  it("#11.1: root does nothing inside a user's home (links the user planted would be followed): every such step runs as the user", () => {
    const s = spec();
    const script = renderBootstrapScript(s);
    const homeLines = script.split("\n").filter((l) => l.includes("/home/") && !l.startsWith("#"));
    expect(homeLines.length).toBeGreaterThanOrEqual(5);
    for (const line of homeLines) expect(line).toMatch(/^(as_user (admin|senex) |put_file \d+ (admin|senex):\3 \/home\/\3\/|setpriv --reuid=senex )/);
    for (const command of bootstrapCommands(s).filter((c) => c.some((a) => a.startsWith("/home/")))) expect(command.slice(0, 6)).toEqual(asUser("senex"));
    // put_file runs every step of a user's file as that user
    const body = script.slice(script.indexOf("put_file() {"), script.indexOf("\n}\n", script.indexOf("put_file() {")));
    for (const step of ["install -d", "mktemp", "tee", "cmp -s", "rm -f", "chmod", "chown", "mv -f"]) expect(body).toMatch(new RegExp(`"\\$\\{as\\[@\\]\\}" ${step}`));
    expect(body).not.toMatch(/-o (admin|senex)/);
  });

  it("picks a heredoc tag that does not occur in the content", () => {
    const s = spec({ caCertificates: ["-----BEGIN CERTIFICATE-----\nSENEX_EOF\n-----END CERTIFICATE-----\n"] });
    expect(renderBootstrapScript(s)).toContain("<<'SENEX_EOF_0'\n-----BEGIN CERTIFICATE-----\nSENEX_EOF\n-----END CERTIFICATE-----\nSENEX_EOF_0");
  });
});
