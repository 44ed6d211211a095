// The set of Quadlet files one host gets, built from the list of services the topology places on
// it. Pure: spec in, { file name → content } out (paths relative to ~/.config/containers/systemd).
//
// Decisions (why):
// - Every service uses `Network=host`, bound to the host's private address. A rootless bridge +
//   PublishPort hides the client address (rootlessport), which breaks pg_hba/Redis rules by source
//   address and nginx rate limits; and from a rootless bridge the host's own private address is
//   not reliably reachable (pasta copies it into the namespace), so app containers could not reach
//   a database on the same host. `senex.network` is still rendered (one per host) for services a
//   spec opts into with `network: "senex"`; those get `PublishPort=` on the private address.
// - Start order follows the seeds: postgres → pgbouncer → redis → migrate (once per image) →
//   collectstatic → daphne → celery worker → celery beat; nginx is independent. Dependencies are
//   only written between units on the same host (a unit naming a service on another host would
//   make systemd fail it); cross-host readiness is the deployment's health gate.
// - `migrate` is a oneshot whose stamp file carries the image digest: it runs when a new image
//   arrives (its content changes, so the apply restarts it) and is skipped on reboots and on later
//   starts with the same image (`ConditionPathExists=!stamp` skips without failing dependents).
// - Celery workers get `StopTimeout=` (podman's own stop wait, default 10 s) AND `TimeoutStopSec=`
//   (systemd's) long enough to finish an order task after SIGTERM (Celery's warm shutdown).
// - Resource limits are optional and omitted when unset: the test hosts have no cgroup
//   controllers, a real VPS does. Podman 5.4 Quadlet has no Memory= key, so memory/cpus go
//   through PodmanArgs.

import { createHash } from "node:crypto";
import { PGBACKREST_SECRET_ENV } from "./backup";
import { CELERY_QUEUE_EXPORTER_FLAG } from "./prometheus";
import { shellWord } from "./shell-words";
import { quadletServiceName, renderQuadlet, type ContainerSection, type QuadletFile, type SecretRef, type ServiceSection, type UnitSection } from "./quadlet";

/**
 * The uid/gid each image's service process runs as inside its container (the official images;
 * images built for tests must create the same ids). Rootless Podman maps container uid 0 to
 * `senex` and uid N ≥ 1 to a subordinate id, so a 0600 file senex writes is root:root inside the
 * container and unreadable to these users: files such a process must read or rewrite are chowned
 * to these ids in senex's user namespace (`podman unshare chown`), and secrets are mounted with
 * their `uid=`. One place: a stack that swaps an image for one with other ids changes it here.
 */
export const CONTAINER_USERS = {
  /** postgres:*-bookworm: `postgres` 999:999 (the entrypoint drops to it from root). */
  postgres: { uid: 999, gid: 999, name: "postgres" },
  /** redis:*-bookworm: `redis` 999:999 (the entrypoint drops to it from root). */
  redis: { uid: 999, gid: 999, name: "redis" },
  /** bitnami/pgbouncer: uid 1001, group root (Bitnami's non-root convention). */
  pgbouncer: { uid: 1001, gid: 0, name: "pgbouncer" },
  /** postgres-exporter, node-exporter, prometheus, alertmanager: `nobody`. */
  nobody: { uid: 65534, gid: 65534, name: "nobody" },
  /** grafana/grafana-oss: `grafana` 472:0. */
  grafana: { uid: 472, gid: 0, name: "grafana" },
} as const;

/** A uid/gid pair inside a container. */
export interface ContainerUser {
  readonly uid: number;
  readonly gid: number;
}

/** Where the app's shared volumes are mounted in its containers (the app env names the same paths). */
export const APP_VOLUMES = {
  /** collectstatic writes, nginx serves. */
  static: { volume: "senex-static", path: "/srv/static" },
  /** Uploaded files (MEDIA_ROOT): daphne and the Celery worker write, the media backup reads. */
  media: { volume: "senex-media", path: "/srv/media" },
} as const;

/** Optional per-container resource limits; omit on hosts without cgroup controllers. */
export interface ResourceLimits {
  /** Memory limit in podman syntax, e.g. `512m`, `2g`. */
  readonly memory?: string;
  /** CPU quota, e.g. 1.5. */
  readonly cpus?: number;
  /** Maximum number of processes. */
  readonly pids?: number;
}

/** What the Django/Daphne/Celery containers share. */
export interface AppRuntime {
  /** App image reference; pin by digest (`…@sha256:…`) in production so `migrate` runs once per image. */
  readonly image: string;
  /** Host path of the non-secret env file (rendered by render/appenv.ts). */
  readonly envFile: string;
  /** Podman secrets for the app (from render/appenv.ts `appSecretRefs`). */
  readonly secrets: readonly SecretRef[];
  /** ASGI application path for daphne, e.g. `senextrader.asgi:application`. */
  readonly asgiApplication: string;
  /** Celery app name for `celery -A`, e.g. `senextrader`. */
  readonly celeryApp: string;
  /** Command that runs Django management commands, e.g. `["python3", "manage.py"]`. */
  readonly manage: readonly string[];
  /** Health endpoint path served by the app, e.g. `/health/`. */
  readonly healthPath: string;
}

