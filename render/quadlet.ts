// Quadlet files for rootless Podman 5.4 (podman-systemd.unit(5)), podlet-style: one typed
// structure per section, keys named exactly as the man page names them, empty keys skipped,
// rendering in one place (render/systemd.ts). The generator (`/usr/libexec/podman/quadlet`)
// rejects unknown keys, and the consumer tests run it on everything rendered here.

import { renderUnitSections, unitCommandLine, type UnitSectionText } from "./systemd";

// ---------------------------------------------------------------------------------------------
// Sections shared with plain systemd units (passed through by Quadlet untouched)

/** `[Unit]` keys we use (systemd.unit(5)). */
export interface UnitSection {
  /** Human-readable description shown by systemctl. */
  readonly Description?: string;
  /** Hard dependencies: started with this unit; if one fails to start, this one does not. */
  readonly Requires?: readonly string[];
  /** Soft dependencies: started with this unit; their failure does not stop it. */
  readonly Wants?: readonly string[];
  /** Ordering only: this unit starts after these (whether or not they are pulled in). */
  readonly After?: readonly string[];
  /** Ordering only: this unit starts before these. */
  readonly Before?: readonly string[];
  /** Start only if all these conditions hold (a failed condition skips the unit, it does not fail). */
  readonly ConditionPathExists?: readonly string[];
}

/** `[Service]` keys we use (systemd.service(5)). */
export interface ServiceSection {
  /** `oneshot` for run-to-completion jobs (migrate, collectstatic); Quadlet picks `notify` otherwise. */
  readonly Type?: "oneshot";
  /** Keep a oneshot "active" after it exited, so dependents see it as done. */
  readonly RemainAfterExit?: boolean;
  /** Restart policy. */
  readonly Restart?: "no" | "always" | "on-failure";
  /** Seconds to wait before a restart. */
  readonly RestartSec?: number;
  /** Seconds systemd waits for start (covers image pulls and `Notify=healthy`). */
  readonly TimeoutStartSec?: number;
  /** Seconds systemd waits for stop before SIGKILL. */
  readonly TimeoutStopSec?: number;
  /** Commands before the container starts (argv each; quoted at the one boundary). */
  readonly ExecStartPre?: readonly (readonly string[])[];
  /** Commands after a successful start (for oneshots: after the job finished). */
  readonly ExecStartPost?: readonly (readonly string[])[];
}

