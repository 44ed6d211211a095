// The unit of a host's file set.
import type { SecretFileSource } from "./secrets";

/**
 * One file a host receives. Owner `root` files are written by the admin layer (sudo) and their
 * `restarts` are system units; every other file belongs to `senex` and its `restarts` are
 * `systemctl --user` units of senex. The provider writes atomically (temp + rename, owner and mode
 * first), then `daemon-reload`s and restarts, in order, the units named by the files that changed.
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
  /** true for Sentinel/Redis seeds that the service rewrites: written once, never overwritten */
  seed?: boolean;
  /** Set when the real content is rendered from secrets at apply time (by the named renderer). */
  fromSecrets?: SecretFileSource;
}

/** A senex-owned file. */
export function senexFile(path: string, content: string, restarts: readonly string[], extra: Partial<Pick<HostFile, "mode" | "seed" | "fromSecrets">> = {}): HostFile {
  return { path, mode: extra.mode ?? "0644", owner: "senex", content, restarts: [...restarts], ...(extra.seed ? { seed: true } : {}), ...(extra.fromSecrets ? { fromSecrets: extra.fromSecrets } : {}) };
}