interface ServiceCommon {
  /** Optional limits; see {@link ResourceLimits}. */
  readonly limits?: ResourceLimits;
  /** `host` (default) or the host's `senex` bridge network. */
  readonly network?: "host" | "senex";
  /** Replaces the kind's default secrets when given. */
  readonly secrets?: readonly SecretRef[];
  /**
   * Health check of the kind (default true). Turn it off for an image that lacks the check's tool
   * (pg_isready, redis-cli, python3): with `Notify=healthy` the unit would otherwise never start.
   */
  readonly healthCheck?: boolean;
}

interface ImageService extends ServiceCommon {
  /** Image reference (pinned by digest in production). */
  readonly image: string;
}

/** One service placed on a host. Ports are fixed per kind (ARCHITECTURE.md), daphne's are listed. */
export type HostService =
  | (ImageService & {
      readonly kind: "postgres";
      /**
       * WAL archiving through pgBackRest (phases 2–3 with backups): archive_command runs inside the
       * server container, so it gets pgbackrest.conf (by `PGBACKREST_CONFIG`, a path under its
       * mounted config directory) and the repository secrets as PGBACKREST_* variables.
       */
      readonly pgBackRest?: { /** pgbackrest.conf as the container sees it. */ readonly configFile: string };
    })
  | (ImageService & { readonly kind: "pgbouncer" })
  | (ImageService & { readonly kind: "redis"; /** broker 6379 (noeviction) or cache 6380 (allkeys-lru). */ readonly role: "broker" | "cache" })
  | (ImageService & { readonly kind: "sentinel" })
  | (ServiceCommon & { readonly kind: "migrate"; readonly app: AppRuntime })
  | (ServiceCommon & { readonly kind: "collectstatic"; readonly app: AppRuntime })
  | (ServiceCommon & { readonly kind: "daphne"; readonly app: AppRuntime; /** One instance per port, 8001…. */ readonly ports: readonly number[] })
  | (ServiceCommon & {
      readonly kind: "celery-worker";
      readonly app: AppRuntime;
      /** Worker processes (default: celery's, one per CPU). */
      readonly concurrency?: number;
      /** Seconds a stopping worker may take to finish its current task (default 600). */
      readonly stopTimeoutSec?: number;
    })
  | (ServiceCommon & { readonly kind: "celery-beat"; readonly app: AppRuntime; /** Celery beat scheduler class (default: file schedule in a volume). */ readonly scheduler?: string })
  | (ImageService & { readonly kind: "nginx" })
  /** The load balancer of `existing` servers in phase 3 (render/haproxy.ts), public 80/443. */
  | (ImageService & { readonly kind: "haproxy" })
  | (ImageService & { readonly kind: "node-exporter" })
  | (ImageService & { readonly kind: "postgres-exporter"; /** The monitoring role (member of pg_monitor) it logs in as, by peer over the server's socket. */ readonly databaseUser: string })
  | (ImageService & { readonly kind: "redis-exporter"; readonly role: "broker" | "cache" })
  | (ImageService & { readonly kind: "prometheus" })
  | (ImageService & { readonly kind: "alertmanager" })
  | (ImageService & { readonly kind: "grafana"; /** Public URL Grafana is served under, e.g. `https://example.com/grafana/`. */ readonly rootUrl: string })
  | (ImageService & { readonly kind: "loki" })
  | (ImageService & { readonly kind: "alloy" });

export type HostServiceKind = HostService["kind"];

/** Everything needed to render one host's Quadlet files. */
export interface HostQuadletSpec {
  /** Host name, used in descriptions. */
  readonly host: string;
  /** Private address services bind to (never the public one). */
  readonly privateAddress: string;
  /** Host directory holding per-service config dirs (`<configRoot>/<service>/`), written by the host-files provider. */
  readonly configRoot: string;
  /** Host directory for state the units keep (migration stamps, TLS material, ACME webroot). */
  readonly stateRoot: string;
  /** Subnet of `senex.network` (podman picks one when unset). */
  readonly networkSubnet?: string;
  /** Registry auth file on the host; when set, images are pulled through `.image` units using it. */
  readonly registryAuthFile?: string;
  /** The services on this host. */
  readonly services: readonly HostService[];
}

/**
 * Host paths the nginx container and the ACME renewal (render/acme.ts) must agree on; derive the
 * AcmeSpec paths from here so the mounts and the script can never point at different places.
 */
export function nginxHostPaths(spec: Pick<HostQuadletSpec, "configRoot" | "stateRoot">): {
  readonly scriptPath: string;
  readonly tlsDir: string;
  readonly webroot: string;
  readonly nginxContainer: string;
  readonly nginxUnit: string;
} {
  return {
    scriptPath: `${spec.configRoot}/acme/acme.sh`,
    tlsDir: `${spec.stateRoot}/tls`,
    webroot: `${spec.stateRoot}/acme-webroot`,
    nginxContainer: "senex-nginx",
    nginxUnit: "senex-nginx.service",
  };
}

/**
 * The self-signed server certificate of PostgreSQL or PgBouncer: made on the host by
 * render/server-tls.ts's script (the unit's ExecStartPre) under the state directory, mounted
 * read-only into the container, where postgresql.conf / pgbouncer.ini point. Derive those paths from
 * here so the script, the mount and the config never disagree.
 */
