// Hetzner Cloud catalog. Hetzner bills in EUR; we keep the EUR list price beside the USD figure so
// the conversion can be checked and redone. Every number's source and date: catalog/SOURCES.md.
import type { CloudCatalog, Region, ServerType } from "./types";

/** USD per EUR: ECB reference rate of 2026-10-28, as quoted by moveinfra/eu-cloud-prices (generated 2026-10-28). */
export const USD_PER_EUR = 1.1133;
/** The date of that rate. */
export const USD_PER_EUR_DATE = "2026-10-28";

/** EUR → USD, rounded to cents (list prices are quoted to the cent, so more digits would be false precision). */
export function eurToUsd(eur: number): number {
  return Math.round(eur * USD_PER_EUR * 100) / 100;
}

// Location sets. CX and CAX exist only in the EU locations; CCX everywhere.
const EU = ["fsn1", "nbg1", "hel1"] as const;
const US = ["ash", "hil"] as const;

const regions: readonly Region[] = [
  { name: "fsn1", city: "Falkenstein, DE", zone: "eu-central" },
  { name: "nbg1", city: "Nuremberg, DE", zone: "eu-central" },
  { name: "hel1", city: "Helsinki, FI", zone: "eu-central" },
  { name: "ash", city: "Ashburn, VA, US", zone: "us-east" },
  { name: "hil", city: "Hillsboro, OR, US", zone: "us-west" },
  { name: "sin", city: "Singapore, SG", zone: "ap-southeast" },
];

/** Dates of the price sources (see SOURCES.md). */
const AFTER_2026_04 = "2026-05-27"; // CX line after the 1 April 2026 increase (Hetzner API via devantler-tech, vdhome.be)
const OCT_2025 = "2025-10-21"; // per-location table in tonoid/hcloud-multiregion-mongodb-replicaset
const LEGACY = "2024-07-02"; // last list prices seen for the CX*2 types (derhuerst gist, VAT removed)

interface Row {
  name: string;
  line: string;
  arch: "x86" | "arm";
  vcpus: number;
  memoryGb: number;
  diskGb: number;
  /** EUR/month excl. VAT and excl. primary IPv4, in the EU locations (or the only locations offered). */
  eur: number;
  /** EUR/month where a location costs more than `eur`. */
  regionalEur?: Readonly<Record<string, number>>;
  priceAsOf: string;
  available: boolean;
  regions?: readonly string[];
}

