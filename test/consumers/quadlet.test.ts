/**
 * Every host's Quadlet files of every phase through podman 5.4's own generator and then
 * `systemd-analyze verify --user` on what it generated (trixie chroot). Quadlet refuses unknown
 * keys and bad values; systemd-analyze refuses bad [Unit]/[Service] keys, missing dependencies and
 * missing executables. A deliberately broken render must fail, so the check can fail.
 */
import { renderQuadlet } from "../../render/quadlet";
import { renderHostQuadlets } from "../../render/quadlet-host";
import { runInTrixie, type ToolRun } from "../support/trixie";
import { defaultInput, deployment, quadletSpec, type Phase } from "../unit/render/phase-hosts";

/** Generates units from `q/` into `out/`, prints their names, then verifies them all. */
function generateAndVerify(files: Record<string, string>): ToolRun {
  const inputs = Object.fromEntries(Object.entries(files).map(([name, text]) => [`q/${name}`, text]));
  return runInTrixie(
    (dir) => [
      "sh",
      "-c",
      [
        "set -e",
        "mkdir out",
        // -no-kmsg-log: conversion errors go to stderr (a generator otherwise logs to the kernel log)
        `QUADLET_UNIT_DIRS=${dir}/q /usr/libexec/podman/quadlet -no-kmsg-log -user out 2>quadlet.log || { cat quadlet.log >&2; exit 1; }`,
        "ls out | grep '\\.service$' | sort",
        "cd out && systemd-analyze verify --user --man=no --generators=no *.service",
      ].join("\n"),
    ],
    { files: inputs, timeoutMs: 120_000 },
  );
}

const cases = ([1, 2, 3] as Phase[]).flatMap((phase) => {
  const d = deployment(defaultInput(phase, phase === 3 ? { limits: { memory: "1g", cpus: 1, pids: 512 } } : {}));
  return d.hosts.map((host) => [phase, host.name, host] as const);
}).concat([
  // phase 3 on existing servers: a load-balancer host of our own
  [3, "lb-1", { name: "lb-1", privateAddress: "10.0.1.2", publicHttp: true, services: [{ kind: "haproxy", image: "registry.senex.test/haproxy:3.0" }, { kind: "node-exporter", image: "registry.senex.test/node-exporter:1.9" }] }] as const,
]);

describe("Quadlet files through quadlet + systemd-analyze verify", () => {
  it.each(cases)("phase %i %s: every file converts and every generated unit verifies", (_phase, _name, host) => {
    const files = renderHostQuadlets(quadletSpec(host, "/home/senex/.config/containers/auth.json"));
    const r = generateAndVerify(files);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // every Quadlet file produced its unit (none was skipped by the generator)
    const expected = Object.keys(files)
      .map((f) => f.replace(/\.container$/, ".service").replace(/\.(network|volume|image)$/, "-$1.service"))
      .sort();
    expect(r.stdout.trim().split("\n")).toEqual(expected);
  });

  it("the generated daphne unit runs podman with the secrets as names, health-gated start, on the host network", () => {
    const d = deployment(defaultInput(1));
    const files = renderHostQuadlets(quadletSpec(d.hosts[0]!));
    const r = runInTrixie((dir) => ["sh", "-c", `QUADLET_UNIT_DIRS=${dir}/q /usr/libexec/podman/quadlet -user -dryrun 2>/dev/null`], {
      files: Object.fromEntries(Object.entries(files).map(([n, t]) => [`q/${n}`, t])),
    });
    expect(r.code).toBe(0);
    const daphne = r.stdout.split(/^---/m).find((s) => s.startsWith("senex-daphne-8001.service---"))!;
    const execStart = daphne.split("\n").find((l) => l.startsWith("ExecStart="))!;
    expect(execStart).toContain("--network host");
    expect(execStart).toContain("--sdnotify=healthy");
    expect(execStart).toContain("--secret senex-django-secret-key,type=env,target=SECRET_KEY");
    expect(execStart).toContain("--env-file /home/senex/.config/senex/app/app.env");
    expect(daphne).toMatch(/^Type=notify$/m);
    const worker = r.stdout.split(/^---/m).find((s) => s.startsWith("senex-celery-worker.service---"))!;
    expect(worker).toMatch(/--stop-timeout 600/);
    expect(worker).toMatch(/^TimeoutStopSec=630$/m);
    const migrate = r.stdout.split(/^---/m).find((s) => s.startsWith("senex-migrate.service---"))!;
    expect(migrate).toMatch(/^Type=oneshot$/m);
    expect(migrate).toMatch(/^RemainAfterExit=yes$/m);
  });

  it("a .build unit (image built on the host) and a container using it convert and verify", () => {
    const files = {
      "senex-postgres-image.build": renderQuadlet({
        kind: "build",
        build: { ImageTag: "localhost/senex-postgres:17-pgbackrest", File: "/home/senex/.config/senex/images/postgres/Containerfile", SetWorkingDirectory: "file", Network: "none", Pull: "never" },
      }),
      "senex-postgres.container": renderQuadlet({ kind: "container", container: { Image: "senex-postgres-image.build", Network: ["host"] }, install: { WantedBy: ["default.target"] } }),
    };
    const r = generateAndVerify(files);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toEqual(["senex-postgres-image-build.service", "senex-postgres.service"]);
    expect(r.code).toBe(0);
  });

  // A check that cannot fail proves nothing: each of these breaks one rendered file. The main test
  // demands an empty stderr, so a warning that systemd-analyze only prints (exit 0) fails it too.
  it.each<[string, string, (files: Record<string, string>) => Record<string, string>, RegExp]>([
    ["an unknown [Container] key", "db-1", (f) => ({ ...f, "senex-postgres.container": f["senex-postgres.container"]!.replace("[Container]\n", "[Container]\nMemory=1g\n") }), /unsupported key 'Memory'/],
    ["a dependency on a unit that is not rendered", "db-1", (f) => ({ ...f, "senex-pgbouncer.container": f["senex-pgbouncer.container"]!.replace("[Unit]\n", "[Unit]\nRequires=senex-missing.service\n") }), /senex-missing\.service not found/],
    ["a bad [Service] value", "cache-1", (f) => ({ ...f, "senex-redis-broker.container": f["senex-redis-broker.container"]!.replace("Restart=always", "Restart=sometimes") }), /Restart=sometimes/],
  ])("a broken render fails: %s", (_what, hostName, breakIt, message) => {
    const d = deployment(defaultInput(2));
    const files = renderHostQuadlets(quadletSpec(d.hosts.find((h) => h.name === hostName)!));
    const broken = breakIt(files);
    expect(broken).not.toEqual(files);
    const r = generateAndVerify(broken);
    expect(r.stderr).toMatch(message);
  });
});