export function serverTlsPaths(spec: Pick<HostQuadletSpec, "configRoot" | "stateRoot">, service: "postgres" | "pgbouncer"): {
  readonly scriptPath: string;
  readonly hostDir: string;
  readonly containerDir: string;
  readonly certFile: string;
  readonly keyFile: string;
} {
  const containerDir = `${CONTAINER_CONFIG}/${service}-tls`;
  return {
    scriptPath: `${spec.configRoot}/server-tls/server-tls.sh`,
    hostDir: `${spec.stateRoot}/${service}-tls`,
    containerDir,
    certFile: `${containerDir}/server.crt`,
    keyFile: `${containerDir}/server.key`,
  };
}

/**
 * node-exporter's textfile-collector directory: the backup jobs (render/backup.ts) write their
 * last-success metric there on the host; node-exporter reads it mounted read-only.
 */
export function textfileCollectorPaths(spec: Pick<HostQuadletSpec, "stateRoot">): { readonly hostDir: string; readonly containerDir: string } {
  return { hostDir: `${spec.stateRoot}/node-exporter-textfile`, containerDir: "/var/lib/node-exporter/textfile" };
}

/** Ports each kind listens on (on the private address unless noted). */
export function servicePorts(service: HostService): number[] {
  switch (service.kind) {
    case "postgres": return [5432];
    case "pgbouncer": return [6432];
    case "redis": return [service.role === "broker" ? 6379 : 6380];
    case "sentinel": return [26379];
    case "daphne": return [...service.ports];
    case "migrate":
    case "collectstatic":
    case "celery-worker":
    case "celery-beat": return [];
    case "nginx":
    case "haproxy": return [80, 443];
    case "node-exporter": return [9100];
    case "postgres-exporter": return [9187];
    case "redis-exporter": return [service.role === "broker" ? 9121 : 9122];
    case "prometheus": return [9090];
    case "alertmanager": return [9093];
    case "grafana": return [3000];
    case "loki": return [3100];
    case "alloy": return [12345];
    default: {
      const never: never = service;
      throw new Error(`unknown service ${JSON.stringify(never)}`);
    }
  }
}

/** Unit base name of a service instance (file `<base>.container`, unit `<base>.service`). */
function baseNames(service: HostService): string[] {
  switch (service.kind) {
    case "redis": return [`senex-redis-${service.role}`];
    case "redis-exporter": return [`senex-redis-exporter-${service.role}`];
    case "daphne": return service.ports.map((port) => `senex-daphne-${port}`);
    default: return [`senex-${service.kind}`];
  }
}

/** The key that makes `migrate` run once per image: the digest when pinned, else a hash of the reference. */
export function imageKey(image: string): string {
  const digest = /@sha256:([0-9a-f]{64})$/.exec(image);
  return digest ? digest[1]!.slice(0, 16) : createHash("sha256").update(image).digest("hex").slice(0, 16);
}

const NETWORK_FILE = "senex.network";
const STATIC_VOLUME = `${APP_VOLUMES.static.volume}.volume`;
const MEDIA_VOLUME = `${APP_VOLUMES.media.volume}.volume`;
/**
 * PostgreSQL's socket directory as a volume shared with postgres-exporter on the same host: the
 * exporter logs in over the socket with peer authentication (pg_ident maps its `nobody` to the
 * monitoring role), so it needs no password and no TCP rule in pg_hba.
 */
const POSTGRES_SOCKET_VOLUME = "senex-postgres-run.volume";
const POSTGRES_SOCKET_DIR = "/var/run/postgresql";
const CONTAINER_CONFIG = "/etc/senex";

function volumeFile(name: string): string {
  return `${name}.volume`;
}

/** A health check for redis-like servers: the password comes from the mounted secret, never the command line. */
function redisPing(address: string, port: number, passwordFile: string | undefined): string {
  const ping = ["redis-cli", "--no-auth-warning", "-h", address, "-p", String(port), "ping"].map(shellWord).join(" ");
  return passwordFile ? `REDISCLI_AUTH=$(cat ${shellWord(passwordFile)}) ${ping} | grep -qx PONG` : `${ping} | grep -qx PONG`;
}

function secretPath(refs: readonly SecretRef[], name: string): string | undefined {
  const ref = refs.find((r) => r.name === name && r.type === "mount");
  if (!ref || ref.type !== "mount") return undefined;
  return ref.target ?? `/run/secrets/${name}`;
}

interface Built {
  readonly base: string;
  readonly file: QuadletFile;
}

interface Context {
  readonly spec: HostQuadletSpec;
  /** Unit names present on this host, by kind (for same-host dependencies). */
  readonly present: ReadonlyMap<HostServiceKind | `redis-${"broker" | "cache"}`, readonly string[]>;
  readonly images: Map<string, string>;
}

function unitsOf(ctx: Context, ...kinds: (HostServiceKind | `redis-${"broker" | "cache"}`)[]): string[] {
  return kinds.flatMap((kind) => ctx.present.get(kind) ?? []);
}

function imageRef(ctx: Context, image: string): string {
  if (!ctx.spec.registryAuthFile) return image;
  const base = `senex-image-${createHash("sha256").update(image).digest("hex").slice(0, 12)}`;
  ctx.images.set(base, image);
  return `${base}.image`;
}

const LONG_RUNNING: ServiceSection = { Restart: "always", RestartSec: 5, TimeoutStartSec: 300 };
const DEFAULT_WORKER_STOP_SEC = 600;