// The Oct 2025 table quotes prices *with* a primary IPv4 (it notes IPv6-only saves €0.50); the
// Hetzner API and the 2026 sources quote them without. We store every price without the IPv4 and
// bill the IPv4 separately (primaryIpv4MonthlyUsd), so the 2025 figures below are the table's minus €0.50.
const rows: readonly Row[] = [
  // Cost-optimized CX, third generation (launched Oct 2025, replacing CX22..CX52). EU only.
  { name: "cx23", line: "cx-gen3", arch: "x86", vcpus: 2, memoryGb: 4, diskGb: 40, eur: 3.99, priceAsOf: AFTER_2026_04, available: true, regions: EU },
  { name: "cx33", line: "cx-gen3", arch: "x86", vcpus: 4, memoryGb: 8, diskGb: 80, eur: 6.49, priceAsOf: AFTER_2026_04, available: true, regions: EU },
  // CX43/CX53: derived from the €/vCPU figures of the Hetzner pricing API quoted 2026 (1.50 and 1.41)
  // and the CX53 hourly rate (€0.036/h); both land on Hetzner's usual x.49/x.99 steps.
  { name: "cx43", line: "cx-gen3", arch: "x86", vcpus: 8, memoryGb: 16, diskGb: 160, eur: 11.99, priceAsOf: AFTER_2026_04, available: true, regions: EU },
  { name: "cx53", line: "cx-gen3", arch: "x86", vcpus: 16, memoryGb: 32, diskGb: 320, eur: 22.49, priceAsOf: AFTER_2026_04, available: true, regions: EU },

  // CX second generation: no longer sold to new servers since the CX*3 line replaced them (late 2025).
  // Kept so existing stacks that name them still price and validate with a clear message.
  { name: "cx22", line: "cx-gen2", arch: "x86", vcpus: 2, memoryGb: 4, diskGb: 40, eur: 3.29, priceAsOf: LEGACY, available: false, regions: EU },
  { name: "cx32", line: "cx-gen2", arch: "x86", vcpus: 4, memoryGb: 8, diskGb: 80, eur: 6.3, priceAsOf: LEGACY, available: false, regions: EU },
  { name: "cx42", line: "cx-gen2", arch: "x86", vcpus: 8, memoryGb: 16, diskGb: 160, eur: 14.4, priceAsOf: LEGACY, available: false, regions: EU },
  { name: "cx52", line: "cx-gen2", arch: "x86", vcpus: 16, memoryGb: 32, diskGb: 320, eur: 32.4, priceAsOf: LEGACY, available: false, regions: EU },

  // Regular-performance CPX, second generation (AMD, shared vCPU). EU + Singapore.
  { name: "cpx12", line: "cpx-gen2-sin", arch: "x86", vcpus: 1, memoryGb: 2, diskGb: 40, eur: 5.99, priceAsOf: OCT_2025, available: true, regions: ["sin"] },
  { name: "cpx22", line: "cpx-gen2", arch: "x86", vcpus: 2, memoryGb: 4, diskGb: 80, eur: 5.99, regionalEur: { sin: 11.99 }, priceAsOf: OCT_2025, available: true, regions: [...EU, "sin"] },
  { name: "cpx32", line: "cpx-gen2", arch: "x86", vcpus: 4, memoryGb: 8, diskGb: 160, eur: 10.49, regionalEur: { sin: 24.99 }, priceAsOf: OCT_2025, available: true, regions: [...EU, "sin"] },
  { name: "cpx42", line: "cpx-gen2", arch: "x86", vcpus: 8, memoryGb: 16, diskGb: 320, eur: 19.49, regionalEur: { sin: 42.99 }, priceAsOf: OCT_2025, available: true, regions: [...EU, "sin"] },
  { name: "cpx52", line: "cpx-gen2", arch: "x86", vcpus: 12, memoryGb: 24, diskGb: 480, eur: 27.99, regionalEur: { sin: 59.99 }, priceAsOf: OCT_2025, available: true, regions: [...EU, "sin"] },
  { name: "cpx62", line: "cpx-gen2", arch: "x86", vcpus: 16, memoryGb: 32, diskGb: 640, eur: 38.49, regionalEur: { sin: 76.99 }, priceAsOf: OCT_2025, available: true, regions: [...EU, "sin"] },

  // CPX first generation: withdrawn from the EU when the CPX*2 line arrived; still listed for the US in Oct 2025.
  { name: "cpx11", line: "cpx-gen1", arch: "x86", vcpus: 2, memoryGb: 2, diskGb: 40, eur: 4.49, priceAsOf: OCT_2025, available: true, regions: US },
  { name: "cpx21", line: "cpx-gen1", arch: "x86", vcpus: 3, memoryGb: 4, diskGb: 80, eur: 8.99, priceAsOf: OCT_2025, available: true, regions: US },
  { name: "cpx31", line: "cpx-gen1", arch: "x86", vcpus: 4, memoryGb: 8, diskGb: 160, eur: 15.99, priceAsOf: OCT_2025, available: true, regions: US },
  { name: "cpx41", line: "cpx-gen1", arch: "x86", vcpus: 8, memoryGb: 16, diskGb: 240, eur: 29.99, priceAsOf: OCT_2025, available: true, regions: US },
  { name: "cpx51", line: "cpx-gen1", arch: "x86", vcpus: 16, memoryGb: 32, diskGb: 360, eur: 59.99, priceAsOf: OCT_2025, available: true, regions: US },

  // CAX: Ampere ARM64, shared vCPU. EU only.
  { name: "cax11", line: "cax", arch: "arm", vcpus: 2, memoryGb: 4, diskGb: 40, eur: 3.29, priceAsOf: OCT_2025, available: true, regions: EU },
  { name: "cax21", line: "cax", arch: "arm", vcpus: 4, memoryGb: 8, diskGb: 80, eur: 5.99, priceAsOf: OCT_2025, available: true, regions: EU },
  { name: "cax31", line: "cax", arch: "arm", vcpus: 8, memoryGb: 16, diskGb: 160, eur: 11.99, priceAsOf: OCT_2025, available: true, regions: EU },
  { name: "cax41", line: "cax", arch: "arm", vcpus: 16, memoryGb: 32, diskGb: 320, eur: 23.99, priceAsOf: OCT_2025, available: true, regions: EU },

  // CCX: AMD, dedicated vCPU. Every location; the US and Singapore cost more.
  { name: "ccx13", line: "ccx", arch: "x86", vcpus: 2, memoryGb: 8, diskGb: 80, eur: 11.99, regionalEur: { ash: 12.99, hil: 12.99, sin: 21.0 }, priceAsOf: OCT_2025, available: true },
  { name: "ccx23", line: "ccx", arch: "x86", vcpus: 4, memoryGb: 16, diskGb: 160, eur: 23.99, regionalEur: { ash: 25.99, hil: 25.99, sin: 39.4 }, priceAsOf: OCT_2025, available: true },
  { name: "ccx33", line: "ccx", arch: "x86", vcpus: 8, memoryGb: 32, diskGb: 240, eur: 47.99, regionalEur: { ash: 49.99, hil: 49.99, sin: 74.4 }, priceAsOf: OCT_2025, available: true },
  { name: "ccx43", line: "ccx", arch: "x86", vcpus: 16, memoryGb: 64, diskGb: 360, eur: 95.99, regionalEur: { ash: 99.99, hil: 99.99, sin: 137.0 }, priceAsOf: OCT_2025, available: true },
  { name: "ccx53", line: "ccx", arch: "x86", vcpus: 32, memoryGb: 128, diskGb: 600, eur: 191.99, regionalEur: { ash: 199.99, hil: 199.99, sin: 294.0 }, priceAsOf: OCT_2025, available: true },
  { name: "ccx63", line: "ccx", arch: "x86", vcpus: 48, memoryGb: 192, diskGb: 960, eur: 287.99, regionalEur: { ash: 299.99, hil: 299.99, sin: 482.0 }, priceAsOf: OCT_2025, available: true },
];

