/**
 * Fixtures for the part-A renderers' tests (unit and consumers): the hosts of all three phases
 * with the services ARCHITECTURE.md places on them, built from one small deployment input the way
 * the deployment will (images, addresses, domain, secrets). Secrets are part of the input on
 * purpose: the property tests prove no rendered file ever contains one.
 */
import { appSecretRefs, renderAppEnv, type AppEnvSpec } from "../../../render/appenv";
import { renderAcmeScript, renderAcmeUnits, type AcmeSpec } from "../../../render/acme";
import { renderBootstrapScript, renderCloudInit, type BootstrapSpec } from "../../../render/cloudinit";
import { parseStackConfig } from "../../../config/schema";
import { rawConfigFromValues } from "../../../plan/stackFile";
import { renderNftables, type FirewallSpec } from "../../../render/nftables";
import { renderNginxConf, type NginxSpec } from "../../../render/nginx";
import { nginxHostPaths, renderHostQuadlets, type AppRuntime, type HostQuadletSpec, type HostService } from "../../../render/quadlet-host";
import { buildTopology } from "../../../topology";
import { hostFirewall } from "../../../topology/firewall";
import { minimalStack } from "../config/minimalStack";

export type Phase = 1 | 2 | 3;

const CONFIG_ROOT = "/home/senex/.config/senex";
const STATE_ROOT = "/home/senex/.local/state/senex";

/** What the deployment hands the renderers, including secret values that must never appear. */
export interface DeploymentInput {
  readonly phase: Phase;
  readonly domain: string;
  readonly appImage: string;
  readonly daphnePerHost: number;
  readonly webCount: number;
  readonly workerCount: number;
  readonly limits?: { readonly memory?: string; readonly cpus?: number; readonly pids?: number };
  /** Secret values by podman secret name (present in the input, absent from every output). */
  readonly secrets: Readonly<Record<string, string>>;
}

export const SECRET_NAMES = [
  "senex-django-secret-key",
  "senex-field-encryption-key",
  "senex-db-app-password",
  "senex-db-replication-password",
  "senex-db-pgbouncer-password",
  "senex-redis-password",
  "senex-grafana-admin-password",
  "senex-backup-passphrase",
  "senex-tastytrade-client-id",
  "senex-tastytrade-client-secret",
  "senex-alert-slack-webhook",
] as const;

export const ADMIN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq0tZb7cK3pE8Wm2Jd0vR6u1XyN4sQ9fA5hL2oT7iBc admin@senex";

export function defaultInput(phase: Phase, overrides: Partial<DeploymentInput> = {}): DeploymentInput {
  return {
    phase,
    domain: "senextrader.test",
    appImage: `registry.senex.test/senex-app@sha256:${"3f".repeat(32)}`,
    daphnePerHost: 2,
    webCount: 2,
    workerCount: 2,
    secrets: Object.fromEntries(SECRET_NAMES.map((n) => [n, `value-of-${n}-Zq81`])),
    ...overrides,
  };
}

const IMAGES = {
  postgres: "registry.senex.test/postgres:17",
  pgbouncer: "registry.senex.test/pgbouncer:1.24",
  redis: "registry.senex.test/valkey:8.1",
  nginx: "registry.senex.test/nginx:1.26",
  nodeExporter: "registry.senex.test/node-exporter:1.9",
  postgresExporter: "registry.senex.test/postgres-exporter:0.17",
  redisExporter: "registry.senex.test/redis-exporter:1.67",
  prometheus: "registry.senex.test/prometheus:2.53",
  alertmanager: "registry.senex.test/alertmanager:0.28",
  grafana: "docker.io/grafana/grafana:11.3.0",
  loki: "docker.io/grafana/loki:3.3.0",
  alloy: "docker.io/grafana/alloy:v1.5.0",
};

/** One host of a phase: its name, address, services, and whether it faces the internet. */
export interface FixtureHost {
  readonly name: string;
  readonly privateAddress: string;
  readonly services: readonly HostService[];
  readonly publicHttp: boolean;
}

export interface FixtureDeployment {
  readonly input: DeploymentInput;
  readonly hosts: readonly FixtureHost[];
  readonly loadBalancer?: string;
  readonly app: AppRuntime;
  readonly env: AppEnvSpec;
}

