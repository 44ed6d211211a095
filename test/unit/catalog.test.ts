import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { catalogs, serverType, serverTypeMonthlyUsd, type CloudCatalog, type CloudName, type ServerType } from "../../catalog";
import { eurToUsd, USD_PER_EUR } from "../../catalog/hetzner";

const clouds = Object.keys(catalogs) as CloudName[];
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Every (cloud, type) pair, for table tests. */
const allTypes: [CloudName, string, ServerType][] = clouds.flatMap((cloud) =>
  catalogs[cloud].serverTypes.map((t): [CloudName, string, ServerType] => [cloud, t.name, t]),
);

describe("catalog shape", () => {
  it("has exactly the clouds hetzner and digitalocean, each keyed by its own name", () => {
    expect(clouds.sort()).toEqual(["digitalocean", "hetzner"]);
    for (const cloud of clouds) expect(catalogs[cloud].cloud).toBe(cloud);
  });

  it.each(allTypes)("%s %s has positive vCPUs, memory, disk and price", (_cloud, _name, t) => {
    for (const n of [t.vcpus, t.memoryGb, t.diskGb, t.monthlyUsd]) {
      expect(Number.isFinite(n)).toBe(true);
      expect(n).toBeGreaterThan(0);
    }
    for (const price of Object.values(t.regionalMonthlyUsd ?? {})) expect(price).toBeGreaterThan(0);
    expect(Number.isInteger(t.vcpus)).toBe(true);
  });

  it.each(clouds)("%s: server type names are unique", (cloud) => {
    const names = catalogs[cloud].serverTypes.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(clouds)("%s: region names are unique", (cloud) => {
    const names = catalogs[cloud].regions.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(clouds)("%s: every region a server type names (offered or priced) is one of the cloud's regions", (cloud) => {
    const known = new Set(catalogs[cloud].regions.map((r) => r.name));
    const unknown = catalogs[cloud].serverTypes.flatMap((t) =>
      [...(t.regions ?? []), ...Object.keys(t.regionalMonthlyUsd ?? {})]
        .filter((r) => !known.has(r))
        .map((r) => `${t.name}:${r}`),
    );
    expect(unknown).toEqual([]);
  });

  it.each(clouds)("%s: a regional price is only given for a region the type is offered in", (cloud) => {
    const stray = catalogs[cloud].serverTypes.flatMap((t) =>
      Object.keys(t.regionalMonthlyUsd ?? {})
        .filter((r) => t.regions !== undefined && !t.regions.includes(r))
        .map((r) => `${t.name}:${r}`),
    );
    expect(stray).toEqual([]);
  });

  it.each(clouds)("%s: every region offering object storage is one of the cloud's regions", (cloud) => {
    const known = new Set(catalogs[cloud].regions.map((r) => r.name));
    expect(catalogs[cloud].objectStorageRegions.length).toBeGreaterThan(0);
    expect(catalogs[cloud].objectStorageRegions.filter((r) => !known.has(r))).toEqual([]);
  });

  it.each(clouds)("%s: the catalog is frozen, so no caller can change prices for everyone", (cloud) => {
    const catalog = catalogs[cloud];
    expect(Object.isFrozen(catalog)).toBe(true);
    expect(Object.isFrozen(catalog.serverTypes)).toBe(true);
    expect(catalog.serverTypes.every((t) => Object.isFrozen(t))).toBe(true);
    expect(() => {
      (catalog.serverTypes[0] as { monthlyUsd: number }).monthlyUsd = 0;
    }).toThrow(TypeError);
  });
});

/** a is no bigger than b in any dimension, and smaller in at least one. */
const smaller = (a: ServerType, b: ServerType): boolean =>
  a.vcpus <= b.vcpus &&
  a.memoryGb <= b.memoryGb &&
  a.diskGb <= b.diskGb &&
  (a.vcpus < b.vcpus || a.memoryGb < b.memoryGb || a.diskGb < b.diskGb);

describe("prices increase with size within a line", () => {
  it.each(clouds)("%s: in every line a smaller type costs strictly less, in every region", (cloud) => {
    const catalog = catalogs[cloud];
    const violations: string[] = [];
    let comparisons = 0;
    for (const a of catalog.serverTypes) {
      for (const b of catalog.serverTypes) {
        if (a.line !== b.line || !smaller(a, b)) continue;
        for (const region of catalog.regions.map((r) => r.name)) {
          const pa = serverTypeMonthlyUsd(cloud, a.name, region);
          const pb = serverTypeMonthlyUsd(cloud, b.name, region);
          if (pa === undefined || pb === undefined) continue;
          comparisons++;
          if (!(pa < pb)) violations.push(`${region}: ${a.name} $${pa} !< ${b.name} $${pb}`);
        }
      }
    }
    expect(violations).toEqual([]);
    // The check must have compared something, or it proves nothing.
    expect(comparisons).toBeGreaterThan(10);
  });

  it("within a line, types are listed small to large", () => {
    for (const cloud of clouds) {
      const types = catalogs[cloud].serverTypes;
      for (let i = 1; i < types.length; i++) {
        if (types[i - 1]!.line === types[i]!.line) expect(types[i - 1]!.monthlyUsd).toBeLessThan(types[i]!.monthlyUsd);
      }
    }
  });
});

describe("sources and dates", () => {
  it.each(clouds)("%s: the source has an https URL, an ISO retrieval date and a note", (cloud) => {
    const { source } = catalogs[cloud];
    expect(source.url).toMatch(/^https:\/\//);
    expect(source.retrieved).toMatch(ISO_DATE);
    expect(Number.isNaN(Date.parse(source.retrieved))).toBe(false);
    expect(source.note.length).toBeGreaterThan(20);
    expect(catalogs[cloud].currencyNote.length).toBeGreaterThan(10);
  });

  it.each(allTypes)("%s %s says when its price was read, no later than the catalog", (cloud, _name, t) => {
    expect(t.priceAsOf).toMatch(ISO_DATE);
    expect(Date.parse(t.priceAsOf)).toBeLessThanOrEqual(Date.parse(catalogs[cloud].source.retrieved));
  });

  it("the Hetzner currency note states the rate the prices were converted with", () => {
    expect(catalogs.hetzner.currencyNote).toContain(String(USD_PER_EUR));
    expect(catalogs.hetzner.currencyNote).toMatch(/\d{4}-\d{2}-\d{2}/);
  });

  it("every Hetzner USD price is its EUR price at the stated rate", () => {
    for (const t of catalogs.hetzner.serverTypes) {
      expect(t.monthlyEur).toBeDefined();
      expect(t.monthlyUsd).toBeCloseTo(t.monthlyEur! * USD_PER_EUR, 2);
    }
    expect(eurToUsd(10)).toBe(11.13);
  });

  it("SOURCES.md names every server type of every cloud", () => {
    const sources = readFileSync(join(__dirname, "../../catalog/SOURCES.md"), "utf8");
    const missing = allTypes.map(([, name]) => name).filter((name) => !sources.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});

describe("what a deployment relies on", () => {
  it.each([
    ["hetzner", "cx23", 2, 4],
    ["hetzner", "cx33", 4, 8],
    ["hetzner", "cx43", 8, 16],
    ["hetzner", "cx53", 16, 32],
    ["hetzner", "cax11", 2, 4],
    ["hetzner", "ccx13", 2, 8],
    ["digitalocean", "s-1vcpu-1gb", 1, 1],
    ["digitalocean", "s-2vcpu-4gb", 2, 4],
    ["digitalocean", "s-8vcpu-16gb", 8, 16],
  ] as const)("%s %s is sold with %i vCPUs and %i GB", (cloud, name, vcpus, memoryGb) => {
    const t = serverType(cloud, name);
    expect(t).toMatchObject({ name, vcpus, memoryGb, available: true });
  });

  it.each(["cx22", "cx32", "cx42", "cx52"])("hetzner %s is marked as no longer sold (replaced by the CX*3 line)", (name) => {
    expect(serverType("hetzner", name)?.available).toBe(false);
  });

  it("CX and CAX are offered in the EU locations only; CCX everywhere", () => {
    expect(serverType("hetzner", "cx23")?.regions).toEqual(["fsn1", "nbg1", "hel1"]);
    expect(serverType("hetzner", "cax21")?.regions).toEqual(["fsn1", "nbg1", "hel1"]);
    expect(serverType("hetzner", "ccx23")?.regions).toBeUndefined();
    expect(serverType("hetzner", "cax21")?.arch).toBe("arm");
  });

  it("serverType returns undefined for unknown names and for another cloud's names", () => {
    expect(serverType("hetzner", "cx99")).toBeUndefined();
    expect(serverType("hetzner", "s-1vcpu-1gb")).toBeUndefined();
    expect(serverType("digitalocean", "cx23")).toBeUndefined();
  });

  it("serverTypeMonthlyUsd uses the regional price where one exists and refuses regions a type is not sold in", () => {
    const ccx13 = serverType("hetzner", "ccx13")!;
    expect(serverTypeMonthlyUsd("hetzner", "ccx13", "fsn1")).toBe(ccx13.monthlyUsd);
    expect(serverTypeMonthlyUsd("hetzner", "ccx13", "ash")).toBeGreaterThan(ccx13.monthlyUsd);
    expect(serverTypeMonthlyUsd("hetzner", "cx23", "ash")).toBeUndefined();
    expect(serverTypeMonthlyUsd("hetzner", "nope", "fsn1")).toBeUndefined();
    expect(serverTypeMonthlyUsd("digitalocean", "s-1vcpu-1gb", "fra1")).toBe(6);
  });

  it("Debian 13 image slugs", () => {
    expect(catalogs.hetzner.debianImage).toBe("debian-13");
    expect(catalogs.digitalocean.debianImage).toBe("debian-13-x64");
  });

  it("Hetzner object storage is in fsn1, nbg1, hel1 and its endpoint is <region>.your-objectstorage.com", () => {
    expect([...catalogs.hetzner.objectStorageRegions]).toEqual(["fsn1", "nbg1", "hel1"]);
    for (const region of catalogs.hetzner.objectStorageRegions) {
      expect(catalogs.hetzner.s3Endpoint(region)).toBe(`https://${region}.your-objectstorage.com`);
    }
    expect(() => catalogs.hetzner.s3Endpoint("ash")).toThrow(/not offered in `ash`.*fsn1, nbg1, hel1/);
  });

  it("DigitalOcean Spaces endpoints are <region>.digitaloceanspaces.com, and not every region has Spaces", () => {
    expect(catalogs.digitalocean.s3Endpoint("fra1")).toBe("https://fra1.digitaloceanspaces.com");
    for (const region of catalogs.digitalocean.objectStorageRegions) {
      expect(new URL(catalogs.digitalocean.s3Endpoint(region)).hostname).toBe(`${region}.digitaloceanspaces.com`);
    }
    expect(catalogs.digitalocean.objectStorageRegions).not.toContain("nyc1");
    expect(() => catalogs.digitalocean.s3Endpoint("nyc1")).toThrow(/not offered in `nyc1`/);
  });

  it.each(clouds)("%s: load balancer and object storage have a type, a positive price and an included quota", (cloud) => {
    const c: CloudCatalog = catalogs[cloud];
    expect(c.loadBalancer.type.length).toBeGreaterThan(0);
    expect(c.loadBalancer.monthlyUsd).toBeGreaterThan(0);
    expect(c.objectStorage.monthlyUsd).toBeGreaterThan(0);
    expect(c.objectStorage.includedGb).toBeGreaterThan(0);
    expect(c.primaryIpv4MonthlyUsd).toBeGreaterThanOrEqual(0);
  });

  it("Hetzner regions carry their network zone", () => {
    const zones = Object.fromEntries(catalogs.hetzner.regions.map((r) => [r.name, r.zone]));
    expect(zones).toEqual({
      fsn1: "eu-central", nbg1: "eu-central", hel1: "eu-central", ash: "us-east", hil: "us-west", sin: "ap-southeast",
    });
  });
});

describe("purity", () => {
  it("catalog/*.ts imports nothing but its own modules (no @pulumi, no fs, no network)", () => {
    const dir = join(__dirname, "../../catalog");
    const imports = readdirSync(dir)
      .filter((f) => f.endsWith(".ts"))
      .flatMap((f) => [...readFileSync(join(dir, f), "utf8").matchAll(/from\s+"([^"]+)"|require\("([^"]+)"\)/g)].map((m) => `${f}: ${m[1] ?? m[2]}`));
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((i) => !/: \.\/[a-z]+$/.test(i))).toEqual([]);
  });
});
