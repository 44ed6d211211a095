/**
 * The files topology/hostFiles.ts gives each host, through their real consumers (trixie chroot),
 * for one stack per phase: the host's whole Quadlet set through podman's generator
 * (`quadlet -dryrun`, every file must yield its unit) and `systemd-analyze verify`, the web
 * host's nginx.conf through `nginx -t` (certificate made by the host's own ACME script's
 * `placeholder` step, as nginx's ExecStartPre does), every host's firewall through `nft -c -f`, the
 * monitoring host's Prometheus/Alertmanager files through promtool and amtool, and every script
 * (ACME, backup, restore) through shellcheck.
 */
import * as path from "path";
import { parseStackConfig } from "../../config/schema";
import type { StackConfig } from "../../config/types";
import { rawConfigFromStackFile } from "../../plan/stackFile";
import { quadletServiceName } from "../../render/quadlet";
import { buildTopology } from "../../topology";
import { hostFiles, type HostFile } from "../../topology/hostFiles";
import { CONFIG_ROOT, FIREWALL_FILE, QUADLET_DIR, STATE_ROOT } from "../../topology/hostFiles/layout";
import type { Topology } from "../../topology/types";
import { runInTrixie } from "../support/trixie";

const ROOT = path.resolve(__dirname, "../..");
/** One stack per phase (Hetzner: fixed private addresses, like production). */
const STACKS = ["examples/Pulumi.hetzner-phase1.yaml", "examples/Pulumi.hetzner-phase2.yaml", "Pulumi.production.yaml"];

function load(rel: string): { name: string; config: StackConfig; topology: Topology } {
  const name = path.basename(rel).replace(/^Pulumi\./, "").replace(/\.yaml$/, "");
  const config = parseStackConfig(rawConfigFromStackFile(path.join(ROOT, rel)), "senex-infra", name);
  return { name, config, topology: buildTopology(config) };
}

const HOSTS = STACKS.flatMap((rel) => {
  const { name, config, topology } = load(rel);
  return topology.hosts.map((host) => [name, host.name, hostFiles(config, topology, host).files] as const);
});

const quadlets = (files: readonly HostFile[]) => files.filter((f) => f.path.startsWith(`${QUADLET_DIR}/`));