function limitsArgs(limits: ResourceLimits | undefined): Pick<ContainerSection, "PidsLimit" | "PodmanArgs"> {
  const args: string[] = [];
  if (limits?.memory !== undefined) args.push(`--memory=${limits.memory}`);
  if (limits?.cpus !== undefined) args.push(`--cpus=${limits.cpus}`);
  return { PidsLimit: limits?.pids, PodmanArgs: args.length > 0 ? args : undefined };
}

function networking(ctx: Context, service: HostService, ports: readonly number[]): Pick<ContainerSection, "Network" | "PublishPort"> {
  if ((service.network ?? "host") === "host") return { Network: ["host"] };
  return { Network: [NETWORK_FILE], PublishPort: ports.map((port) => `${ctx.spec.privateAddress}:${port}:${port}`) };
}

function configMount(ctx: Context, dir: string, mode: "ro" | "rw"): string {
  return `${ctx.spec.configRoot}/${dir}:${CONTAINER_CONFIG}/${dir}:${mode}`;
}

function appContainer(ctx: Context, service: Extract<HostService, { app: AppRuntime }>, name: string, exec: readonly string[], extra: Partial<ContainerSection> = {}): ContainerSection {
  return {
    Image: imageRef(ctx, service.app.image),
    ContainerName: name,
    ...networking(ctx, service, []),
    EnvironmentFile: [service.app.envFile],
    Secret: service.secrets ?? service.app.secrets,
    Exec: exec,
    NoNewPrivileges: true,
    ...limitsArgs(service.limits),
    ...extra,
  };
}

function deps(requires: readonly string[], wants: readonly string[], afterOnly: readonly string[] = []): Pick<UnitSection, "Requires" | "Wants" | "After"> {
  const after = [...new Set([...requires, ...wants, ...afterOnly])];
  return {
    Requires: requires.length > 0 ? requires : undefined,
    Wants: wants.length > 0 ? wants : undefined,
    After: after.length > 0 ? after : undefined,
  };
}

const INSTALL = { WantedBy: ["default.target"] } as const;

/** The Redis password file for redis-cli's health check, readable by the redis user (root reads it anyway). */
const redisPasswordMount: SecretRef = { name: "senex-redis-password", type: "mount", mode: "0400", uid: CONTAINER_USERS.redis.uid, gid: CONTAINER_USERS.redis.gid };

/**
 * ExecStartPre of PostgreSQL/PgBouncer: the server certificate + key (render/server-tls.ts), made
 * once, owned by the service's uid inside the container. The certificate names the host and its
 * private address; clients connect with sslmode=require (encrypted, not verified), so nothing
 * has to trust it.
 */
function serverTlsStep(ctx: Context, service: "postgres" | "pgbouncer", user: ContainerUser): readonly string[] {
  const tls = serverTlsPaths(ctx.spec, service);
  return ["/bin/bash", tls.scriptPath, tls.hostDir, String(user.uid), String(user.gid), ctx.spec.host, ctx.spec.privateAddress];
}

