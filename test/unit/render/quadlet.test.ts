import fc from "fast-check";
import { quadletServiceName, renderQuadlet, type QuadletFile } from "../../../render/quadlet";
import { hostUnitNames, imageKey, renderHostQuadlets, servicePorts, type HostService } from "../../../render/quadlet-host";
import { quoteUnitArg } from "../../../render/systemd";
import { acmeSpec, defaultInput, deployment, quadletSpec, renderHostFiles, SECRET_NAMES, type Phase } from "./phase-hosts";

/** Parses `Key=value` lines of one section of a unit file. */
function sectionValues(text: string, section: string, key: string): string[] {
  const out: string[] = [];
  let current = "";
  for (const line of text.split("\n")) {
    const header = /^\[(.+)\]$/.exec(line);
    if (header) current = header[1]!;
    else if (current === section && line.startsWith(`${key}=`)) out.push(line.slice(key.length + 1));
  }
  return out;
}

function unitDeps(text: string): string[] {
  return ["Requires", "Wants", "After", "Before"].flatMap((k) => sectionValues(text, "Unit", k).flatMap((v) => v.split(/\s+/)));
}

describe("renderQuadlet", () => {
  it("renders a container with sections in order, skipping empty keys and sections", () => {
    const file: QuadletFile = {
      kind: "container",
      unit: { Description: "cache", After: ["a.service"] },
      container: {
        Image: "localhost/redis:7",
        Network: ["host"],
        Secret: [
          { name: "senex-redis-password", type: "mount", mode: "0400" },
          { name: "senex-django-secret-key", type: "env", target: "SECRET_KEY" },
        ],
        Environment: { B: "two words", A: "1" },
        Exec: ["redis-server", "/etc/x.conf", "--save", ""],
      },
      service: { Restart: "always" },
      install: { WantedBy: ["default.target"] },
    };
    expect(renderQuadlet(file)).toBe(
      [
        "[Unit]",
        "Description=cache",
        "After=a.service",
        "",
        "[Container]",
        "Image=localhost/redis:7",
        "Network=host",
        "Secret=senex-redis-password,type=mount,mode=0400",
        "Secret=senex-django-secret-key,type=env,target=SECRET_KEY",
        "Environment=A=1",
        'Environment="B=two words"',
        'Exec=redis-server /etc/x.conf --save ""',
        "",
        "[Service]",
        "Restart=always",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
      ].join("\n"),
    );
  });

  it.each<[QuadletFile, string]>([
    [{ kind: "network", network: { NetworkName: "senex", Subnet: "10.89.7.0/24" } }, "[Network]\nNetworkName=senex\nSubnet=10.89.7.0/24\n"],
    [{ kind: "volume", volume: { VolumeName: "senex-pg" } }, "[Volume]\nVolumeName=senex-pg\n"],
    [{ kind: "image", image: { Image: "r.test/app:1", AuthFile: "/home/senex/.config/containers/auth.json" } }, "[Image]\nImage=r.test/app:1\nAuthFile=/home/senex/.config/containers/auth.json\n"],
    [
      { kind: "build", build: { ImageTag: "localhost/senex-postgres:17-pgbackrest", File: "/home/senex/.config/senex/images/postgres/Containerfile", SetWorkingDirectory: "file", Network: "none" } },
      "[Build]\nImageTag=localhost/senex-postgres:17-pgbackrest\nFile=/home/senex/.config/senex/images/postgres/Containerfile\nSetWorkingDirectory=file\nNetwork=none\n",
    ],
  ])("renders %j", (file, text) => {
    expect(renderQuadlet(file)).toBe(text);
  });

  it("refuses a .build without a Containerfile or context", () => {
    expect(() => renderQuadlet({ kind: "build", build: { ImageTag: "localhost/x:1" } })).toThrow(/`File` or `SetWorkingDirectory`/);
  });

  it("rejects a value with a line break instead of writing a different unit", () => {
    expect(() => renderQuadlet({ kind: "container", unit: { Description: "a\nExecStartPre=/bin/evil" }, container: { Image: "x" } })).toThrow(/line break/);
  });

  it("rejects secret names podman would not accept and env targets that are not variable names", () => {
    expect(() => renderQuadlet({ kind: "container", container: { Image: "x", Secret: [{ name: "a,b", type: "mount" }] } })).toThrow(/podman secret name/);
    expect(() => renderQuadlet({ kind: "container", container: { Image: "x", Secret: [{ name: "a", type: "env", target: "A-B" }] } })).toThrow(/environment variable name/);
  });

  it.each([
    ["plain", "plain"],
    ["two words", '"two words"'],
    ["100%", "100%%"],
    ["$HOME", "$$HOME"],
    ['say "hi"', '"say \\"hi\\""'],
    ["", '""'],
  ])("quotes the command argument %j as %s", (arg, quoted) => {
    expect(quoteUnitArg(arg)).toBe(quoted);
  });

  it.each([
    ["senex-postgres.container", "senex-postgres.service"],
    ["senex.network", "senex-network.service"],
    ["senex-static.volume", "senex-static-volume.service"],
    ["senex-image-abc.image", "senex-image-abc-image.service"],
  ])("knows Quadlet names %s as %s", (file, unit) => {
    expect(quadletServiceName(file)).toBe(unit);
  });
});

