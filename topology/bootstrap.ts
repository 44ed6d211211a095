import type { BootstrapSpec, HostKeyPair } from "../render/cloudinit";
import type { StackConfig } from "../config/types";
import { hostFirewall } from "./firewall";
import { hostPackages } from "./hostFiles";
import type { Topology, TopologyHost } from "./types";

export interface BootstrapKeys {
    /** Our deployment key's public half: the program logs in as `admin` with it. */
    deployPublicKey: string;
    /** The pinned host key for cloud hosts (existing hosts keep theirs). */
    hostKey?: HostKeyPair;
}

/**
 * The bootstrap spec of one host: one source of truth for cloud-init user-data (cloud hosts, first
 * boot) and the bootstrap script applied over SSH (existing hosts, and every host's Day-2
 * changes). Pure.
 *
 * With `privateAddressesFixed` false (DigitalOcean assigns VPC addresses), the first-boot firewall
 * admits private ports from the whole subnet; the host layer narrows it to exact peers once the
 * addresses exist, and the script over SSH gets them (`addressOf`) so it writes the same firewall.
 */
export function bootstrapSpec(config: StackConfig, topology: Topology, host: TopologyHost, keys: BootstrapKeys, addressOf?: (host: string) => string): BootstrapSpec {
    const firewall = topology.privateAddressesFixed || addressOf ? hostFirewall(config, topology, host, addressOf) : hostFirewall(config, topology, host, () => config.network.subnet);
    const servesHttp = host.services.some((s) => s.kind === "nginx" || s.kind === "haproxy");
    const packages = hostPackages(config, topology, host);
    return {
        hostname: host.name,
        adminSshKeys: [...config.adminSshKeys, keys.deployPublicKey],
        ...(keys.hostKey ? { hostKey: keys.hostKey } : {}),
        firewall,
        // Rootless nginx binds 80/443 itself, so it sees the client's real address.
        ...(servesHttp ? { unprivilegedPortStart: 80 } : {}),
        // What the host's own scripts run (lego for ACME, restic for backups): one list, the file set's.
        ...(packages.length > 0 ? { extraPackages: packages } : {}),
        ...(config.caCertificates.length > 0 ? { caCertificates: config.caCertificates } : {}),
        ...(config.aptProxy ? { aptProxy: config.aptProxy } : {}),
    };
}
