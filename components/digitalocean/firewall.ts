import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";

export interface DigitalOceanFirewallArgs {
    sshAllowFrom: readonly string[];
    /** The port sshd listens on (`ssh.port`); nothing else is opened for SSH. */
    sshPort: number;
    vpcRange: string;
    /** All droplets (SSH, private range). */
    dropletIds: pulumi.Input<number>[];
    /** Droplets that serve the public on 80/443. */
    httpDropletIds: pulumi.Input<number>[];
    /** In phase 3 the load balancer reaches the web droplets on port 80. */
    loadBalancerId?: pulumi.Input<string>;
    lbTargetIds?: pulumi.Input<number>[];
}

const EVERYWHERE = ["0.0.0.0/0", "::/0"];
const ALL_OUT = [
    { protocol: "tcp", portRange: "1-65535", destinationAddresses: EVERYWHERE },
    { protocol: "udp", portRange: "1-65535", destinationAddresses: EVERYWHERE },
    { protocol: "icmp", destinationAddresses: EVERYWHERE },
];

/** Cloud firewalls: SSH from allowFrom and the VPC everywhere; 80/443 only where nginx serves the public. */
export class DigitalOceanFirewall extends pulumi.ComponentResource {
    constructor(name: string, args: DigitalOceanFirewallArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("senex:digitalocean:Firewall", name, {}, opts);
        new digitalocean.Firewall(
            `${name}-base`,
            {
                dropletIds: args.dropletIds,
                inboundRules: [
                    { protocol: "tcp", portRange: String(args.sshPort), sourceAddresses: [...args.sshAllowFrom] },
                    { protocol: "icmp", sourceAddresses: EVERYWHERE },
                    { protocol: "tcp", portRange: "1-65535", sourceAddresses: [args.vpcRange] },
                ],
                outboundRules: ALL_OUT,
            },
            { parent: this },
        );
        if (args.httpDropletIds.length > 0)
            new digitalocean.Firewall(
                `${name}-http`,
                {
                    dropletIds: args.httpDropletIds,
                    inboundRules: [
                        { protocol: "tcp", portRange: "80", sourceAddresses: EVERYWHERE },
                        { protocol: "tcp", portRange: "443", sourceAddresses: EVERYWHERE },
                    ],
                    outboundRules: ALL_OUT,
                },
                { parent: this },
            );
        if (args.loadBalancerId && args.lbTargetIds?.length)
            new digitalocean.Firewall(
                `${name}-lb`,
                { dropletIds: args.lbTargetIds, inboundRules: [{ protocol: "tcp", portRange: "80", sourceLoadBalancerUids: [args.loadBalancerId] }], outboundRules: ALL_OUT },
                { parent: this },
            );
        this.registerOutputs({});
    }
}
