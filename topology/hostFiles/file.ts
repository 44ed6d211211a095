// The unit of a host's file set.
import type { SecretFileSource } from "./secrets";

/** A uid/gid pair as a container sees it (render/quadlet-host.ts `CONTAINER_USERS`). */
export interface ContainerOwner {
  readonly uid: number;
  readonly gid: number;
}

/**
 * One file a host receives. Owner `root` files are written by the admin layer (sudo) and their
 * `restarts` are system units; every other file belongs to `senex` and its `restarts` are
 * `systemctl --user` units of senex. The provider writes atomically (temp + rename, owner and mode
 * first), then `daemon-reload`s, reloads the units named in `reloads` and restarts, in order, the
 * units named in `restarts` of the files that changed.
 */
export interface HostFile {
  /** Absolute path on the host; unique within a host. */
  path: string;
  /** Octal mode, e.g. `0644`; `0600` for anything secret-derived. */
  mode: string;
  /** Owning user (group = the user's own group). */
  owner: "root" | "senex" | "admin" | string;
  /**
   * The content to write. For secret-derived files (see `fromSecrets`) this is only a display form
   * with `{{secret:<field>[:<transform>]}}` placeholders: it never holds a secret value.
   */
  content: string;
  /** units to restart when this file changes, in dependency order */
  restarts: string[];
  /** units to reload, never restart, when this file changes: units whose stop would open the host (the firewall) */
  reloads?: string[];
  /** a check the new content must pass (argv, content on stdin) before the layer writes anything */
  check?: readonly string[];
  /** true for Sentinel/Redis seeds that the service rewrites: written once, never overwritten */
  seed?: boolean;
  /** Kept on the host (its units left running) when the deployment is destroyed: files the bootstrap also owns. */
  keepOnDelete?: boolean;
  /** Set when the real content is rendered from secrets at apply time (by the named renderer). */
  fromSecrets?: SecretFileSource;
  /**
   * After writing (mode set, before the rename), chown the file inside senex's user namespace
   * (`podman unshare chown UID:GID FILE`) so the container's service user owns it. Needed where a
   * non-root container process must read a 0600 file or rewrite it: a file `senex` owns is
   * root:root inside a rootless container. On the host the file then belongs to a subordinate id,
   * so senex reads it back (hashes, drift) through `podman unshare` too. Only on `senex` files.
   */
  containerOwner?: ContainerOwner;
}

/**
 * A directory the host layer creates (before writing the files in it) and keeps at this mode and
 * ownership. Files' parent directories not listed here are plain `senex` 0755 directories.
 */
export interface HostDirectory {
  /** Absolute path on the host; unique within a host. */
  path: string;
  /** Octal mode, e.g. `0770`. */
  mode: string;
  /** Owning host user, as for {@link HostFile.owner}. */
  owner: "senex";
  /**
   * chown inside senex's user namespace, as for {@link HostFile.containerOwner}. For a service's
   * own config directory that the service rewrites files in (Redis CONFIG REWRITE, Sentinel's
   * state) this is `{ uid: 0, gid: <service gid> }` with mode 0770: uid 0 in the namespace is
   * senex itself, so the host layer keeps writing there (temp + rename), and the service writes
   * through its group.
   */
  containerOwner?: ContainerOwner;
}

/** A senex-owned file. */
export function senexFile(path: string, content: string, restarts: readonly string[], extra: Partial<Pick<HostFile, "mode" | "seed" | "fromSecrets" | "containerOwner">> = {}): HostFile {
  return {
    path,
    mode: extra.mode ?? "0644",
    owner: "senex",
    content,
    restarts: [...restarts],
    ...(extra.seed ? { seed: true } : {}),
    ...(extra.fromSecrets ? { fromSecrets: extra.fromSecrets } : {}),
    ...(extra.containerOwner ? { containerOwner: { uid: extra.containerOwner.uid, gid: extra.containerOwner.gid } } : {}),
  };
}