describe("renderHostQuadlets", () => {
  it.each<Phase>([1, 2, 3])("phase %i: every host's files match the snapshot", (phase) => {
    const d = deployment(defaultInput(phase));
    const all = Object.fromEntries(d.hosts.map((h) => [h.name, renderHostQuadlets(quadletSpec(h))]));
    expect(all).toMatchSnapshot();
  });

  it("phase 1 expresses the seeds' start order: postgres → redis → migrate → collectstatic → daphne → worker → beat", () => {
    const d = deployment(defaultInput(1));
    const files = renderHostQuadlets(quadletSpec(d.hosts[0]!));
    const after = (file: string) => sectionValues(files[file]!, "Unit", "After");
    const requires = (file: string) => sectionValues(files[file]!, "Unit", "Requires");
    expect(requires("senex-migrate.container")).toEqual(["senex-postgres.service"]);
    expect(after("senex-collectstatic.container")).toEqual(["senex-migrate.service"]);
    for (const daphne of ["senex-daphne-8001.container", "senex-daphne-8002.container"]) {
      expect(requires(daphne)).toEqual(["senex-migrate.service", "senex-collectstatic.service"]);
      expect(after(daphne)).toEqual(expect.arrayContaining(["senex-postgres.service", "senex-redis-broker.service", "senex-redis-cache.service"]));
    }
    expect(after("senex-celery-worker.container")).toEqual(expect.arrayContaining(["senex-redis-broker.service", "senex-migrate.service", "senex-daphne-8001.service", "senex-daphne-8002.service"]));
    expect(after("senex-celery-beat.container")).toEqual(expect.arrayContaining(["senex-celery-worker.service", "senex-redis-broker.service"]));
    // nginx is independent of the app
    expect(unitDeps(files["senex-nginx.container"]!)).toEqual([]);
  });

  it("runs migrate once per image: the stamp carries the digest, a new digest changes the unit", () => {
    const a = deployment(defaultInput(1));
    const b = deployment(defaultInput(1, { appImage: `registry.senex.test/senex-app@sha256:${"4e".repeat(32)}` }));
    const ma = renderHostQuadlets(quadletSpec(a.hosts[0]!))["senex-migrate.container"]!;
    const mb = renderHostQuadlets(quadletSpec(b.hosts[0]!))["senex-migrate.container"]!;
    expect(imageKey(a.input.appImage)).toBe("3f".repeat(8));
    expect(sectionValues(ma, "Unit", "ConditionPathExists")).toEqual([`!/home/senex/.local/state/senex/migrations/migrated-${"3f".repeat(8)}`]);
    expect(sectionValues(ma, "Service", "ExecStartPost")).toEqual([`/usr/bin/touch /home/senex/.local/state/senex/migrations/migrated-${"3f".repeat(8)}`]);
    expect(sectionValues(ma, "Service", "Type")).toEqual(["oneshot"]);
    expect(mb).not.toBe(ma);
    expect(mb).toContain(`migrated-${"4e".repeat(8)}`);
    // a tag (no digest) still gets a stable key
    expect(imageKey("r.test/app:1")).toBe(imageKey("r.test/app:1"));
    expect(imageKey("r.test/app:1")).not.toBe(imageKey("r.test/app:2"));
  });

  it("gives the celery worker a stop timeout long enough for an order task (podman and systemd)", () => {
    const d = deployment(defaultInput(1));
    const worker = renderHostQuadlets(quadletSpec(d.hosts[0]!))["senex-celery-worker.container"]!;
    expect(sectionValues(worker, "Container", "StopSignal")).toEqual(["SIGTERM"]);
    expect(sectionValues(worker, "Container", "StopTimeout")).toEqual(["600"]);
    expect(sectionValues(worker, "Service", "TimeoutStopSec")).toEqual(["630"]);
    const custom = renderHostQuadlets({ ...quadletSpec(d.hosts[0]!), services: [{ kind: "celery-worker", app: d.app, stopTimeoutSec: 1200 }] })["senex-celery-worker.container"]!;
    expect(sectionValues(custom, "Service", "TimeoutStopSec")).toEqual(["1230"]);
  });

  it("drops the health check (and Notify=healthy) of a service whose image lacks the tool", () => {
    const d = deployment(defaultInput(2));
    const db = quadletSpec(d.hosts.find((h) => h.name === "db-1")!);
    const files = renderHostQuadlets({ ...db, services: db.services.map((s) => (s.kind === "pgbouncer" ? { ...s, healthCheck: false } : s)) });
    expect(files["senex-pgbouncer.container"]).not.toMatch(/Health|Notify/);
    expect(files["senex-postgres.container"]).toContain("Notify=healthy");
  });

  it("omits resource limits unless set, and renders them when set", () => {
    const none = renderHostQuadlets(quadletSpec(deployment(defaultInput(1)).hosts[0]!));
    for (const text of Object.values(none)) expect(text).not.toMatch(/PidsLimit=|--memory|--cpus/);
    const limited = renderHostQuadlets(quadletSpec(deployment(defaultInput(1, { limits: { memory: "512m", cpus: 1.5, pids: 256 } })).hosts[0]!));
    expect(sectionValues(limited["senex-postgres.container"]!, "Container", "PodmanArgs")).toEqual(["--memory=512m --cpus=1.5"]);
    expect(sectionValues(limited["senex-postgres.container"]!, "Container", "PidsLimit")).toEqual(["256"]);
  });

  it("binds host-network services to the private address and never auto-updates", () => {
    const d = deployment(defaultInput(3));
    for (const host of d.hosts) {
      const files = renderHostQuadlets(quadletSpec(host));
      for (const [name, text] of Object.entries(files)) {
        if (!name.endsWith(".container")) continue;
        expect(sectionValues(text, "Container", "Network")).toEqual(["host"]);
        expect(text).not.toMatch(/AutoUpdate=/);
        expect(text).not.toMatch(/0\.0\.0\.0/);
      }
    }
  });

  it("pulls through .image units with the auth file when a registry auth file is configured", () => {
    const d = deployment(defaultInput(1));
    const files = renderHostQuadlets(quadletSpec(d.hosts[0]!, "/home/senex/.config/containers/auth.json"));
    const images = Object.keys(files).filter((f) => f.endsWith(".image"));
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(sectionValues(files[image]!, "Image", "AuthFile")).toEqual(["/home/senex/.config/containers/auth.json"]);
    expect(sectionValues(files["senex-migrate.container"]!, "Container", "Image")[0]).toMatch(/^senex-image-[0-9a-f]{12}\.image$/);
  });

  it("rejects two services on one port, naming both", () => {
    const d = deployment(defaultInput(1));
    const spec = { ...quadletSpec(d.hosts[0]!), services: [{ kind: "daphne", app: d.app, ports: [9100] } as const, { kind: "node-exporter", image: "x" } as const] };
    expect(() => renderHostQuadlets(spec)).toThrow("port 9100 is declared by both `daphne` and `node-exporter` on main");
  });

  it("nginx mounts exactly the TLS dir and webroot the ACME script writes, and runs its placeholder step first", () => {
    const d = deployment(defaultInput(1));
    const nginx = renderHostQuadlets(quadletSpec(d.hosts[0]!))["senex-nginx.container"]!;
    const acme = acmeSpec(d);
    expect(sectionValues(nginx, "Container", "Volume")).toEqual(expect.arrayContaining([`${acme.tlsDir}:/etc/senex/tls:ro`, `${acme.webroot}:/srv/acme:ro`]));
    expect(sectionValues(nginx, "Service", "ExecStartPre")).toEqual([`/bin/bash ${acme.scriptPath} placeholder`]);
    expect(sectionValues(nginx, "Container", "Network")).toEqual(["host"]);
  });

  it("hostUnitNames lists the systemd units the files generate", () => {
    const d = deployment(defaultInput(2));
    const names = hostUnitNames(renderHostQuadlets(quadletSpec(d.hosts[1]!)));
    expect(names).toEqual(expect.arrayContaining(["senex-postgres.service", "senex-pgbouncer.service", "senex-network.service", "senex-postgres-data-volume.service"]));
  });
});