function buildService(ctx: Context, service: HostService): Built[] {
  const address = ctx.spec.privateAddress;
  const desc = (what: string) => `senex ${what} on ${ctx.spec.host}`;
  const container = (base: string, unit: UnitSection, c: ContainerSection, svc: ServiceSection = LONG_RUNNING): Built => ({
    base,
    file: { kind: "container", unit, container: c, service: svc, install: INSTALL },
  });
  const image = "image" in service ? imageRef(ctx, service.image) : "";
  const common = (ports: readonly number[], secrets: readonly SecretRef[]): Pick<ContainerSection, "Network" | "PublishPort" | "Secret" | "PidsLimit" | "PodmanArgs" | "NoNewPrivileges"> => ({
    ...networking(ctx, service, ports),
    Secret: service.secrets ?? secrets,
    NoNewPrivileges: true,
    ...limitsArgs(service.limits),
  });
  const [base] = baseNames(service);
  /**
   * nginx and haproxy: public ports on the host network, so they see the client's real address;
   * the bootstrap lowers net.ipv4.ip_unprivileged_port_start to 80 so rootless processes may bind 80/443.
   */
  const edgeContainer = (name: string, description: string, c: Pick<ContainerSection, "Volume" | "Exec">, svc?: ServiceSection): Built =>
    container(name, { Description: description }, { Image: image, ContainerName: name, Network: ["host"], Secret: service.secrets, NoNewPrivileges: true, ...limitsArgs(service.limits), ...c }, svc);

  switch (service.kind) {
    case "postgres": {
      const tls = serverTlsPaths(ctx.spec, "postgres");
      const user = CONTAINER_USERS.postgres;
      const backup = service.pgBackRest;
      const backupSecrets: SecretRef[] = backup ? Object.entries(PGBACKREST_SECRET_ENV).map(([name, target]) => ({ name, type: "env", target })) : [];
      return [
        container(base!, { Description: desc("PostgreSQL"), ...deps([], []) }, {
          Image: image,
          ContainerName: base,
          ...common([5432], [{ name: "senex-db-replication-password", type: "mount", mode: "0400", uid: user.uid, gid: user.gid }, ...backupSecrets]),
          Volume: [
            `${volumeFile("senex-postgres-data")}:/var/lib/postgresql/data`,
            configMount(ctx, "postgres", "ro"),
            `${tls.hostDir}:${tls.containerDir}:ro`,
            `${POSTGRES_SOCKET_VOLUME}:${POSTGRES_SOCKET_DIR}`,
          ],
          Environment: {
            // The image's entrypoint refuses to initialise an empty data directory without
            // POSTGRES_PASSWORD unless told `trust`. What `trust` affects is the data directory's
            // own pg_hba.conf, which is never read: postgresql.conf's hba_file points at ours
            // (hostssl + scram-sha-256, local peer for `postgres`). The app role and its password
            // are created afterwards over the socket (`podman exec … psql -U postgres`).
            POSTGRES_HOST_AUTH_METHOD: "trust",
            // …and initdb's own defaults for that unused file are the strict ones anyway.
            POSTGRES_INITDB_ARGS: "--auth-local=peer --auth-host=scram-sha-256",
            ...(backup ? { PGBACKREST_CONFIG: backup.configFile } : {}),
          },
          Exec: ["postgres", "-c", `config_file=${CONTAINER_CONFIG}/postgres/postgresql.conf`],
          // Over the socket as `postgres` (pg_ident maps the container's root to it): a check over
          // TCP as root is refused by pg_hba and logs a FATAL line every interval.
          HealthCmd: `pg_isready -q -h ${POSTGRES_SOCKET_DIR} -p 5432 -U postgres -d postgres`,
          HealthInterval: "10s",
          HealthTimeout: "5s",
          HealthRetries: 5,
          HealthStartPeriod: "30s",
          Notify: "healthy",
          // PostgreSQL's smart shutdown waits for clients; fast shutdown (SIGINT) is what systemd should ask for.
          StopSignal: "SIGINT",
          StopTimeout: 90,
        }, { ...LONG_RUNNING, TimeoutStopSec: 120, ExecStartPre: [serverTlsStep(ctx, "postgres", user)] }),
      ];
    }
    case "pgbouncer": {
      const tls = serverTlsPaths(ctx.spec, "pgbouncer");
      const user = CONTAINER_USERS.pgbouncer;
      return [
        container(base!, { Description: desc("PgBouncer"), ...deps(unitsOf(ctx, "postgres"), []) }, {
          Image: image,
          ContainerName: base,
          ...common([6432], [{ name: "senex-db-pgbouncer-password", type: "mount", mode: "0400", uid: user.uid, gid: user.gid }]),
          Volume: [configMount(ctx, "pgbouncer", "ro"), `${tls.hostDir}:${tls.containerDir}:ro`],
          Exec: ["pgbouncer", `${CONTAINER_CONFIG}/pgbouncer/pgbouncer.ini`],
          HealthCmd: `pg_isready -q -h ${address} -p 6432`,
          HealthInterval: "10s",
          HealthRetries: 5,
          Notify: "healthy",
        }, { ...LONG_RUNNING, ExecStartPre: [serverTlsStep(ctx, "pgbouncer", user)] }),
      ];
    }
    case "redis": {
      const port = servicePorts(service)[0]!;
      const secrets = service.secrets ?? [redisPasswordMount];
      return [
        container(base!, { Description: desc(`Redis (${service.role})`), ...deps([], unitsOf(ctx, "postgres")) }, {
          Image: image,
          ContainerName: base,
          ...common([port], secrets),
          // Redis rewrites its own config on failover (replicaof), so the config dir is writable:
          // the host layer makes it group-writable for the redis gid (see topology/hostFiles).
          Volume: [`${volumeFile(`${base}-data`)}:/data`, configMount(ctx, `redis-${service.role}`, "rw")],
          Exec: ["redis-server", `${CONTAINER_CONFIG}/redis-${service.role}/redis.conf`],
          HealthCmd: redisPing(address, port, secretPath(secrets, "senex-redis-password")),
          HealthInterval: "10s",
          HealthRetries: 5,
          Notify: "healthy",
        }),
      ];
    }
    case "sentinel": {
      const secrets = service.secrets ?? [redisPasswordMount];
      return [
        container(base!, { Description: desc("Redis Sentinel"), ...deps([], unitsOf(ctx, "redis-broker", "redis-cache")) }, {
          Image: image,
          ContainerName: base,
          ...common([26379], secrets),
          // Sentinel rewrites sentinel.conf (seeded once): writable, like Redis' (group redis, 0770).
          Volume: [configMount(ctx, "redis-sentinel", "rw")],
          Exec: ["redis-server", `${CONTAINER_CONFIG}/redis-sentinel/sentinel.conf`, "--sentinel"],
          HealthCmd: redisPing(address, 26379, undefined),
          HealthInterval: "10s",
          HealthRetries: 5,
          Notify: "healthy",
        }),
      ];
    }
    case "migrate": {
      const stamp = `${ctx.spec.stateRoot}/migrations/migrated-${imageKey(service.app.image)}`;
      return [
        container(
          base!,
          {
            Description: desc(`Django migrations for image ${imageKey(service.app.image)}`),
            ...deps(unitsOf(ctx, "postgres"), unitsOf(ctx, "pgbouncer")),
            ConditionPathExists: [`!${stamp}`],
          },
          appContainer(ctx, service, base!, [...service.app.manage, "migrate", "--noinput"]),
          {
            Type: "oneshot",
            RemainAfterExit: true,
            TimeoutStartSec: 1800,
            ExecStartPre: [["/usr/bin/mkdir", "-p", `${ctx.spec.stateRoot}/migrations`]],
            ExecStartPost: [["/usr/bin/touch", stamp]],
          },
        ),
      ];
    }
    case "collectstatic":
      return [
        container(
          base!,
          { Description: desc("Django collectstatic"), ...deps([], [], unitsOf(ctx, "migrate")) },
          appContainer(ctx, service, base!, [...service.app.manage, "collectstatic", "--noinput"], { Volume: [`${STATIC_VOLUME}:${APP_VOLUMES.static.path}`] }),
          { Type: "oneshot", RemainAfterExit: true, TimeoutStartSec: 600 },
        ),
      ];
    case "daphne":
      return service.ports.map((port) => {
        const name = `senex-daphne-${port}`;
        const healthUrl = `http://${address}:${port}${service.app.healthPath}`;
        return container(
          name,
          {
            Description: desc(`Daphne on port ${port}`),
            ...deps(unitsOf(ctx, "migrate", "collectstatic"), unitsOf(ctx, "postgres", "pgbouncer", "redis-broker", "redis-cache")),
          },
          appContainer(ctx, service, name, ["daphne", "--proxy-headers", "-b", address, "-p", String(port), service.app.asgiApplication], {
            Volume: [`${MEDIA_VOLUME}:${APP_VOLUMES.media.path}`],
            HealthCmd: `python3 -c 'import urllib.request; urllib.request.urlopen("${healthUrl}", timeout=4)'`,
            HealthInterval: "10s",
            HealthTimeout: "5s",
            HealthRetries: 3,
            HealthStartPeriod: "20s",
            Notify: "healthy",
          }),
        );
      });
    case "celery-worker": {
      const stop = service.stopTimeoutSec ?? DEFAULT_WORKER_STOP_SEC;
      const exec = ["celery", "-A", service.app.celeryApp, "worker", "--loglevel=INFO"];
      if (service.concurrency !== undefined) exec.push(`--concurrency=${service.concurrency}`);
      return [
        container(
          base!,
          { Description: desc("Celery worker"), ...deps([], unitsOf(ctx, "redis-broker", "postgres", "pgbouncer", "migrate"), unitsOf(ctx, "daphne")) },
          // SIGTERM = Celery warm shutdown: finish the running task, take no new one.
          appContainer(ctx, service, base!, exec, { Volume: [`${MEDIA_VOLUME}:${APP_VOLUMES.media.path}`], StopSignal: "SIGTERM", StopTimeout: stop }),
          { ...LONG_RUNNING, TimeoutStopSec: stop + 30 },
        ),
      ];
    }
    case "celery-beat": {
      const exec = ["celery", "-A", service.app.celeryApp, "beat", "--loglevel=INFO"];
      const volume: string[] = [];
      if (service.scheduler !== undefined) exec.push(`--scheduler=${service.scheduler}`);
      else {
        exec.push("--schedule=/var/lib/celery-beat/celerybeat-schedule");
        volume.push(`${volumeFile("senex-celery-beat-data")}:/var/lib/celery-beat`);
      }
      return [
        container(
          base!,
          { Description: desc("Celery beat (exactly one per deployment)"), ...deps([], unitsOf(ctx, "redis-broker", "celery-worker"), unitsOf(ctx, "migrate")) },
          appContainer(ctx, service, base!, exec, volume.length > 0 ? { Volume: volume } : {}),
        ),
      ];
    }
    case "nginx": {
      const paths = nginxHostPaths(ctx.spec);
      return [
        edgeContainer(base!, desc("nginx (TLS, static files, reverse proxy)"), {
          Volume: [
            configMount(ctx, "nginx", "ro"),
            `${paths.tlsDir}:${CONTAINER_CONFIG}/tls:ro`,
            `${paths.webroot}:/srv/acme:ro`,
            `${STATIC_VOLUME}:${APP_VOLUMES.static.path}:ro`,
          ],
          Exec: ["nginx", "-c", `${CONTAINER_CONFIG}/nginx/nginx.conf`, "-g", "daemon off;"],
        }, {
          ...LONG_RUNNING,
          // nginx must start before a certificate exists: put a self-signed placeholder in place
          // (the ACME renewal replaces it and reloads nginx).
          ExecStartPre: [["/bin/bash", paths.scriptPath, "placeholder"]],
        }),
      ];
    }
    case "haproxy":
      return [
        edgeContainer(base!, desc("haproxy (TCP load balancer, TLS passed through to nginx)"), {
          Volume: [configMount(ctx, "haproxy", "ro")],
          // -W master-worker, -db stay in the foreground; SIGUSR2 reloads without dropping connections.
          Exec: ["haproxy", "-W", "-db", "-f", `${CONTAINER_CONFIG}/haproxy/haproxy.cfg`],
        }),
      ];
    case "node-exporter": {
      const textfile = textfileCollectorPaths(ctx.spec);
      return [
        container(base!, { Description: desc("node exporter") }, {
          Image: image,
          ContainerName: base,
          ...common([9100], []),
          Volume: ["/:/host:ro,rslave", `${textfile.hostDir}:${textfile.containerDir}:ro`],
          // The textfile collector serves the backup jobs' last-success metric (BackupTooOld).
          Exec: ["--path.rootfs=/host", `--web.listen-address=${address}:9100`, `--collector.textfile.directory=${textfile.containerDir}`],
        }, {
          ...LONG_RUNNING,
          // A bind mount's source must exist before the container starts (podman does not create it).
          ExecStartPre: [["/usr/bin/mkdir", "-p", textfile.hostDir]],
        }),
      ];
    }
    case "postgres-exporter": {
      const user = CONTAINER_USERS.nobody;
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(service.databaseUser)) throw new Error(`\`postgres-exporter.databaseUser\` must be a plain identifier, got ${JSON.stringify(service.databaseUser)}`);
      return [
        container(base!, { Description: desc("PostgreSQL exporter"), ...deps([], unitsOf(ctx, "postgres")) }, {
          Image: image,
          ContainerName: base,
          ...common([9187], []),
          // Peer authentication over the server's socket (shared volume): pg_ident maps this uid's
          // name to the monitoring role, so there is no password to keep, rotate or leak.
          User: `${user.uid}:${user.gid}`,
          Volume: [`${POSTGRES_SOCKET_VOLUME}:${POSTGRES_SOCKET_DIR}`],
          Environment: {
            DATA_SOURCE_NAME: `postgresql:///postgres?host=${POSTGRES_SOCKET_DIR}&user=${service.databaseUser}&sslmode=disable`,
          },
          Exec: [`--web.listen-address=${address}:9187`],
        }),
      ];
    }
    case "redis-exporter": {
      const port = service.role === "broker" ? 6379 : 6380;
      const listen = servicePorts(service)[0]!;
      return [
        container(base!, { Description: desc(`Redis exporter (${service.role})`), ...deps([], unitsOf(ctx, `redis-${service.role}`)) }, {
          Image: image,
          ContainerName: base,
          ...common([listen], [{ name: "senex-redis-password", type: "env", target: "REDIS_PASSWORD" }]),
          Environment: { REDIS_ADDR: `redis://${address}:${port}`, REDIS_EXPORTER_WEB_LISTEN_ADDRESS: `${address}:${listen}` },
          // The broker's exporter reports the Celery queue's length (the CeleryQueueLong rule).
          Exec: service.role === "broker" ? [CELERY_QUEUE_EXPORTER_FLAG] : undefined,
        }),
      ];
    }
    case "prometheus":
      return [
        container(base!, { Description: desc("Prometheus"), ...deps([], unitsOf(ctx, "alertmanager")) }, {
          Image: image,
          ContainerName: base,
          ...common([9090], []),
          Volume: [`${volumeFile("senex-prometheus-data")}:/prometheus`, configMount(ctx, "prometheus", "ro")],
          Exec: [
            `--config.file=${CONTAINER_CONFIG}/prometheus/prometheus.yml`,
            "--storage.tsdb.path=/prometheus",
            `--web.listen-address=${address}:9090`,
          ],
        }),
      ];
    case "alertmanager": {
      const nobody = CONTAINER_USERS.nobody;
      const secrets = service.secrets ?? [{ name: "senex-alert-slack-webhook", type: "mount", mode: "0400", uid: nobody.uid, gid: nobody.gid } as const];
      return [
        container(base!, { Description: desc("Alertmanager") }, {
          Image: image,
          ContainerName: base,
          ...common([9093], secrets),
          Volume: [`${volumeFile("senex-alertmanager-data")}:/alertmanager`, configMount(ctx, "alertmanager", "ro")],
          Exec: [
            `--config.file=${CONTAINER_CONFIG}/alertmanager/alertmanager.yml`,
            "--storage.path=/alertmanager",
            `--web.listen-address=${address}:9093`,
            // Alertmanager gossips on 9094 by default; a single instance needs no cluster port.
            "--cluster.listen-address=",
          ],
        }),
      ];
    }
    case "grafana": {
      const grafana = CONTAINER_USERS.grafana;
      const secrets = service.secrets ?? [{ name: "senex-grafana-admin-password", type: "mount", mode: "0400", uid: grafana.uid, gid: grafana.gid } as const];
      return [
        container(base!, { Description: desc("Grafana (AGPL image, run as-is, never built here)"), ...deps([], unitsOf(ctx, "prometheus", "loki")) }, {
          Image: image,
          ContainerName: base,
          ...common([3000], secrets),
          Volume: [`${volumeFile("senex-grafana-data")}:/var/lib/grafana`, `${ctx.spec.configRoot}/grafana:/etc/grafana/provisioning:ro`],
          Environment: {
            GF_SERVER_HTTP_ADDR: address,
            GF_SERVER_HTTP_PORT: "3000",
            GF_SERVER_ROOT_URL: service.rootUrl,
            GF_SERVER_SERVE_FROM_SUB_PATH: "true",
            GF_SECURITY_ADMIN_PASSWORD__FILE: secretPath(secrets, "senex-grafana-admin-password") ?? "/run/secrets/senex-grafana-admin-password",
            GF_AUTH_ANONYMOUS_ENABLED: "false",
            GF_USERS_ALLOW_SIGN_UP: "false",
            GF_ANALYTICS_REPORTING_ENABLED: "false",
          },
        }),
      ];
    }
    case "loki":
      return [
        container(base!, { Description: desc("Loki (AGPL image, run as-is, never built here)") }, {
          Image: image,
          ContainerName: base,
          ...common([3100], []),
          Volume: [`${volumeFile("senex-loki-data")}:/loki`, configMount(ctx, "loki", "ro")],
          Exec: [`-config.file=${CONTAINER_CONFIG}/loki/loki.yaml`],
        }),
      ];
    case "alloy":
      return [
        container(base!, { Description: desc("Grafana Alloy log shipper"), ...deps([], unitsOf(ctx, "loki")) }, {
          Image: image,
          ContainerName: base,
          ...common([12345], []),
          Volume: [`${volumeFile("senex-alloy-data")}:/var/lib/alloy`, configMount(ctx, "alloy", "ro"), "/var/log/journal:/var/log/journal:ro"],
          Exec: ["run", `--server.http.listen-addr=${address}:12345`, "--storage.path=/var/lib/alloy", `${CONTAINER_CONFIG}/alloy/config.alloy`],
        }),
      ];
    default: {
      const never: never = service;
      throw new Error(`unknown service ${JSON.stringify(never)}`);
    }
  }
}

