// nginx.conf and the ACME (lego) renewal on hosts running nginx; haproxy.cfg on the load balancer
// of existing servers (phase 3).
import { renderAcmeScript, renderAcmeUnits, type AcmeSpec } from "../../render/acme";
import { renderHaproxyCfg, type HaproxySpec } from "../../render/haproxy";
import { renderNginxConf, type NginxSpec, type RealIpMode } from "../../render/nginx";
import { nginxHostPaths } from "../../render/quadlet-host";
import { PORTS } from "../build";
import { senexFile, type HostFile } from "./file";
import { CONFIG_ROOT, STATE_ROOT, USER_UNIT_DIR, configPath, type HostContext } from "./layout";
import { unitsOf } from "./quadlets";

/**
 * Who sits in front of nginx. Phase 3 has a load balancer: the cloud's (Hetzner: its fixed private
 * address; DigitalOcean: somewhere in the VPC subnet, not ours to choose — the same rule as the
 * host firewall), which terminates TLS itself (`tls-offload`), or an haproxy host of ours
 * (existing servers), which passes TLS through with the PROXY protocol.
 */
function realIp(ctx: HostContext): RealIpMode {
  const lb = ctx.topology.loadBalancer;
  if (!lb) return { mode: "direct" };
  switch (lb.kind) {
    case "cloud":
      // The cloud LB terminates TLS with its managed certificate and forwards plain HTTP with
      // X-Forwarded-For (components/*/loadBalancer.ts): nginx serves the app on port 80 to the LB
      // only (a redirect there would loop) and trusts the header from the LB's address alone.
      return { mode: "tls-offload", clientAddressFrom: "x-forwarded-for", trustedFrom: [ctx.config.cloud === "hetzner" && lb.privateAddress ? lb.privateAddress : ctx.config.network.subnet] };
    case "haproxy":
      return { mode: "proxy-protocol", trustedFrom: [ctx.addressOf(lb.host!)] };
    default: {
      const never: never = lb.kind;
      throw new Error(`unknown load balancer ${String(never)}`);
    }
  }
}

export function nginxSpec(ctx: HostContext): NginxSpec {
  const monitoring = ctx.topology.monitoringHost;
  return {
    domain: ctx.config.domain,
    upstreams: ctx.host.services.filter((s) => s.kind === "daphne").map((s) => ({ address: ctx.address, port: s.port! })),
    realIp: realIp(ctx),
    ...(monitoring ? { grafana: { address: ctx.addressOf(monitoring), port: PORTS.grafana } } : {}),
  };
}

export function acmeSpec(ctx: HostContext): AcmeSpec {
  return {
    domain: ctx.config.domain,
    email: ctx.config.acme.email,
    directoryUrl: ctx.config.acme.directoryUrl,
    legoPath: `${STATE_ROOT}/lego`,
    // The same paths the nginx Quadlet mounts and runs (`acme.sh placeholder` is its ExecStartPre).
    ...nginxHostPaths({ configRoot: CONFIG_ROOT, stateRoot: STATE_ROOT }),
  };
}

/** haproxy passes TLS through to the web hosts' nginx (PROXY v2), one backend per web host. */
export function haproxySpec(ctx: HostContext): HaproxySpec {
  return { backends: (ctx.topology.loadBalancer?.targets ?? []).map((name) => ({ name, address: ctx.addressOf(name) })) };
}

/** Where nginx renews its own certificate with lego (no cloud LB holding a managed one). */
function renewsCertificate(ctx: HostContext): boolean {
  return ctx.has("nginx") !== undefined && ctx.topology.loadBalancer?.kind !== "cloud";
}

/** Debian packages the web files run on the host: lego for the ACME renewal (render/acme.ts). */
export function webPackages(ctx: HostContext): string[] {
  return renewsCertificate(ctx) ? ["lego"] : [];
}

/**
 * nginx.conf, the ACME script (nginx's ExecStartPre needs it on every nginx host) and, where nginx
 * itself terminates public TLS (no cloud load balancer: the cloud's LB holds a managed
 * certificate), lego's renewal service and timer; haproxy.cfg on the haproxy host.
 */
export function webFiles(ctx: HostContext): HostFile[] {
  const files: HostFile[] = [];
  // haproxy re-reads its config on restart only (a reload would need SIGUSR2 through podman).
  if (ctx.has("haproxy")) files.push(senexFile(configPath("haproxy", "haproxy.cfg").host, renderHaproxyCfg(haproxySpec(ctx)), unitsOf(ctx, "haproxy")));
  if (!ctx.has("nginx")) return files;
  const nginx = unitsOf(ctx, "nginx");
  const acme = acmeSpec(ctx);
  files.push(
    senexFile(configPath("nginx", "nginx.conf").host, renderNginxConf(nginxSpec(ctx)), nginx),
    senexFile(acme.scriptPath, renderAcmeScript(acme), [], { mode: "0755" }),
  );
  if (renewsCertificate(ctx)) {
    for (const [name, content] of Object.entries(renderAcmeUnits(acme))) {
      // The timer is what runs; the service is started by it (a changed service file only needs daemon-reload).
      files.push(senexFile(`${USER_UNIT_DIR}/${name}`, content, name.endsWith(".timer") ? [name] : []));
    }
  }
  return files;
}