export function deployment(input: DeploymentInput): FixtureDeployment {
  const app: AppRuntime = {
    image: input.appImage,
    envFile: "/home/senex/.config/senex/app/app.env",
    secrets: appSecretRefs(),
    asgiApplication: "senextrader.asgi:application",
    celeryApp: "senextrader",
    manage: ["python3", "manage.py"],
    healthPath: "/health/",
  };
  const limits = input.limits;
  const daphnePorts = Array.from({ length: input.daphnePerHost }, (_, i) => 8001 + i);
  const node: HostService = { kind: "node-exporter", image: IMAGES.nodeExporter, limits };
  const alloy: HostService = { kind: "alloy", image: IMAGES.alloy, limits };
  const web = (migrate: boolean): HostService[] => [
    { kind: "nginx", image: IMAGES.nginx, limits },
    ...(migrate ? [{ kind: "migrate", app } as const] : []),
    { kind: "collectstatic", app },
    { kind: "daphne", app, ports: daphnePorts, limits },
  ];
  const db: HostService[] = [
    { kind: "postgres", image: IMAGES.postgres, limits },
    { kind: "postgres-exporter", image: IMAGES.postgresExporter, databaseUser: "senex_monitor" },
  ];
  const redis = (sentinel: boolean): HostService[] => [
    { kind: "redis", role: "broker", image: IMAGES.redis, limits },
    { kind: "redis", role: "cache", image: IMAGES.redis, limits },
    { kind: "redis-exporter", role: "broker", image: IMAGES.redisExporter },
    { kind: "redis-exporter", role: "cache", image: IMAGES.redisExporter },
    ...(sentinel ? [{ kind: "sentinel", image: IMAGES.redis } as const] : []),
  ];
  const monitoring = (grafanaUrl: string, loki: boolean): HostService[] => [
    { kind: "prometheus", image: IMAGES.prometheus },
    { kind: "alertmanager", image: IMAGES.alertmanager },
    { kind: "grafana", image: IMAGES.grafana, rootUrl: grafanaUrl },
    ...(loki ? [{ kind: "loki", image: IMAGES.loki } as const] : []),
  ];
  const grafanaUrl = `https://${input.domain}/grafana/`;
  const envBase = { domain: input.domain, settingsModule: "senextrader.settings.production", staticRoot: "/srv/static" };

  switch (input.phase) {
    case 1: {
      const hosts: FixtureHost[] = [
        { name: "main", privateAddress: "10.0.1.10", publicHttp: true, services: [...db, ...redis(false), ...web(true), { kind: "celery-worker", app, limits }, { kind: "celery-beat", app }, node] },
      ];
      const env: AppEnvSpec = { ...envBase, database: { name: "senextrader", user: "senex", endpoint: { mode: "direct", host: "10.0.1.10" } }, redis: { mode: "direct", host: "10.0.1.10" } };
      return { input, hosts, app, env };
    }
    case 2: {
      const hosts: FixtureHost[] = [
        { name: "web-1", privateAddress: "10.0.1.10", publicHttp: true, services: [...web(true), ...monitoring(grafanaUrl, false), node, alloy] },
        { name: "db-1", privateAddress: "10.0.1.20", publicHttp: false, services: [...db, { kind: "pgbouncer", image: IMAGES.pgbouncer }, node, alloy] },
        { name: "cache-1", privateAddress: "10.0.1.30", publicHttp: false, services: [...redis(false), { kind: "celery-worker", app, limits }, { kind: "celery-beat", app }, node, alloy] },
      ];
      const env: AppEnvSpec = { ...envBase, database: { name: "senextrader", user: "senex", endpoint: { mode: "pgbouncer", host: "10.0.1.20" } }, redis: { mode: "direct", host: "10.0.1.30" } };
      return { input, hosts, app, env };
    }
    case 3: {
      const hosts: FixtureHost[] = [
        ...Array.from({ length: input.webCount }, (_, i): FixtureHost => ({ name: `web-${i + 1}`, privateAddress: `10.0.1.${11 + i}`, publicHttp: true, services: [...web(i === 0), node, alloy] })),
        ...[1, 2].map((i): FixtureHost => ({ name: `db-${i}`, privateAddress: `10.0.1.${20 + i}`, publicHttp: false, services: [...db, { kind: "pgbouncer", image: IMAGES.pgbouncer }, node, alloy] })),
        ...[1, 2, 3].map((i): FixtureHost => ({ name: `redis-${i}`, privateAddress: `10.0.1.${30 + i}`, publicHttp: false, services: [...redis(true), node, alloy] })),
        ...Array.from({ length: input.workerCount }, (_, i): FixtureHost => ({
          name: `worker-${i + 1}`,
          privateAddress: `10.0.1.${41 + i}`,
          publicHttp: false,
          services: [{ kind: "celery-worker", app, limits }, ...(i === 0 ? [{ kind: "celery-beat", app } as const] : []), node, alloy],
        })),
        { name: "monitoring-1", privateAddress: "10.0.1.50", publicHttp: false, services: [...monitoring(grafanaUrl, true), node, alloy] },
      ];
      const env: AppEnvSpec = {
        ...envBase,
        database: { name: "senextrader", user: "senex", endpoint: { mode: "pgbouncer", host: "10.0.1.21" } },
        redis: { mode: "sentinel", sentinels: ["10.0.1.31", "10.0.1.32", "10.0.1.33"], brokerMaster: "senex-broker", cacheMaster: "senex-cache" },
      };
      return { input, hosts, app, env, loadBalancer: "10.0.1.2" };
    }
    default: {
      const never: never = input.phase;
      throw new Error(`phase ${String(never)}`);
    }
  }
}

