// Where things live on a host, and the per-host facts every domain module reads (addresses, the
// server's size, which services are placed). One place, so the Quadlet mounts, the config files
// and the scripts can never disagree about a path.
import { serverType } from "../../catalog";
import type { StackConfig } from "../../config/types";
import type { PlacedService, ServiceKind, Topology, TopologyHost } from "../types";

/** Home of the service user; every container file lives under it (rootless Podman). */
export const SENEX_HOME = "/home/senex";
/** Quadlet files: the directory the user generator reads. */
export const QUADLET_DIR = `${SENEX_HOME}/.config/containers/systemd`;
/** systemd --user units that are not Quadlets (ACME renewal, backup timers). */
export const USER_UNIT_DIR = `${SENEX_HOME}/.config/systemd/user`;
/** Per-service config directories, mounted into the containers at {@link CONTAINER_CONFIG}/<service>. */
export const CONFIG_ROOT = `${SENEX_HOME}/.config/senex`;
/** State the units keep (migration stamps, TLS material, ACME webroot, lego's account). */
export const STATE_ROOT = `${SENEX_HOME}/.local/state/senex`;
/** Scripts run by the user units. */
export const BIN_DIR = `${SENEX_HOME}/.local/bin`;
/** Where render/quadlet-host.ts mounts `${CONFIG_ROOT}/<dir>` inside a container. */
export const CONTAINER_CONFIG = "/etc/senex";
/** Registry credentials podman reads for `.image` pulls (written only when the stack has `registryAuth`). */
export const REGISTRY_AUTH_FILE = `${SENEX_HOME}/.config/containers/auth.json`;
/** The host firewall script and its unit: the bootstrap's (render/cloudinit.ts), rewritten by the system layer. */
export { FIREWALL_FILE, FIREWALL_UNIT } from "../../render/cloudinit";

/**
 * The uid/gid of each image's service user, and the app's shared volumes: facts of the images and
 * the Quadlets, kept in render/quadlet-host.ts (render cannot import topology) and named here for
 * the domain modules.
 */
export { APP_VOLUMES, CONTAINER_USERS } from "../../render/quadlet-host";

/** The application database and its role (the app env, pg_hba and PgBouncer agree on these). */
export const APP_DATABASE = { name: "senex", user: "senex" } as const;
/** The streaming-replication role (phase 3). */
export const REPLICATION_USER = "replicator";
/** The role postgres-exporter logs in as: a member of pg_monitor, by peer over the socket, no password. */
export const MONITOR_USER = "senex_monitor";
/** pgBackRest stanza. */
export const BACKUP_STANZA = "senex";
/** Sentinel group names of the two Redis instances (the app env names them too). */
export const SENTINEL_MASTERS = { broker: "senex-broker", cache: "senex-cache" } as const;

/**
 * Memory and CPUs assumed for a host whose server type we do not know (existing servers, or a
 * size missing from the catalog): the seeds' phase-2 box, 4 GiB and 2 vCPUs. Sizing from it is
 * conservative on a bigger machine and still starts on a smaller one.
 */
export const DEFAULT_HOST_RESOURCES = { memoryMiB: 4096, cpus: 2 } as const;

/** What every domain module knows about the host it renders for. */
export interface HostContext {
  readonly config: StackConfig;
  readonly topology: Topology;
  readonly host: TopologyHost;
  /** Private address of any host of the stack (the caller's resolver for DigitalOcean's assigned ones). */
  readonly addressOf: (host: string) => string;
  /** This host's private address. */
  readonly address: string;
  /** Memory and CPUs of this host's server type. */
  readonly resources: { readonly memoryMiB: number; readonly cpus: number };
  /** The first placed service of a kind, if any. */
  has(kind: ServiceKind): PlacedService | undefined;
  /** The host group that names this host's role in metrics and logs. */
  readonly role: string;
}

export function hostContext(config: StackConfig, topology: Topology, host: TopologyHost, addressOf?: (host: string) => string): HostContext {
  const byName = new Map(topology.hosts.map((h) => [h.name, h.privateAddress] as const));
  const resolve =
    addressOf ??
    ((name: string): string => {
      const a = byName.get(name);
      if (a === undefined) throw new Error(`hostFiles(${host.name}): unknown host ${name}`);
      return a;
    });
  const type = config.cloud !== "existing" && host.size !== undefined ? serverType(config.cloud, host.size) : undefined;
  return {
    config,
    topology,
    host,
    addressOf: resolve,
    address: resolve(host.name),
    resources: type ? { memoryMiB: Math.round(type.memoryGb * 1024), cpus: type.vcpus } : DEFAULT_HOST_RESOURCES,
    has: (kind) => host.services.find((s) => s.kind === kind),
    role: host.groups[0] ?? "main",
  };
}

/** `${CONFIG_ROOT}/<dir>/<file>` on the host, and the same file as the container sees it. */
export function configPath(dir: string, file: string): { readonly host: string; readonly container: string } {
  return { host: `${CONFIG_ROOT}/${dir}/${file}`, container: `${CONTAINER_CONFIG}/${dir}/${file}` };
}
