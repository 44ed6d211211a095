import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";

export interface HetznerFirewallArgs {
    /** CIDRs that may reach SSH. */
    sshAllowFrom: readonly string[];
    /** The port sshd listens on (`ssh.port`); nothing else is opened for SSH. */
    sshPort: number;
    /** The private network range (documented in the rules; Hetzner does not filter it). */
    privateCidr: string;
    labels: Record<string, string>;
}

const EVERYWHERE = ["0.0.0.0/0", "::/0"];

/**
 * Cloud firewalls: `base` (SSH from the allowed CIDRs, ICMP) on every server, `http` (80/443 from
 * anywhere) only on servers that serve the public. Nothing else is reachable from the internet.
 * Hetzner's firewall does not filter the private network, so per-port rules there are the hosts'
 * own nftables (render/nftables.ts).
 */
export class HetznerFirewall extends pulumi.ComponentResource {
    declare public readonly baseId: pulumi.Output<number>;
    declare public readonly httpId: pulumi.Output<number>;

    constructor(name: string, args: HetznerFirewallArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("senex:hetzner:Firewall", name, {}, opts);
        const base = new hcloud.Firewall(
            `${name}-base`,
            {
                labels: args.labels,
                rules: [
                    { direction: "in", protocol: "tcp", port: String(args.sshPort), sourceIps: [...args.sshAllowFrom], description: "ssh (ssh.port) from ssh.allowFrom" },
                    { direction: "in", protocol: "icmp", sourceIps: EVERYWHERE, description: "ping, path MTU discovery" },
                    { direction: "in", protocol: "tcp", port: "any", sourceIps: [args.privateCidr], description: "private network (filtered per port by each host's nftables)" },
                ],
            },
            { parent: this },
        );
        const http = new hcloud.Firewall(
            `${name}-http`,
            {
                labels: args.labels,
                rules: [
                    { direction: "in", protocol: "tcp", port: "80", sourceIps: EVERYWHERE, description: "http (ACME HTTP-01, redirect to https)" },
                    { direction: "in", protocol: "tcp", port: "443", sourceIps: EVERYWHERE, description: "https" },
                ],
            },
            { parent: this },
        );
        this.baseId = base.id.apply(Number);
        this.httpId = http.id.apply(Number);
        this.registerOutputs({ baseId: this.baseId, httpId: this.httpId });
    }
}
