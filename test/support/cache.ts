import * as os from "os";
import * as path from "path";

/**
 * Where the suite caches heavy artefacts (rootfs tarballs, unpacked chroots, images): outside the
 * clone, so a fresh clone on a reused machine finds them. Mirrors test/support/cache.sh.
 */
export function cacheRoot(): string {
  if (process.env.SENEX_CACHE) return process.env.SENEX_CACHE;
  const xdg = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(xdg, "senex-infra");
}
