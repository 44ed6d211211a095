// The catalogs of every cloud we can buy servers on, and lookups over them.
import { digitalocean } from "./digitalocean";
import { hetzner } from "./hetzner";
import type { CloudCatalog, CloudName, ServerType } from "./types";

export type { CloudCatalog, CloudName, Region, ServerType } from "./types";

/** Each cloud's catalog, keyed by the `cloud` config value. */
export const catalogs: Record<CloudName, CloudCatalog> = Object.freeze({ hetzner, digitalocean });

/** The server type `name` of `cloud`, or undefined when the cloud has no such type. */
export function serverType(cloud: CloudName, name: string): ServerType | undefined {
  return catalogs[cloud].serverTypes.find((t) => t.name === name);
}

/**
 * Monthly USD price of `name` in `region`: the regional price where the vendor charges more there,
 * else the default. Undefined when the type does not exist or is not offered in that region.
 */
export function serverTypeMonthlyUsd(cloud: CloudName, name: string, region: string): number | undefined {
  const type = serverType(cloud, name);
  if (type === undefined) return undefined;
  if (type.regions !== undefined && !type.regions.includes(region)) return undefined;
  return type.regionalMonthlyUsd?.[region] ?? type.monthlyUsd;
}