function toServerType(row: Row): ServerType {
  const type: ServerType = {
    name: row.name,
    line: row.line,
    arch: row.arch,
    vcpus: row.vcpus,
    memoryGb: row.memoryGb,
    diskGb: row.diskGb,
    monthlyUsd: eurToUsd(row.eur),
    monthlyEur: row.eur,
    priceAsOf: row.priceAsOf,
    available: row.available,
  };
  if (row.regions !== undefined) type.regions = Object.freeze([...row.regions]);
  if (row.regionalEur !== undefined) {
    type.regionalMonthlyUsd = Object.freeze(
      Object.fromEntries(Object.entries(row.regionalEur).map(([region, eur]) => [region, eurToUsd(eur)])),
    );
  }
  return Object.freeze(type);
}

const objectStorageRegions = Object.freeze(["fsn1", "nbg1", "hel1"] as const);

export const hetzner: CloudCatalog = Object.freeze({
  cloud: "hetzner",
  currencyNote:
    `Hetzner bills in EUR; USD = EUR × ${USD_PER_EUR} (ECB reference rate of ${USD_PER_EUR_DATE}, ` +
    "via moveinfra/eu-cloud-prices), rounded to cents. Prices exclude VAT.",
  source: {
    url: "https://www.hetzner.com/cloud/",
    retrieved: "2026-11-25",
    note:
      "Compiled from stored copies, not the live price list. CX23..CX53 carry the 1 April 2026 prices " +
      "(Hetzner API values quoted 2026-05-27). CPX, CAX, CCX, the load balancer and Object Storage carry " +
      "the last prices the stored sources show (Oct 2025 or older): the 1 April 2026 increase raised the CX " +
      "line by about 30 %, and is not applied to them, so they are probably 30-50 % low. Hetzner also announced " +
      "higher prices for servers ordered or rescaled from 15 June 2026 without publishing the table in any " +
      "stored source, so a new server may cost more than listed here. See catalog/SOURCES.md.",
  },
  serverTypes: Object.freeze(rows.map(toServerType)),
  regions: Object.freeze(regions.map((r) => Object.freeze({ ...r }))),
  // LB11: 25 targets, 5 services; the smallest size, enough for phase 3's web pool.
  loadBalancer: Object.freeze({ type: "lb11", monthlyUsd: eurToUsd(5.39) }),
  blockStorage: Object.freeze({ perGbMonthlyUsd: 0.049, note: "Hetzner Cloud Volumes at EUR 0.044/GB-month (2024 list price, converted at the catalog rate); not re-read from a 2026 source: the April 2026 adjustment may have raised it." }),
  objectStorage: Object.freeze({
    monthlyUsd: eurToUsd(5.0),
    includedGb: 1024,
    note: "Base price €5.00/month per account (any number of buckets) includes 1 TB storage and 1 TB egress; more is billed per TB-hour (Hetzner docs, 2024).",
  }),
  // €0.50/month per primary IPv4 (Oct 2025 table: switching a server to IPv6-only saves €0.50).
  primaryIpv4MonthlyUsd: eurToUsd(0.5),
  debianImage: "debian-13",
  s3Endpoint(region: string): string {
    if (!(objectStorageRegions as readonly string[]).includes(region)) {
      throw new Error(
        `Hetzner Object Storage is not offered in \`${region}\`; use one of ${objectStorageRegions.join(", ")}`,
      );
    }
    return `https://${region}.your-objectstorage.com`;
  },
  objectStorageRegions,
});