function withoutHealthCheck(built: Built): Built {
  if (built.file.kind !== "container") return built;
  const { HealthCmd: _cmd, HealthInterval: _i, HealthTimeout: _t, HealthRetries: _r, HealthStartPeriod: _p, HealthOnFailure: _f, Notify: _n, ...container } = built.file.container;
  return { base: built.base, file: { ...built.file, container } };
}

function presentUnits(services: readonly HostService[]): Map<HostServiceKind | `redis-${"broker" | "cache"}`, string[]> {
  const present = new Map<HostServiceKind | `redis-${"broker" | "cache"}`, string[]>();
  for (const service of services) {
    const key = service.kind === "redis" ? (`redis-${service.role}` as const) : service.kind;
    present.set(key, [...(present.get(key) ?? []), ...baseNames(service).map((b) => `${b}.service`)]);
  }
  return present;
}

function validate(spec: HostQuadletSpec): void {
  const problems: string[] = [];
  const seenPorts = new Map<number, string>();
  const seenUnits = new Set<string>();
  for (const service of spec.services) {
    for (const port of servicePorts(service)) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`\`${service.kind}\`: port ${port} is not a TCP port`);
      const other = seenPorts.get(port);
      if (other !== undefined) problems.push(`port ${port} is declared by both \`${other}\` and \`${service.kind}\` on ${spec.host}`);
      seenPorts.set(port, service.kind);
    }
    for (const base of baseNames(service)) {
      if (seenUnits.has(base)) problems.push(`\`${base}\` is placed twice on ${spec.host}`);
      seenUnits.add(base);
    }
  }
  if (!/^[0-9a-fA-F.:]+$/.test(spec.privateAddress)) problems.push(`\`privateAddress\` ${JSON.stringify(spec.privateAddress)} is not an IP address`);
  for (const [key, path] of [["configRoot", spec.configRoot], ["stateRoot", spec.stateRoot]] as const) {
    if (!/^\/[A-Za-z0-9_./-]*$/.test(path)) problems.push(`\`${key}\` must be an absolute path of plain characters, got ${JSON.stringify(path)}`);
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
}

