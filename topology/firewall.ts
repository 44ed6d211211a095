import type { FirewallSpec, PrivatePortRule } from "../render/nftables";
import type { StackConfig } from "../config/types";
import type { Topology, TopologyHost } from "./types";
import { PORTS } from "./build";

/**
 * The host firewall of one host: SSH (`ssh.port`) from `ssh.allowFrom`, 80/443 where a service is public, and
 * every private port only from the peers the topology names. The cloud firewall does not filter the
 * private network (Hetzner's does not at all), so this is the rule that keeps a web host away from
 * Redis' replication port or a worker away from PostgreSQL.
 */
export function hostFirewall(config: StackConfig, topology: Topology, host: TopologyHost, addressOf: (host: string) => string | undefined = defaultAddressOf(topology)): FirewallSpec {
    // The cloud LB reaches its targets from its private address (Hetzner: fixed); DigitalOcean's LB
    // address inside the VPC is not ours to choose, so admit the subnet there.
    const lbSource = topology.loadBalancer?.kind === "cloud" ? (config.cloud === "hetzner" ? topology.loadBalancer.privateAddress! : config.network.subnet) : undefined;
    const resolve = (peer: string): string => {
        if (peer === "lb" && lbSource) return lbSource;
        const a = addressOf(peer);
        if (!a) throw new Error(`firewall of ${host.name}: unknown peer ${peer}`);
        return a;
    };
    const privatePorts: PrivatePortRule[] = host.services.flatMap((s) =>
        s.exposure?.kind === "private" && s.port !== undefined ? [{ port: s.port, service: s.name, from: s.exposure.from.map(resolve) }] : [],
    );
    return {
        sshAllowFrom: config.ssh.allowFrom,
        sshPort: config.ssh.port,
        publicHttp: host.publicPorts.includes(PORTS.https),
        privatePorts,
        blockMetadata: true,
    };
}

function defaultAddressOf(topology: Topology): (host: string) => string | undefined {
    const byName = new Map(topology.hosts.map((h) => [h.name, h.privateAddress] as const));
    return (name) => byName.get(name);
}
