// The bridge between the topology and the renderers: for one host of a stack, every file it
// receives after the bootstrap (Quadlets, the app env, nginx + ACME, PostgreSQL/PgBouncer/Redis/
// Sentinel, monitoring, backups, the host firewall) and the podman secrets it needs. Pure: no
// Pulumi, no I/O, no secret value (see ./hostFiles/secrets.ts for secret-derived files).
//
// One module per domain under ./hostFiles/; this one only assembles them and checks the set.
import type { StackConfig } from "../config/types";
import { appFiles } from "./hostFiles/app";
import { backupFiles, backupPackages } from "./hostFiles/backups";
import { dataDirectories, dataFiles } from "./hostFiles/data";
import type { HostDirectory, HostFile } from "./hostFiles/file";
import { firewallFiles } from "./hostFiles/firewall";
import { hostContext, type HostContext } from "./hostFiles/layout";
import { monitoringFiles } from "./hostFiles/monitoring";
import { quadletFiles, registryAuthFiles } from "./hostFiles/quadlets";
import { SecretRefs, isPodmanSecretName, type PodmanSecretName } from "./hostFiles/secrets";
import { roleFiles } from "./hostFiles/roles";
import { webFiles, webPackages } from "./hostFiles/web";
import type { Topology, TopologyHost } from "./types";

export type { ContainerOwner, HostDirectory, HostFile } from "./hostFiles/file";
export { SecretRefs, secretPlaceholders, type PodmanSecretName, type SecretField, type SecretFileSource } from "./hostFiles/secrets";

/** What one host receives. */
export interface HostFileSet {
  /** Every file, unique by path. */
  files: HostFile[];
  /**
   * Directories with a mode or container ownership of their own (created before the files in
   * them, and kept so); unique by path. Other parent directories are plain senex 0755 ones.
   */
  directories: HostDirectory[];
  /** Debian packages the host's files run on the host itself (restic, lego): the bootstrap's `extraPackages`. */
  packages: string[];
  /** Podman secrets the host's units and scripts use (create them before starting any unit); names are keys of {@link SecretRefs}. */
  podmanSecrets: PodmanSecretName[];
}

export interface HostFilesOptions {
  /**
   * Private address of a host by name. Defaults to the topology's addresses, which on DigitalOcean
   * are only plan placeholders: there the caller passes the droplets' real VPC addresses.
   */
  addressOf?: (host: string) => string;
}

/** Secrets the backup/restore scripts hand to pgBackRest and restic (render/backup.ts). */
const BACKUP_SECRETS: readonly PodmanSecretName[] = ["senex-backup-passphrase", "senex-s3-access-key-id", "senex-s3-secret-access-key"];

/** The podman secrets a Quadlet container file names (`Secret=<name>,…`); none for other files. */
export function secretsNamedBy(file: HostFile): string[] {
  return file.path.endsWith(".container") ? [...file.content.matchAll(/^Secret=([^,\s]+)/gm)].map((m) => m[1]!) : [];
}

function packagesOf(ctx: HostContext): string[] {
  return [...new Set([...webPackages(ctx), ...backupPackages(ctx)])].sort();
}

/**
 * Debian packages the host's own scripts run (restic, lego): the bootstrap's `extraPackages`, the
 * same list as {@link HostFileSet.packages} without rendering the files.
 */
export function hostPackages(config: StackConfig, topology: Topology, host: TopologyHost): string[] {
  return packagesOf(hostContext(config, topology, host));
}

/**
 * Every file `host` receives in the service layer, and the podman secrets it needs. Throws when two
 * domains would write the same path, or a Quadlet names a podman secret the deployment does not know.
 */
export function hostFiles(config: StackConfig, topology: Topology, host: TopologyHost, opts: HostFilesOptions = {}): HostFileSet {
  const ctx = hostContext(config, topology, host, opts.addressOf);
  const files = [
    ...quadletFiles(ctx),
    ...registryAuthFiles(ctx),
    ...appFiles(ctx),
    ...webFiles(ctx),
    ...dataFiles(ctx),
    ...roleFiles(ctx),
    ...monitoringFiles(ctx),
    ...backupFiles(ctx),
    ...firewallFiles(ctx),
  ];
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw new Error(`hostFiles(${host.name}): ${f.path} is produced twice`);
    seen.add(f.path);
  }
  const secrets = new Set(files.flatMap(secretsNamedBy));
  // The backup scripts hand these to pgBackRest/restic (PostgreSQL hosts' Quadlets name them
  // already, for WAL archiving).
  const backups = config.backups.enabled && topology.phase >= 2 && host.services.some((s) => s.kind === "backup");
  if (backups) for (const s of BACKUP_SECRETS) secrets.add(s);
  const unknown = [...secrets].filter((s) => !isPodmanSecretName(s));
  if (unknown.length > 0) throw new Error(`hostFiles(${host.name}): units name podman secrets the deployment never creates: ${unknown.join(", ")}`);
  const order = Object.keys(SecretRefs);
  const directories = dataDirectories(ctx);
  for (const f of files) {
    if (f.containerOwner && f.owner !== "senex") throw new Error(`hostFiles(${host.name}): ${f.path} has a container owner but belongs to ${f.owner}; only senex's files live in its user namespace`);
  }
  return {
    files,
    directories,
    packages: packagesOf(ctx),
    podmanSecrets: [...secrets].filter(isPodmanSecretName).sort((a, b) => order.indexOf(a) - order.indexOf(b)),
  };
}