// --- properties ------------------------------------------------------------------------------

const appArb = fc.constant(deployment(defaultInput(1)).app);
const serviceArb: fc.Arbitrary<HostService> = fc.oneof(
  fc.constantFrom<HostService["kind"]>("postgres", "pgbouncer", "sentinel", "nginx", "node-exporter", "postgres-exporter", "prometheus", "alertmanager", "loki", "alloy").map((kind) => ({ kind, image: `r.test/${kind}:1` }) as HostService),
  fc.constantFrom("broker", "cache").map((role) => ({ kind: "redis", role, image: "r.test/redis:7" }) as HostService),
  fc.constantFrom("broker", "cache").map((role) => ({ kind: "redis-exporter", role, image: "r.test/re:1" }) as HostService),
  fc.constant({ kind: "grafana", image: "r.test/g:1", rootUrl: "https://x.test/grafana/" } as HostService),
  appArb.chain((app) =>
    fc.oneof(
      fc.constantFrom("migrate", "collectstatic", "celery-worker", "celery-beat").map((kind) => ({ kind, app }) as HostService),
      fc.uniqueArray(fc.integer({ min: 8001, max: 8020 }), { minLength: 1, maxLength: 4 }).map((ports) => ({ kind: "daphne", app, ports }) as HostService),
    ),
  ),
);
/** Random service sets without duplicate unit names (the topology never places a unit twice). */
const hostServicesArb = fc.uniqueArray(serviceArb, {
  minLength: 1,
  maxLength: 14,
  selector: (s) => (s.kind === "redis" || s.kind === "redis-exporter" ? `${s.kind}-${s.role}` : s.kind),
});

