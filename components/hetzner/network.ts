import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";

export interface HetznerNetworkArgs {
    /** The whole private range, e.g. 10.0.0.0/16. */
    cidr: string;
    /** The subnet servers live in, e.g. 10.0.1.0/24. */
    subnet: string;
    /** Hetzner network zone of the location (eu-central, us-east, ...). */
    networkZone: string;
    labels: Record<string, string>;
}

/** The private network every host and the load balancer join; cross-host traffic never leaves it. */
export class HetznerNetwork extends pulumi.ComponentResource {
    declare public readonly networkId: pulumi.Output<number>;
    /** Servers and the LB must attach only once the subnet exists. */
    declare public readonly subnet: hcloud.NetworkSubnet;

    constructor(name: string, args: HetznerNetworkArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("senex:hetzner:Network", name, {}, opts);
        const network = new hcloud.Network(`${name}-net`, { ipRange: args.cidr, labels: args.labels }, { parent: this });
        this.networkId = network.id.apply(Number);
        this.subnet = new hcloud.NetworkSubnet(
            `${name}-subnet`,
            { networkId: this.networkId, type: "cloud", networkZone: args.networkZone, ipRange: args.subnet },
            { parent: this },
        );
        this.registerOutputs({ networkId: this.networkId });
    }
}
