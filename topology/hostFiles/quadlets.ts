// The host's Quadlet set: the topology's placed services as render/quadlet-host.ts service specs,
// rendered into ~/.config/containers/systemd. Also the unit names the other domains restart.
import { appSecretRefs } from "../../render/appenv";
import { quadletServiceName, type SecretRef } from "../../render/quadlet";
import { renderHostQuadlets, type AppRuntime, type HostService, type ResourceLimits } from "../../render/quadlet-host";
import type { PlacedService } from "../types";
import { senexFile, type HostFile } from "./file";
import { secretPlaceholder } from "./secrets";
import { PGBACKREST_CONF, archivesWal } from "./backups";
import { CONFIG_ROOT, CONTAINER_USERS, MONITOR_USER, QUADLET_DIR, REGISTRY_AUTH_FILE, STATE_ROOT, type HostContext } from "./layout";

/** The app env file every app container reads (render/appenv.ts renders it; see app.ts). */
export const APP_ENV_FILE = `${CONFIG_ROOT}/app/app.env`;

/** systemd --user unit of a placed service (what render/quadlet-host.ts names its file). */
export function unitOf(service: PlacedService): string {
  return service.kind === "daphne" ? `senex-daphne-${service.port}.service` : `senex-${service.name}.service`;
}

/** Units of the placed services of the given kinds, in the order the kinds are given (dependency order). */
export function unitsOf(ctx: HostContext, ...kinds: PlacedService["kind"][]): string[] {
  return kinds.flatMap((kind) => ctx.host.services.filter((s) => s.kind === kind).map(unitOf));
}

/**
 * The app's podman secrets. The TastyTrade credentials are optional stack values: a `Secret=`
 * naming a podman secret that was never created would stop the container from starting, so a
 * stack without them does not reference them.
 */
function appSecrets(ctx: HostContext): SecretRef[] {
  const tt = ctx.config.tastytrade;
  return appSecretRefs().filter((ref) => (ref.name === "senex-tastytrade-client-id" ? tt.clientId !== undefined : ref.name === "senex-tastytrade-client-secret" ? tt.clientSecret !== undefined : true));
}

function appRuntime(ctx: HostContext): AppRuntime {
  return {
    image: ctx.config.images.app,
    envFile: APP_ENV_FILE,
    secrets: appSecrets(ctx),
    asgiApplication: "senextrader.asgi:application",
    celeryApp: "senextrader",
    manage: ["python3", "manage.py"],
    healthPath: "/health/",
  };
}

function limitsOf(ctx: HostContext, service: PlacedService): ResourceLimits | undefined {
  const l = ctx.config.limits[service.name] ?? ctx.config.limits[service.kind];
  if (!l) return undefined;
  return { ...(l.memory !== undefined ? { memory: l.memory } : {}), ...(l.cpus !== undefined ? { cpus: l.cpus } : {}) };
}

/** Placed services that get no Quadlet: `backup` runs as timers (backups.ts). */
const NO_QUADLET: ReadonlySet<PlacedService["kind"]> = new Set(["backup"]);