/** `[Install]` keys. Quadlet turns `WantedBy=` into symlinks at generation time. */
export interface InstallSection {
  readonly WantedBy?: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Quadlet-specific sections

/**
 * A podman secret handed to the container. `env` puts the value in an environment variable,
 * `mount` puts it in a file (default /run/secrets/<name>). The unit file only ever names the
 * secret; the value lives in podman's secret store.
 */
export type SecretRef =
  | { readonly name: string; readonly type: "env"; /** Environment variable name. */ readonly target: string }
  | {
      readonly name: string;
      readonly type: "mount";
      /** Path inside the container (default `/run/secrets/<name>`). */
      readonly target?: string;
      /** File mode, octal string, e.g. `0400`. */
      readonly mode?: string;
      /** Owner uid inside the container. */
      readonly uid?: number;
      /** Owner gid inside the container. */
      readonly gid?: number;
    };

/** `[Container]` keys (podman-systemd.unit(5), Podman 5.4). */
export interface ContainerSection {
  /** Image reference, or the name of an `.image` unit (e.g. `senex-app.image`). */
  readonly Image: string;
  /** Container name (default `systemd-<unit>`); we set it so `podman exec NAME` is predictable. */
  readonly ContainerName?: string;
  /** `host`, `none`, or a `.network` unit name. */
  readonly Network?: readonly string[];
  /** `[[ip:]hostPort:]containerPort` publish specs (bridge networks only). */
  readonly PublishPort?: readonly string[];
  /** `SOURCE:DEST[:OPTIONS]`; SOURCE may be a `.volume` unit name. */
  readonly Volume?: readonly string[];
  /** Secrets, see {@link SecretRef}. */
  readonly Secret?: readonly SecretRef[];
  /** Non-secret environment variables. */
  readonly Environment?: Readonly<Record<string, string>>;
  /** Environment files on the host (one `KEY=VALUE` a line, no secrets). */
  readonly EnvironmentFile?: readonly string[];
  /** Command arguments (after the entrypoint). */
  readonly Exec?: readonly string[];
  /** Overrides the image's entrypoint. */
  readonly Entrypoint?: string;
  /** Working directory inside the container. */
  readonly WorkingDir?: string;
  /** `uid[:gid]` the process runs as. */
  readonly User?: string;
  /** User namespace mode, e.g. `keep-id`. */
  readonly UserNS?: string;
  /** Health check command (run by podman via /bin/sh -c). */
  readonly HealthCmd?: string;
  /** Interval between health checks, e.g. `10s`. */
  readonly HealthInterval?: string;
  /** Timeout of one health check. */
  readonly HealthTimeout?: string;
  /** Consecutive failures before the container is unhealthy. */
  readonly HealthRetries?: number;
  /** Grace period after start before failures count. */
  readonly HealthStartPeriod?: string;
  /** What podman does when unhealthy: `none`, `kill`, `restart`, `stop`. */
  readonly HealthOnFailure?: "none" | "kill" | "restart" | "stop";
  /** `healthy`: systemd sees the unit started only once the health check passed. */
  readonly Notify?: boolean | "healthy";
  /** Signal podman sends on stop (default SIGTERM). */
  readonly StopSignal?: string;
  /** Seconds podman waits after StopSignal before killing (podman's default is only 10 s). */
  readonly StopTimeout?: number;
  /** Maximum number of processes; omitted when the host has no pids controller. */
  readonly PidsLimit?: number;
  /** Never auto-update: images are pinned by digest and rolled by the deployment. */
  readonly AutoUpdate?: "registry" | "local";
  /** Pull policy: `missing` (default), `always`, `never`, `newer`. */
  readonly Pull?: "missing" | "always" | "never" | "newer";
  /** Read-only root filesystem. */
  readonly ReadOnly?: boolean;
  /** Disallow privilege escalation (setuid) inside the container. */
  readonly NoNewPrivileges?: boolean;
  /** Capabilities to drop (`all` for all). */
  readonly DropCapability?: readonly string[];
  /** tmpfs mounts, `PATH[:OPTIONS]`. */
  readonly Tmpfs?: readonly string[];
  /** Extra `podman run` arguments for flags Quadlet has no key for (memory, cpus). */
  readonly PodmanArgs?: readonly string[];
  /** Container labels. */
  readonly Label?: Readonly<Record<string, string>>;
}

/** `[Network]` keys. */
export interface NetworkSection {
  /** Podman network name (default `systemd-<unit>`). */
  readonly NetworkName?: string;
  /** Subnet in CIDR notation. */
  readonly Subnet?: string;
  /** Gateway address inside the subnet. */
  readonly Gateway?: string;
  /** Network driver (`bridge` by default). */
  readonly Driver?: "bridge" | "macvlan" | "ipvlan";
  /** Labels on the network. */
  readonly Label?: Readonly<Record<string, string>>;
}

/** `[Volume]` keys. */
export interface VolumeSection {
  /** Podman volume name (default `systemd-<unit>`). */
  readonly VolumeName?: string;
  /** Labels on the volume. */
  readonly Label?: Readonly<Record<string, string>>;
}

/** `[Image]` keys: pull an image once, with registry credentials Quadlet will not take in `[Container]`. */
export interface ImageSection {
  /** Image reference to pull. */
  readonly Image: string;
  /** Registry auth file (podman 5.4 rejects `AuthFile=` in `[Container]`, so auth goes here). */
  readonly AuthFile?: string;
  /** Verify the registry's TLS certificate (default true). */
  readonly TLSVerify?: boolean;
}

/** `[Build]` keys: build an image on the host (e.g. PostgreSQL + pgBackRest from a Containerfile). */
export interface BuildSection {
  /** Tag of the built image; containers reference the `.build` unit name instead. */
  readonly ImageTag: string;
  /** Containerfile path (absolute, or relative to the working directory). */
  readonly File?: string;
  /** Build context: a path, or `file` / `unit` for the Containerfile's / unit file's directory. */
  readonly SetWorkingDirectory?: string;
  /** Pull policy of base images. */
  readonly Pull?: "missing" | "always" | "never" | "newer";
  /** Registry auth file for base images. */
  readonly AuthFile?: string;
  /** Network during the build (`none` keeps builds hermetic). */
  readonly Network?: string;
  /** Build arguments / environment. */
  readonly Environment?: Readonly<Record<string, string>>;
}

/** A complete Quadlet file, discriminated by its extension. */
export type QuadletFile =
  | { readonly kind: "container"; readonly unit?: UnitSection; readonly container: ContainerSection; readonly service?: ServiceSection; readonly install?: InstallSection }
  | { readonly kind: "network"; readonly unit?: UnitSection; readonly network: NetworkSection }
  | { readonly kind: "volume"; readonly unit?: UnitSection; readonly volume: VolumeSection }
  | { readonly kind: "image"; readonly unit?: UnitSection; readonly image: ImageSection; readonly service?: ServiceSection }
  | { readonly kind: "build"; readonly unit?: UnitSection; readonly build: BuildSection; readonly service?: ServiceSection };

/** The value of a `Secret=` line (`name,type=env,target=VAR` or `name,type=mount,…`). */
export function secretText(ref: SecretRef): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(ref.name)) throw new Error(`secret name \`${ref.name}\` is not a podman secret name`);
  switch (ref.type) {
    case "env":
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(ref.target)) throw new Error(`secret \`${ref.name}\`: \`${ref.target}\` is not an environment variable name`);
      return `${ref.name},type=env,target=${ref.target}`;
    case "mount": {
      const parts = [ref.name, "type=mount"];
      if (ref.target !== undefined) parts.push(`target=${ref.target}`);
      if (ref.uid !== undefined) parts.push(`uid=${ref.uid}`);
      if (ref.gid !== undefined) parts.push(`gid=${ref.gid}`);
      if (ref.mode !== undefined) parts.push(`mode=${ref.mode}`);
      return parts.join(",");
    }
    default: {
      const never: never = ref;
      throw new Error(`unknown secret type ${JSON.stringify(never)}`);
    }
  }
}

