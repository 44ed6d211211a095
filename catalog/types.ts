// The shape of a cloud's price and capability catalog. Pure data: no @pulumi imports, no I/O, so
// config validation, topology and the offline plan can all read it without an engine.

/** The clouds we can create servers on (`existing` hosts have no catalog: nothing is bought). */
export type CloudName = "hetzner" | "digitalocean";

/** One purchasable server size. */
export interface ServerType {
  /** The vendor's slug, exactly as its API and the Pulumi provider take it (`cx23`, `s-2vcpu-4gb`). */
  name: string;
  /**
   * The product line the type belongs to (`cx-gen3`, `cpx-gen2`, `basic-regular`, …). Prices only
   * compare within a line: a CCX with 2 dedicated vCPUs rightly costs more than a CX with 4 shared ones.
   */
  line: string;
  /** Virtual CPUs (shared or dedicated, as the line says). */
  vcpus: number;
  /** Memory in GB (GiB as the vendor counts it). */
  memoryGb: number;
  /** Local disk in GB. */
  diskGb: number;
  /**
   * Monthly list price cap in USD, excluding VAT, in the catalog's default (cheapest) regions,
   * excluding a primary IPv4 where the vendor bills that separately (see `CloudCatalog.primaryIpv4MonthlyUsd`).
   */
  monthlyUsd: number;
  /** The vendor's own price in EUR before conversion, for vendors that bill in EUR. */
  monthlyEur?: number;
  /** Price in regions where it differs from `monthlyUsd` (Hetzner bills more in `ash`/`hil`/`sin`). */
  regionalMonthlyUsd?: Readonly<Record<string, number>>;
  /** ISO date of the source the price was read from; a type priced from an older source says so here. */
  priceAsOf: string;
  /** false for types the vendor no longer sells to new servers */
  available: boolean;
  /** regions where it is offered; undefined = all */
  regions?: readonly string[];
  /** CPU architecture; images and container builds must match it. */
  arch: "x86" | "arm";
}

/** A location servers can be created in. */
export interface Region {
  /** The vendor's slug (`fsn1`, `fra1`). */
  name: string;
  /** City (and country) for humans. */
  city: string;
  /** network zone (Hetzner: eu-central, us-east, us-west, ap-southeast) */
  zone?: string;
}

/** Everything the program and the plan need to know about one cloud's offer. */
export interface CloudCatalog {
  /** Which cloud this catalog describes. */
  cloud: CloudName;
  /** How prices were converted to USD (rate, its date and source) or that they are native USD. */
  currencyNote: string;
  /** where the prices come from and when they were read */
  source: {
    /** The main price source (further per-item sources are in catalog/SOURCES.md). */
    url: string;
    /** ISO date this catalog was compiled from the stored sources. */
    retrieved: string;
    /** What is known to be stale or uncertain about the numbers. */
    note: string;
  };
  /** Server types, grouped by line, small to large within a line. */
  serverTypes: readonly ServerType[];
  /** Regions (locations) the cloud offers. */
  regions: readonly Region[];
  /** The load balancer size phase 3 uses and its monthly price. */
  loadBalancer: { type: string; monthlyUsd: number };
  /** object storage for backups: base monthly price and what it includes */
  objectStorage: { monthlyUsd: number; includedGb: number; note: string };
  /** Block-storage volumes (the data volumes of db/redis hosts): price per GB-month and its provenance. */
  blockStorage: { perGbMonthlyUsd: number; note: string };
  /** Monthly price of one primary public IPv4 per server when billed apart from the server (0 = included). */
  primaryIpv4MonthlyUsd: number;
  /** the debian image slug the cloud uses for Debian 13 */
  debianImage: string;
  /** S3 endpoint for a region's object storage, e.g. https://fsn1.your-objectstorage.com or https://fra1.digitaloceanspaces.com */
  s3Endpoint(region: string): string;
  /** regions offering object storage */
  objectStorageRegions: readonly string[];
}