/**
 * A fixture host's firewall from the one firewall policy there is (topology/firewall.ts): the
 * topology of a Hetzner stack with the fixture's phase and counts has the same host names, and
 * its peers resolve to the fixture's addresses.
 */
export function firewallFor(d: FixtureDeployment, host: FixtureHost): FirewallSpec {
  const { phase, webCount, workerCount, daphnePerHost } = d.input;
  const config = parseStackConfig(
    rawConfigFromValues(
      minimalStack({
        "senex-infra:phase": phase,
        "senex-infra:daphnePerHost": daphnePerHost,
        "senex-infra:backups": { enabled: false },
        ...(phase === 3 ? { "senex-infra:webCount": webCount, "senex-infra:workerCount": workerCount } : {}),
      }),
    ),
    "senex-infra",
    "fixture",
  );
  const topology = buildTopology(config);
  const twin = topology.hosts.find((h) => h.name === host.name);
  if (!twin) throw new Error(`fixture: the phase-${phase} topology has no host ${host.name}`);
  return hostFirewall(config, topology, twin, (name) => d.hosts.find((h) => h.name === name)?.privateAddress);
}

export function quadletSpec(host: FixtureHost, registryAuthFile?: string): HostQuadletSpec {
  return {
    host: host.name,
    privateAddress: host.privateAddress,
    configRoot: CONFIG_ROOT,
    stateRoot: STATE_ROOT,
    services: host.services,
    ...(registryAuthFile ? { registryAuthFile } : {}),
  };
}

export function nginxSpec(d: FixtureDeployment, host: FixtureHost): NginxSpec {
  const daphne = host.services.find((s) => s.kind === "daphne");
  const grafanaHost = d.hosts.find((h) => h.services.some((s) => s.kind === "grafana"));
  return {
    domain: d.input.domain,
    upstreams: daphne && daphne.kind === "daphne" ? daphne.ports.map((port) => ({ address: host.privateAddress, port })) : [],
    realIp: d.loadBalancer ? { mode: "proxy-protocol", trustedFrom: [d.loadBalancer] } : { mode: "direct" },
    ...(grafanaHost ? { grafana: { address: grafanaHost.privateAddress, port: 3000 } } : {}),
  };
}

export function acmeSpec(d: FixtureDeployment): AcmeSpec {
  return {
    domain: d.input.domain,
    email: `ops@${d.input.domain}`,
    directoryUrl: "https://acme-v02.api.letsencrypt.org/directory",
    legoPath: "/home/senex/.local/state/senex/lego",
    // the same paths the nginx Quadlet mounts, from the one function both use
    ...nginxHostPaths({ configRoot: CONFIG_ROOT, stateRoot: STATE_ROOT }),
  };
}

export function bootstrapSpec(d: FixtureDeployment, host: FixtureHost, hostKey?: BootstrapSpec["hostKey"]): BootstrapSpec {
  return {
    hostname: host.name,
    adminSshKeys: [ADMIN_KEY],
    ...(hostKey ? { hostKey } : {}),
    firewall: firewallFor(d, host),
    ...(host.publicHttp ? { unprivilegedPortStart: 80, extraPackages: ["lego"] } : {}),
  };
}

/** Every file part A renders for one host (name → content), as the deployment would ship them. */
export function renderHostFiles(d: FixtureDeployment, host: FixtureHost, hostKey?: BootstrapSpec["hostKey"]): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, content] of Object.entries(renderHostQuadlets(quadletSpec(host)))) files[`quadlet/${name}`] = content;
  files["nftables/firewall.nft"] = renderNftables(firewallFor(d, host));
  files["cloud-init/user-data"] = renderCloudInit(bootstrapSpec(d, host, hostKey));
  files["bootstrap/bootstrap.sh"] = renderBootstrapScript(bootstrapSpec(d, host));
  if (host.services.some((s) => "app" in s)) files["app/app.env"] = renderAppEnv(d.env);
  if (host.publicHttp) {
    files["nginx/nginx.conf"] = renderNginxConf(nginxSpec(d, host));
    files["acme/acme.sh"] = renderAcmeScript(acmeSpec(d));
    for (const [name, content] of Object.entries(renderAcmeUnits(acmeSpec(d)))) files[`systemd-user/${name}`] = content;
  }
  return files;
}