describe("hostFiles through their consumers", () => {
  it.each(HOSTS)("%s %s: the whole Quadlet set converts (quadlet -dryrun) and verifies (systemd-analyze)", (_stack, _host, files) => {
    const set = quadlets(files);
    expect(set.length).toBeGreaterThan(0);
    const inputs = Object.fromEntries(set.map((f) => [`q/${path.basename(f.path)}`, f.content]));
    const r = runInTrixie(
      (dir) => [
        "sh",
        "-c",
        [
          "set -e",
          `QUADLET_UNIT_DIRS=${dir}/q /usr/libexec/podman/quadlet -no-kmsg-log -user -dryrun >dryrun.out 2>quadlet.log || { cat quadlet.log >&2; exit 1; }`,
          // -dryrun prints `---NAME---` before each generated unit
          "sed -n 's/^---\\(.*\\)---$/\\1/p' dryrun.out | sort",
          "mkdir out",
          `QUADLET_UNIT_DIRS=${dir}/q /usr/libexec/podman/quadlet -no-kmsg-log -user out 2>>quadlet.log`,
          "cd out && systemd-analyze verify --user --man=no --generators=no *.service",
        ].join("\n"),
      ],
      { files: inputs, timeoutMs: 120_000 },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(set.map((f) => quadletServiceName(path.basename(f.path))).sort());
  });

  const web = HOSTS.filter(([, , files]) => files.some((f) => f.path === `${CONFIG_ROOT}/nginx/nginx.conf`));
  it.each(web)("%s %s: nginx -t accepts nginx.conf with the certificate the host's acme.sh placeholder step makes", (_stack, _host, files) => {
    const conf = files.find((f) => f.path === `${CONFIG_ROOT}/nginx/nginx.conf`)!.content;
    const script = files.find((f) => f.path === `${CONFIG_ROOT}/acme/acme.sh`)!.content;
    const r = runInTrixie((dir) => {
      // The host paths, moved into this call's directory; in the nginx container /etc/senex/tls,
      // /srv/acme and /srv/static are mounts of STATE_ROOT/tls, STATE_ROOT/acme-webroot and the static volume.
      const state = `${dir}/state`;
      const hostScript = script.split(STATE_ROOT).join(state);
      const hostConf = conf.split("/etc/senex/tls/").join(`${state}/tls/`).split("/srv/acme").join(`${state}/acme-webroot`).split("/srv/static").join(`${dir}/static`);
      return ["sh", "-c", `set -e\nmkdir -p ${dir}/static\ncat > acme.sh <<'EOF'\n${hostScript}EOF\ncat > nginx.conf <<'EOF'\n${hostConf}EOF\nbash acme.sh placeholder\nnginx -t -c ${dir}/nginx.conf >nginx.out`];
    });
    expect(r.stderr).toMatch(/syntax is ok[\s\S]*test is successful/);
    expect(r.code).toBe(0);
  });

  it.each(HOSTS)("%s %s: nft -c -f accepts the host firewall", (_stack, _host, files) => {
    const ruleset = files.find((f) => f.path === FIREWALL_FILE)!.content;
    const r = runInTrixie(["nft", "-c", "-f", "firewall.nft"], { files: { "firewall.nft": ruleset } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  const monitoring = HOSTS.filter(([, , files]) => files.some((f) => f.path === `${CONFIG_ROOT}/prometheus/prometheus.yml`));
  it.each(monitoring)("%s %s: promtool check config/rules and amtool check-config accept the monitoring files", (_stack, _host, files) => {
    const at = (rel: string) => files.find((f) => f.path === `${CONFIG_ROOT}/${rel}`)!.content;
    // The rule file path as the container sees it, moved next to prometheus.yml.
    const prometheus = at("prometheus/prometheus.yml").split("/etc/senex/prometheus/senex.rules.yml").join("senex.rules.yml");
    expect(prometheus).toContain("- senex.rules.yml");
    const r = runInTrixie(["sh", "-c", "set -e\npromtool check config prometheus.yml\npromtool check rules senex.rules.yml\namtool check-config alertmanager.yml"], {
      files: { "prometheus.yml": prometheus, "senex.rules.yml": at("prometheus/senex.rules.yml"), "alertmanager.yml": at("alertmanager/alertmanager.yml") },
    });
    expect(r.stderr).not.toMatch(/FAILED|error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: 1 rule files found/);
  });

  const scripts = HOSTS.flatMap(([stack, host, files]) => files.filter((f) => f.mode === "0755").map((f) => [stack, host, path.basename(f.path), f.content] as const));
  it.each(scripts)("%s %s: shellcheck accepts %s", (_stack, _host, name, content) => {
    const r = runInTrixie(["shellcheck", "--shell=bash", name], { files: { [name]: content } });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("a Quadlet set with a dependency on a unit missing from the host fails the check (the check can fail)", () => {
    const [, , files] = HOSTS.find(([stack, host]) => stack === "production" && host === "web-1")!;
    const set = quadlets(files).filter((f) => !f.path.endsWith("/senex-migrate.container"));
    const inputs = Object.fromEntries(set.map((f) => [`q/${path.basename(f.path)}`, f.content]));
    const r = runInTrixie(
      (dir) => ["sh", "-c", `set -e\nmkdir out\nQUADLET_UNIT_DIRS=${dir}/q /usr/libexec/podman/quadlet -no-kmsg-log -user out 2>/dev/null\ncd out && systemd-analyze verify --user --man=no --generators=no *.service`],
      { files: inputs, timeoutMs: 120_000 },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/senex-migrate\.service/);
  });
});