describe("renderHostQuadlets properties", () => {
  it("every Requires=/Wants=/After= names a unit rendered on the same host (or a systemd target)", () => {
    fc.assert(
      fc.property(hostServicesArb, (services) => {
        const files = renderHostQuadlets({ host: "h", privateAddress: "10.0.0.9", configRoot: "/c", stateRoot: "/s", services });
        const units = new Set(hostUnitNames(files));
        for (const text of Object.values(files)) {
          for (const dep of unitDeps(text)) {
            if (!dep.endsWith(".target")) expect(units.has(dep)).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("no port is declared twice on a host: either the set renders with unique ports, or it is refused naming the port", () => {
    fc.assert(
      fc.property(hostServicesArb, fc.integer({ min: 8001, max: 8020 }), (services, extraPort) => {
        const all: HostService[] = [...services, { kind: "daphne", app: deployment(defaultInput(1)).app, ports: [extraPort] }];
        const ports = all.flatMap(servicePorts);
        const duplicates = ports.filter((p, i) => ports.indexOf(p) !== i);
        // daphne instances are units per port, so two daphne entries clash only through their ports
        const names = all.filter((s) => s.kind !== "daphne").map((s) => (s.kind === "redis" || s.kind === "redis-exporter" ? `${s.kind}-${s.role}` : s.kind));
        const spec = { host: "h", privateAddress: "10.0.0.9", configRoot: "/c", stateRoot: "/s", services: all };
        if (duplicates.length > 0 || new Set(names).size !== names.length) {
          expect(() => renderHostQuadlets(spec)).toThrow(duplicates.length > 0 ? `port ${duplicates[0]}` : /placed twice/);
        } else {
          expect(() => renderHostQuadlets(spec)).not.toThrow();
        }
      }),
      { numRuns: 300 },
    );
  });

  it("for random secret values, no value appears in any file of any host of any phase; Secret= names only", () => {
    const secretValue = fc.string({ minLength: 12, maxLength: 40, unit: "grapheme-ascii" }).filter((s) => s.trim().length >= 12);
    fc.assert(
      fc.property(
        fc.constantFrom<Phase>(1, 2, 3),
        fc.tuple(...SECRET_NAMES.map(() => secretValue)),
        (phase, values) => {
          const secrets = Object.fromEntries(SECRET_NAMES.map((n, i) => [n, values[i]!]));
          const d = deployment(defaultInput(phase, { secrets }));
          for (const host of d.hosts) {
            for (const [file, text] of Object.entries(renderHostFiles(d, host))) {
              for (const value of values) {
                if (text.includes(value)) throw new Error(`secret value ${JSON.stringify(value)} appears in ${host.name}:${file}`);
              }
              for (const line of text.split("\n").filter((l) => l.startsWith("Secret="))) {
                expect(SECRET_NAMES).toContain(line.slice("Secret=".length).split(",")[0]);
              }
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
