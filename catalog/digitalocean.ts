// DigitalOcean catalog. DigitalOcean bills in USD, so no conversion. Sources and dates: catalog/SOURCES.md.
import type { CloudCatalog, Region, ServerType } from "./types";

/** Basic (Regular, shared-CPU) Droplet prices set on 1 July 2022 and still the published ones in 2026. */
const BASIC_AS_OF = "2026-09-20";

const basic = (name: string, vcpus: number, memoryGb: number, diskGb: number, monthlyUsd: number): ServerType =>
  Object.freeze({ name, line: "basic-regular", arch: "x86", vcpus, memoryGb, diskGb, monthlyUsd, priceAsOf: BASIC_AS_OF, available: true });

// Basic Droplets are offered in every region, so `regions` stays undefined.
const serverTypes: readonly ServerType[] = [
  basic("s-1vcpu-512mb-10gb", 1, 0.5, 10, 4),
  basic("s-1vcpu-1gb", 1, 1, 25, 6),
  basic("s-1vcpu-2gb", 1, 2, 50, 12),
  basic("s-2vcpu-2gb", 2, 2, 60, 18),
  basic("s-2vcpu-4gb", 2, 4, 80, 24),
  basic("s-4vcpu-8gb", 4, 8, 160, 48),
  basic("s-8vcpu-16gb", 8, 16, 320, 96),
];

const regions: readonly Region[] = [
  { name: "nyc1", city: "New York, US" },
  { name: "nyc2", city: "New York, US" },
  { name: "nyc3", city: "New York, US" },
  { name: "ams3", city: "Amsterdam, NL" },
  { name: "sfo2", city: "San Francisco, US" },
  { name: "sfo3", city: "San Francisco, US" },
  { name: "sgp1", city: "Singapore, SG" },
  { name: "lon1", city: "London, GB" },
  { name: "fra1", city: "Frankfurt, DE" },
  { name: "tor1", city: "Toronto, CA" },
  { name: "blr1", city: "Bangalore, IN" },
  { name: "syd1", city: "Sydney, AU" },
  { name: "atl1", city: "Atlanta, US" },
  { name: "ric1", city: "Richmond, US" },
];

// Spaces Standard Storage regions per DigitalOcean's availability matrix (generated 23 Mar 2026).
const objectStorageRegions = Object.freeze([
  "nyc3", "ams3", "sfo2", "sfo3", "sgp1", "lon1", "fra1", "tor1", "blr1", "syd1", "atl1",
] as const);

export const digitalocean: CloudCatalog = Object.freeze({
  cloud: "digitalocean",
  currencyNote: "DigitalOcean bills in USD; prices are list prices excluding taxes, no conversion.",
  source: {
    url: "https://www.digitalocean.com/pricing/droplets",
    retrieved: "2026-11-25",
    note:
      "Compiled from stored copies, not the live price list. Droplet prices are the July 2022 list, " +
      "consistent with DigitalOcean's pricing page as captured 2026-09-20 (Droplets from $4/month). " +
      "The load balancer price ($12 per node) is not confirmed by any stored page: the stored DigitalOcean " +
      "docs pages are older and say $10 per node. See catalog/SOURCES.md.",
  },
  serverTypes: Object.freeze(serverTypes),
  regions: Object.freeze(regions.map((r) => Object.freeze({ ...r }))),
  // One-node regional load balancer; phase 3's traffic fits one node (10k RPS per node).
  loadBalancer: Object.freeze({ type: "lb-small", monthlyUsd: 12 }),
  blockStorage: Object.freeze({ perGbMonthlyUsd: 0.10, note: "DigitalOcean Volumes Block Storage at $0.10/GiB-month (list price since 2018; not re-read from a 2026 source)." }),
  objectStorage: Object.freeze({
    monthlyUsd: 5,
    includedGb: 250,
    note: "Spaces subscription $5/month per account (any number of buckets) includes 250 GiB storage and 1 TiB outbound transfer; more storage $0.02/GiB, transfer $0.01/GiB.",
  }),
  // Every Droplet includes its public IPv4.
  primaryIpv4MonthlyUsd: 0,
  debianImage: "debian-13-x64",
  s3Endpoint(region: string): string {
    if (!(objectStorageRegions as readonly string[]).includes(region)) {
      throw new Error(
        `DigitalOcean Spaces is not offered in \`${region}\`; use one of ${objectStorageRegions.join(", ")}`,
      );
    }
    return `https://${region}.digitaloceanspaces.com`;
  },
  objectStorageRegions,
});
