/**
 * The Day-0 bootstrap through its real consumers (trixie chroot): the user-data of every host of
 * every phase through `cloud-init schema`, the equivalent bootstrap script through shellcheck,
 * and each file it writes through the program that reads it: sshd -t (hardening drop-in),
 * visudo -c (sudoers), fail2ban-client -t (jail), apt-config (unattended-upgrades),
 * systemd-analyze verify (firewall unit), sysctl (port 80 for rootless nginx), nft -c (rules).
 */
import { bootstrapCommands, bootstrapFiles, renderBootstrapScript, renderCloudInit } from "../../render/cloudinit";
import { runInTrixie } from "../support/trixie";
import { bootstrapSpec, defaultInput, deployment, type Phase } from "../unit/render/phase-hosts";

const HOST_KEY = {
  ed25519Private: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n",
  ed25519Public: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAUQrzN6ZOLHdPIH52JAUBf3JXKt8NKkj5tDQhyxdDgm host",
};
const TEST_CA = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGUtZm9yLXRlc3RzMAoGCCqGSM49BAMC\n-----END CERTIFICATE-----\n";

const hosts = ([1, 2, 3] as Phase[]).flatMap((phase) => {
  const d = deployment(defaultInput(phase));
  return d.hosts.map((h) => [phase, h.name, { ...bootstrapSpec(d, h, HOST_KEY), aptProxy: "http://10.99.0.1:3142", caCertificates: [TEST_CA] }] as const);
});