/** The host's services as Quadlet specs (daphne instances folded into one spec with all ports). */
export function hostServices(ctx: HostContext): HostService[] {
  const { images } = ctx.config;
  const app = appRuntime(ctx);
  const out: HostService[] = [];
  const daphnePorts = ctx.host.services.filter((s) => s.kind === "daphne").map((s) => s.port!);
  // The Alertmanager Quadlet mounts the Slack webhook and heartbeat URL secrets the stack has; a
  // podman secret that was never created would keep the container from starting.
  // Alertmanager runs as nobody: the mounted secrets must be its files.
  const nobody = CONTAINER_USERS.nobody;
  const alertmanagerSecrets: SecretRef[] = [
    ...(ctx.config.alerts.slackWebhook ? ["senex-alert-slack-webhook"] : []),
    ...(ctx.config.alerts.heartbeatUrl ? ["senex-alert-heartbeat-url"] : []),
  ].map((name) => ({ name, type: "mount", mode: "0400", uid: nobody.uid, gid: nobody.gid }));
  for (const s of ctx.host.services) {
    if (NO_QUADLET.has(s.kind)) continue;
    const limits = limitsOf(ctx, s);
    const common = limits ? { limits } : {};
    switch (s.kind) {
      case "nginx":
        out.push({ kind: "nginx", image: images.nginx, ...common });
        break;
      case "daphne":
        // One spec for every instance on the host, placed where the first instance is.
        if (s.port === daphnePorts[0]) out.push({ kind: "daphne", app, ports: daphnePorts, ...common });
        break;
      case "migrate":
        out.push({ kind: "migrate", app });
        break;
      case "collectstatic":
        out.push({ kind: "collectstatic", app });
        break;
      case "postgres":
        out.push({ kind: "postgres", image: images.postgres, ...(archivesWal(ctx) ? { pgBackRest: { configFile: PGBACKREST_CONF.container } } : {}), ...common });
        break;
      case "pgbouncer":
        out.push({ kind: "pgbouncer", image: images.pgbouncer, ...common });
        break;
      case "redis-broker":
        out.push({ kind: "redis", role: "broker", image: images.redis, ...common });
        break;
      case "redis-cache":
        out.push({ kind: "redis", role: "cache", image: images.redis, ...common });
        break;
      case "sentinel":
        out.push({ kind: "sentinel", image: images.redis, ...common });
        break;
      case "celery-worker":
        out.push({ kind: "celery-worker", app, concurrency: ctx.config.celery.concurrency, stopTimeoutSec: ctx.config.celery.stopTimeoutSeconds, ...common });
        break;
      case "celery-beat":
        out.push({ kind: "celery-beat", app, ...common });
        break;
      case "prometheus":
        out.push({ kind: "prometheus", image: images.prometheus, ...common });
        break;
      case "alertmanager":
        out.push({ kind: "alertmanager", image: images.alertmanager, secrets: alertmanagerSecrets, ...common });
        break;
      case "grafana":
        out.push({ kind: "grafana", image: images.grafana, rootUrl: `https://${ctx.config.domain}/grafana/`, ...common });
        break;
      case "loki":
        out.push({ kind: "loki", image: images.loki, ...common });
        break;
      case "alloy":
        out.push({ kind: "alloy", image: images.alloy, ...common });
        break;
      case "node-exporter":
        out.push({ kind: "node-exporter", image: images.nodeExporter, ...common });
        break;
      case "postgres-exporter":
        out.push({ kind: "postgres-exporter", image: images.postgresExporter, databaseUser: MONITOR_USER, ...common });
        break;
      case "redis-exporter-broker":
        out.push({ kind: "redis-exporter", role: "broker", image: images.redisExporter, ...common });
        break;
      case "redis-exporter-cache":
        out.push({ kind: "redis-exporter", role: "cache", image: images.redisExporter, ...common });
        break;
      case "haproxy":
        out.push({ kind: "haproxy", image: images.haproxy, ...common });
        break;
      case "backup":
        break;
      default: {
        const never: never = s.kind;
        throw new Error(`hostFiles: unknown service kind ${String(never)}`);
      }
    }
  }
  return out;
}

/** The Quadlet files: each restarts its own generated unit when it changes. */
export function quadletFiles(ctx: HostContext): HostFile[] {
  const rendered = renderHostQuadlets({
    host: ctx.host.name,
    privateAddress: ctx.address,
    configRoot: CONFIG_ROOT,
    stateRoot: STATE_ROOT,
    services: hostServices(ctx),
    ...(ctx.config.registryAuth ? { registryAuthFile: REGISTRY_AUTH_FILE } : {}),
  });
  return Object.entries(rendered).map(([name, content]) => senexFile(`${QUADLET_DIR}/${name}`, content, [quadletServiceName(name)]));
}

/**
 * podman's registry login, when the stack has `registryAuth`: secret-derived (the password), so
 * only its display form is here. Pulls read it at start, nothing to restart.
 */
export function registryAuthFiles(ctx: HostContext): HostFile[] {
  const auth = ctx.config.registryAuth;
  if (!auth) return [];
  const display = JSON.stringify({ auths: { [auth.registry]: { auth: secretPlaceholder("registryAuthPassword", "base64-basic-auth") } } }, null, 2) + "\n";
  return [senexFile(REGISTRY_AUTH_FILE, display, [], { mode: "0600", fromSecrets: { kind: "registry-auth", registry: auth.registry, username: auth.username, password: "registryAuthPassword" } })];
}