function keyValues(record: Readonly<Record<string, string>> | undefined): string[] | undefined {
  if (record === undefined) return undefined;
  return Object.keys(record)
    .sort()
    .map((key) => {
      const value = record[key]!;
      // Quadlet splits Environment= like systemd: quote values with spaces.
      return /[\s"\\]/.test(value) ? `"${key}=${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"` : `${key}=${value}`;
    });
}

function unitSectionText(unit: UnitSection | undefined): UnitSectionText {
  return {
    name: "Unit",
    entries: [
      ["Description", unit?.Description],
      ["Requires", unit?.Requires],
      ["Wants", unit?.Wants],
      ["After", unit?.After],
      ["Before", unit?.Before],
      ["ConditionPathExists", unit?.ConditionPathExists],
    ],
  };
}

function serviceSectionText(service: ServiceSection | undefined): UnitSectionText {
  return {
    name: "Service",
    entries: [
      ["Type", service?.Type],
      ["RemainAfterExit", service?.RemainAfterExit === undefined ? undefined : service.RemainAfterExit ? "yes" : "no"],
      ["Restart", service?.Restart],
      ["RestartSec", service?.RestartSec],
      ["TimeoutStartSec", service?.TimeoutStartSec],
      ["TimeoutStopSec", service?.TimeoutStopSec],
      ["ExecStartPre", service?.ExecStartPre?.map(unitCommandLine)],
      ["ExecStartPost", service?.ExecStartPost?.map(unitCommandLine)],
    ],
  };
}

function containerSectionText(c: ContainerSection): UnitSectionText {
  return {
    name: "Container",
    entries: [
      ["Image", c.Image],
      ["ContainerName", c.ContainerName],
      ["Network", c.Network],
      ["PublishPort", c.PublishPort],
      ["Volume", c.Volume],
      ["Secret", c.Secret?.map(secretText)],
      ["Environment", keyValues(c.Environment)],
      ["EnvironmentFile", c.EnvironmentFile],
      ["Entrypoint", c.Entrypoint],
      ["Exec", c.Exec === undefined ? undefined : unitCommandLine(c.Exec)],
      ["WorkingDir", c.WorkingDir],
      ["User", c.User],
      ["UserNS", c.UserNS],
      ["HealthCmd", c.HealthCmd],
      ["HealthInterval", c.HealthInterval],
      ["HealthTimeout", c.HealthTimeout],
      ["HealthRetries", c.HealthRetries],
      ["HealthStartPeriod", c.HealthStartPeriod],
      ["HealthOnFailure", c.HealthOnFailure],
      ["Notify", c.Notify],
      ["StopSignal", c.StopSignal],
      ["StopTimeout", c.StopTimeout],
      ["PidsLimit", c.PidsLimit],
      ["AutoUpdate", c.AutoUpdate],
      ["Pull", c.Pull],
      ["ReadOnly", c.ReadOnly],
      ["NoNewPrivileges", c.NoNewPrivileges],
      ["DropCapability", c.DropCapability],
      ["Tmpfs", c.Tmpfs],
      ["PodmanArgs", c.PodmanArgs === undefined || c.PodmanArgs.length === 0 ? undefined : unitCommandLine(c.PodmanArgs)],
      ["Label", keyValues(c.Label)],
    ],
  };
}

/** Renders one Quadlet file (`.container`, `.network`, `.volume`, `.image`, `.build`). */
export function renderQuadlet(file: QuadletFile, header?: readonly string[]): string {
  switch (file.kind) {
    case "container":
      return renderUnitSections(
        [unitSectionText(file.unit), containerSectionText(file.container), serviceSectionText(file.service), { name: "Install", entries: [["WantedBy", file.install?.WantedBy]] }],
        header,
      );
    case "network":
      return renderUnitSections(
        [
          unitSectionText(file.unit),
          {
            name: "Network",
            entries: [
              ["NetworkName", file.network.NetworkName],
              ["Driver", file.network.Driver],
              ["Subnet", file.network.Subnet],
              ["Gateway", file.network.Gateway],
              ["Label", keyValues(file.network.Label)],
            ],
          },
        ],
        header,
      );
    case "volume":
      return renderUnitSections(
        [unitSectionText(file.unit), { name: "Volume", entries: [["VolumeName", file.volume.VolumeName], ["Label", keyValues(file.volume.Label)]] }],
        header,
      );
    case "image":
      return renderUnitSections(
        [
          unitSectionText(file.unit),
          { name: "Image", entries: [["Image", file.image.Image], ["AuthFile", file.image.AuthFile], ["TLSVerify", file.image.TLSVerify]] },
          serviceSectionText(file.service),
        ],
        header,
      );
    case "build":
      if (file.build.File === undefined && file.build.SetWorkingDirectory === undefined) {
        throw new Error("a `.build` needs `File` or `SetWorkingDirectory`");
      }
      return renderUnitSections(
        [
          unitSectionText(file.unit),
          {
            name: "Build",
            entries: [
              ["ImageTag", file.build.ImageTag],
              ["File", file.build.File],
              ["SetWorkingDirectory", file.build.SetWorkingDirectory],
              ["Pull", file.build.Pull],
              ["AuthFile", file.build.AuthFile],
              ["Network", file.build.Network],
              ["Environment", keyValues(file.build.Environment)],
            ],
          },
          serviceSectionText(file.service),
        ],
        header,
      );
    default: {
      const never: never = file;
      throw new Error(`unknown quadlet kind ${JSON.stringify(never)}`);
    }
  }
}

/** The systemd service name Quadlet generates for a file name (`x.container` → `x.service`, `x.network` → `x-network.service`). */
export function quadletServiceName(fileName: string): string {
  const match = /^(.+)\.(container|network|volume|image|build|pod|kube)$/.exec(fileName);
  if (!match) throw new Error(`\`${fileName}\` is not a Quadlet file name`);
  const [, base, ext] = match;
  return ext === "container" || ext === "kube" ? `${base}.service` : `${base}-${ext}.service`;
}