describe("cloud-init user-data and the bootstrap script", () => {
  // One chroot call for all hosts, the checks of each host running in parallel (cloud-init's CLI
  // takes ~1.7 s to start): results are read back per host below.
  let results: Map<string, { code: string; output: string }>;
  beforeAll(() => {
    const files: Record<string, string> = {};
    hosts.forEach(([phase, name, spec]) => {
      files[`p${phase}-${name}/user-data`] = renderCloudInit(spec);
      files[`p${phase}-${name}/bootstrap.sh`] = renderBootstrapScript(spec);
    });
    const r = runInTrixie(
      [
        "bash",
        "-c",
        [
          "for d in p*/; do",
          '  (cd "$d" && { cloud-init schema --config-file user-data && shellcheck -S style bootstrap.sh && bash -n bootstrap.sh; } >out 2>&1; echo $? >rc) &',
          "done",
          "wait",
          'for d in p*/; do printf "%s\\t%s\\t%s\\n" "${d%/}" "$(cat "$d/rc")" "$(tr "\\n" " " < "$d/out")"; done',
        ].join("\n"),
      ],
      { files, timeoutMs: 180_000 },
    );
    expect(r.stderr).toBe("");
    results = new Map(
      r.stdout
        .trim()
        .split("\n")
        .map((line) => line.split("\t"))
        .map(([host, code, output]) => [host!, { code: code!, output: output!.trim() }]),
    );
  });

  it.each(hosts)("phase %i %s: cloud-init schema accepts the user-data, shellcheck the script", (phase, name) => {
    expect(results.get(`p${phase}-${name}`)).toEqual({ code: "0", output: "Valid schema user-data" });
  });

  it("a broken user-data fails cloud-init schema, a broken script fails shellcheck (the checks can fail)", () => {
    const [, , spec] = hosts[0]!;
    const userData = renderCloudInit(spec).replace("disable_root: true", 'disable_root: "yes please"');
    const script = renderBootstrapScript(spec).replace('tmp="$("${as[@]}" mktemp "$path.senex-XXXXXX")"', "tmp=$(mktemp $path.senex-XXXXXX)");
    expect(userData).toContain("yes please");
    expect(script).toContain("mktemp $path");
    const schema = runInTrixie(["cloud-init", "schema", "--config-file", "user-data"], { files: { "user-data": userData } });
    expect(schema.code).not.toBe(0);
    expect(schema.stdout + schema.stderr).toMatch(/disable_root/);
    const lint = runInTrixie(["shellcheck", "bootstrap.sh"], { files: { "bootstrap.sh": script } });
    expect(lint.code).not.toBe(0);
    expect(lint.stdout).toMatch(/SC2086/);
  });

  it("every written file passes the program that reads it", () => {
    const [, , spec] = hosts[0]!; // phase 1 main: public web host, so the sysctl file is there too
    const files = new Map(bootstrapFiles(spec).map((f) => [f.path, f.content]));
    const r = runInTrixie(
      (dir) => [
        "sh",
        "-c",
        [
          "set -e",
          "mkdir -p /run/sshd",
          "ssh-keygen -q -t ed25519 -N '' -f hostkey",
          `printf 'HostKey ${dir}/hostkey\\nInclude ${dir}/sshd-senex.conf\\n' > sshd_config`,
          `sshd -t -f ${dir}/sshd_config && echo sshd ok`,
          "sshd -T -f sshd_config -C user=senex,host=x,addr=10.0.0.1 | grep -E '^(permitrootlogin|passwordauthentication|allowusers) ' | sort | tr '\\n' ';'; echo",
          "visudo -c -q -f sudoers && echo sudoers ok",
          "cp -r /etc/fail2ban f2b && cp jail.conf f2b/jail.d/senex.conf && fail2ban-client -c f2b -t >/dev/null && echo fail2ban ok",
          "apt-config -c auto-upgrades dump | grep -x 'APT::Periodic::Unattended-Upgrade \"1\";'",
          "apt-config -c unattended dump | grep -x 'Unattended-Upgrade::Automatic-Reboot \"false\";'",
          "systemd-analyze verify --man=no --generators=no ./senex-firewall.service && echo unit ok",
          "nft -c -f firewall.nft && echo nft ok",
          "sysctl -p sysctl.conf && sysctl -n net.ipv4.ip_unprivileged_port_start",
        ].join("\n"),
      ],
      {
        files: {
          "sshd-senex.conf": files.get("/etc/ssh/sshd_config.d/10-senex.conf")!,
          sudoers: files.get("/etc/sudoers.d/90-senex-admin")!,
          "jail.conf": files.get("/etc/fail2ban/jail.d/senex.conf")!,
          "auto-upgrades": files.get("/etc/apt/apt.conf.d/20auto-upgrades")!,
          unattended: files.get("/etc/apt/apt.conf.d/52senex-unattended-upgrades")!,
          "senex-firewall.service": files.get("/etc/systemd/system/senex-firewall.service")!,
          "firewall.nft": files.get("/etc/senex/firewall.nft")!,
          "sysctl.conf": files.get("/etc/sysctl.d/60-senex.conf")!,
        },
      },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toEqual([
      "sshd ok",
      "allowusers admin;allowusers senex;passwordauthentication no;permitrootlogin no;",
      "sudoers ok",
      "fail2ban ok",
      'APT::Periodic::Unattended-Upgrade "1";',
      'Unattended-Upgrade::Automatic-Reboot "false";',
      "unit ok",
      "nft ok",
      "net.ipv4.ip_unprivileged_port_start = 80",
      "80",
      "",
    ]);
    expect(r.code).toBe(0);
  });

  it("the bootstrap script runs for real on an overlay of a trixie root, converges, and a second run changes no file", () => {
    const [, , spec] = hosts[0]!;
    // systemd is not PID 1 here and there is no network: stubs record systemctl/loginctl/apt-get
    // calls; everything else (useradd, usermod, install, sshd -t, update-ca-certificates, sudo) is real.
    const stub = "#!/bin/sh\necho \"$(basename \"$0\") $*\" >> /var/log/senex-stub.log\n";
    const r = runInTrixie(
      [
        "sh",
        "-c",
        [
          "set -e",
          "mkdir -p /tmp/up /tmp/work /tmp/ov",
          // an overlay: the shared tools root stays untouched, the script writes to tmpfs
          "mount -t overlay overlay -o lowerdir=/,upperdir=/tmp/up,workdir=/tmp/work /tmp/ov",
          "mount --bind /proc /tmp/ov/proc && mount --rbind /dev /tmp/ov/dev",
          "mount -t tmpfs tmpfs /tmp/ov/tmp && mount -t tmpfs tmpfs /tmp/ov/run && mkdir -p /tmp/ov/run/sshd",
          "for s in systemctl loginctl apt-get; do cp stub /tmp/ov/usr/local/sbin/$s; chmod 755 /tmp/ov/usr/local/sbin/$s; done",
          `cp bootstrap.sh /tmp/ov/root/bootstrap.sh`,
          "chroot /tmp/ov bash /root/bootstrap.sh > first.log",
          "touch /tmp/ov/root/marker && sleep 1.1",
          "chroot /tmp/ov bash /root/bootstrap.sh > second.log",
          "echo \"changed on second run: $(chroot /tmp/ov find /etc /home /usr/local/share/ca-certificates -newer /root/marker -type f | sort | tr '\\n' ' ')\"",
          "chroot /tmp/ov getent passwd admin senex | cut -d: -f1,6,7",
          "chroot /tmp/ov stat -c '%n %a %U' /home/admin/.ssh/authorized_keys /home/senex/.ssh/authorized_keys /etc/senex/firewall.nft /etc/sudoers.d/90-senex-admin",
          "chroot /tmp/ov grep '^senex:' /etc/subuid /etc/subgid",
          "chroot /tmp/ov passwd --status senex | cut -d' ' -f1,2",
          "chroot /tmp/ov sudo -l -U admin | grep -c 'NOPASSWD: ALL'",
          "chroot /tmp/ov sudo -l -U senex | grep -c 'not allowed to run sudo'",
          "chroot /tmp/ov grep -c 'BEGIN CERTIFICATE' /usr/local/share/ca-certificates/senex-1.crt",
          "grep -c '^systemctl enable --now senex-firewall.service$' /tmp/ov/var/log/senex-stub.log",
          "grep -c '^loginctl enable-linger senex$' /tmp/ov/var/log/senex-stub.log",
          "tail -1 second.log",
        ].join("\n"),
      ],
      { files: { "bootstrap.sh": renderBootstrapScript(spec), stub }, timeoutMs: 90_000 },
    );
    // known benign noise: Debian's rehash skips the bundle file; the namespace's host name is not in /etc/hosts
    const noise = /^(rehash: warning: skipping ca-certificates\.crt.*|sudo: unable to resolve host .*)\n/gm;
    expect(r.stderr.replace(noise, "")).toBe("");
    expect(r.stdout.split("\n")).toEqual([
      "changed on second run: ",
      "admin:/home/admin:/bin/bash",
      "senex:/home/senex:/bin/bash",
      "/home/admin/.ssh/authorized_keys 600 admin",
      "/home/senex/.ssh/authorized_keys 600 senex",
      "/etc/senex/firewall.nft 600 root",
      "/etc/sudoers.d/90-senex-admin 440 root",
      expect.stringMatching(/^\/etc\/subuid:senex:\d+:65536$/),
      expect.stringMatching(/^\/etc\/subgid:senex:\d+:65536$/),
      "senex L",
      "1",
      "1",
      "1",
      "2",
      "2",
      "senex-bootstrap: done",
      "",
    ]);
    expect(r.code).toBe(0);
  });

  it.each([
    ["writable", "", /^$/, "80"],
    ["read-only (as on nspawn test hosts)", "mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys", /senex-bootstrap: WARNING: \/etc\/sysctl\.d\/60-senex\.conf not applied now/, "1024"],
  ])("the sysctl step with /proc/sys %s: applies, or warns and carries on", (_what, makeReadOnly, warning, port) => {
    const [, , spec] = hosts[0]!;
    const sysctl = bootstrapCommands(spec).find((c) => c.join(" ").includes("sysctl -p"))!;
    const file = bootstrapFiles(spec).find((f) => f.path === "/etc/sysctl.d/60-senex.conf")!;
    const r = runInTrixie(
      [
        "sh",
        "-c",
        // a tmpfs over /etc/sysctl.d (private mount namespace): the shared chroot stays untouched
        `set -e; mount -t tmpfs tmpfs /etc/sysctl.d && cp sysctl.conf /etc/sysctl.d/60-senex.conf; ${makeReadOnly || "true"}; "$@"; sysctl -n net.ipv4.ip_unprivileged_port_start`,
        "sh",
        ...sysctl,
      ],
      { files: { "sysctl.conf": file.content } },
    );
    expect(r.code).toBe(0);
    expect(r.stderr.replace(/^sysctl: .*\n/m, "")).toMatch(warning);
    expect(r.stdout.trim().split("\n").pop()).toBe(port);
  });
});
