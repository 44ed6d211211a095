/**
 * The files topology/hostFiles.ts gives each host, through their real consumers (trixie chroot),
 * for one stack per phase: the host's whole Quadlet set through podman's generator
 * (`quadlet -dryrun`, every file must yield its unit) and `systemd-analyze verify`, the web
 * host's nginx.conf through `nginx -t` (certificate made by the host's own ACME script's
 * `placeholder` step, as nginx's ExecStartPre does), every host's firewall through `nft -c -f`, the
 * monitoring host's Prometheus/Alertmanager files through promtool and amtool (Alertmanager in
 * every combination of receivers a stack can have), the load balancer's haproxy.cfg through
 * `haproxy -c`, and every script (ACME, server TLS, backup, restore) through shellcheck.
 */
import * as path from "path";
import { parseStackConfig } from "../../config/schema";
import { SecretValue } from "../../config/secret";
import type { StackConfig } from "../../config/types";
import { rawConfigFromStackFile } from "../../plan/stackFile";
import { quadletServiceName } from "../../render/quadlet";
import { buildTopology } from "../../topology";
import { hostFiles, type HostFile } from "../../topology/hostFiles";
import { CONFIG_ROOT, FIREWALL_FILE, QUADLET_DIR, STATE_ROOT } from "../../topology/hostFiles/layout";
import type { Topology } from "../../topology/types";
import { runInTrixie } from "../support/trixie";

const ROOT = path.resolve(__dirname, "../..");
/** One stack per phase (Hetzner: fixed private addresses, like production), and existing servers in phase 3 (haproxy). */
const STACKS = ["examples/Pulumi.hetzner-phase1.yaml", "examples/Pulumi.hetzner-phase2.yaml", "Pulumi.production.yaml", "examples/Pulumi.existing-phase3.yaml"];

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

  it("the generated PostgreSQL unit passes the initdb arguments as one --env (Quadlet quoting of a value with spaces)", () => {
    const [, , files] = HOSTS.find(([stack, host]) => stack === "production" && host === "db-1")!;
    const inputs = Object.fromEntries(quadlets(files).map((f) => [`q/${path.basename(f.path)}`, f.content]));
    // systemd's own word splitting of the generated ExecStart= (systemd-run would run it; `systemd-analyze` shows the parse)
    const r = runInTrixie((dir) => ["sh", "-c", `QUADLET_UNIT_DIRS=${dir}/q /usr/libexec/podman/quadlet -no-kmsg-log -user -dryrun 2>/dev/null | sed -n '/^---senex-postgres.service---$/,/^---/p' | grep '^ExecStart='`], { files: inputs, timeoutMs: 120_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(' --env "POSTGRES_INITDB_ARGS=--auth-local=peer --auth-host=scram-sha-256" ');
    expect(r.stdout).toContain(" --env POSTGRES_HOST_AUTH_METHOD=trust ");
    expect(r.stdout).toContain(" --secret senex-backup-passphrase,type=env,target=PGBACKREST_REPO1_CIPHER_PASS ");
  });

  const lbs = HOSTS.filter(([, , files]) => files.some((f) => f.path === `${CONFIG_ROOT}/haproxy/haproxy.cfg`));
  it("covers the haproxy host of existing servers", () => expect(lbs.map(([s, h]) => `${s}/${h}`)).toEqual(["existing-phase3/lb-1"]));
  it.each(lbs)("%s %s: haproxy -c accepts the load balancer's haproxy.cfg", (_stack, _host, files) => {
    const cfg = files.find((f) => f.path === `${CONFIG_ROOT}/haproxy/haproxy.cfg`)!.content;
    const r = runInTrixie(["sh", "-c", "command -v haproxy >/dev/null || exit 77; haproxy -c -f haproxy.cfg"], { files: { "haproxy.cfg": cfg } });
    // 77: the tools chroot has no haproxy (prepare.sh installs it); then this is reported by the skip in haproxy.test.ts
    expect([0, 77]).toContain(r.code);
  });

  const alertCombos = (["slack", "email", "heartbeat"] as const).reduce<Array<Array<"slack" | "email" | "heartbeat">>>((acc, k) => [...acc, ...acc.map((c) => [...c, k])], [[]]);
  it.each(alertCombos.map((c) => [c.join("+") || "no receivers", c] as const))("amtool check-config accepts Alertmanager with %s", (_name, combo) => {
    const { config, topology } = load("Pulumi.production.yaml");
    const alerts = {
      ...(combo.includes("slack") ? { slackWebhook: new SecretValue("https://hooks.slack.invalid/x") } : {}),
      ...(combo.includes("email") ? { email: { to: "oncall@example.com", from: "alerts@example.com", smarthost: "smtp.example.com:587" } } : {}),
      ...(combo.includes("heartbeat") ? { heartbeatUrl: new SecretValue("https://heartbeat.example.net/x") } : {}),
    } as StackConfig["alerts"];
    const host = topology.hosts.find((h) => h.services.some((s) => s.kind === "alertmanager"))!;
    const files = hostFiles({ ...config, alerts }, topology, host).files;
    const yml = files.find((f) => f.path === `${CONFIG_ROOT}/alertmanager/alertmanager.yml`)!.content;
    const r = runInTrixie(["amtool", "check-config", "alertmanager.yml"], { files: { "alertmanager.yml": yml } });
    expect(r.stdout + r.stderr).toMatch(/SUCCESS/);
    expect(r.code).toBe(0);
    // Every alert has somewhere to go: the root route and the Watchdog route name declared receivers.
    const receivers = [...yml.matchAll(/^  - name: (\S+)$/gm)].map((m) => m[1]);
    for (const m of yml.matchAll(/receiver: (\S+)/g)) expect(receivers).toContain(m[1]);
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