/**
 * Renders every Quadlet file of one host: `{ "senex-postgres.container": "…", "senex.network": "…", … }`,
 * keys relative to `~/.config/containers/systemd`. Throws, listing every problem, when two services
 * declare the same port or unit.
 */
export function renderHostQuadlets(spec: HostQuadletSpec): Record<string, string> {
  validate(spec);
  const ctx: Context = { spec, present: presentUnits(spec.services), images: new Map() };
  const files: Record<string, string> = {};
  const volumes = new Set<string>();
  const header = [`Rendered by senex-infra for ${spec.host}; do not edit on the host.`];
  for (const service of spec.services) {
    for (const built of buildService(ctx, service).map((b) => (service.healthCheck === false ? withoutHealthCheck(b) : b))) {
      if (built.file.kind === "container") {
        for (const volume of built.file.container.Volume ?? []) {
          const source = volume.split(":")[0]!;
          if (source.endsWith(".volume")) volumes.add(source);
        }
      }
      files[`${built.base}.container`] = renderQuadlet(built.file, header);
    }
  }
  files[NETWORK_FILE] = renderQuadlet({ kind: "network", unit: { Description: `senex network on ${spec.host}` }, network: { NetworkName: "senex", Subnet: spec.networkSubnet } }, header);
  for (const volume of volumes) {
    const name = volume.replace(/\.volume$/, "");
    files[volume] = renderQuadlet({ kind: "volume", unit: { Description: `senex volume ${name}` }, volume: { VolumeName: name } }, header);
  }
  for (const [base, image] of ctx.images) {
    files[`${base}.image`] = renderQuadlet({ kind: "image", unit: { Description: `pull ${image}` }, image: { Image: image, AuthFile: spec.registryAuthFile } }, header);
  }
  return Object.fromEntries(Object.keys(files).sort().map((k) => [k, files[k]!]));
}

/** Systemd unit names (as `systemctl --user` knows them) of the rendered files, for the apply's restart logic. */
export function hostUnitNames(files: Readonly<Record<string, string>>): string[] {
  return Object.keys(files).map(quadletServiceName).sort();
}
