import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";

export interface DigitalOceanVpcArgs {
    region: string;
    /** The VPC's range; droplets get their private address from it (DigitalOcean assigns them). */
    ipRange: string;
}

/** The private network of the stack; cross-host traffic stays inside it. */
export class DigitalOceanVpc extends pulumi.ComponentResource {
    declare public readonly vpcId: pulumi.Output<string>;

    constructor(name: string, args: DigitalOceanVpcArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("senex:digitalocean:Vpc", name, {}, opts);
        const vpc = new digitalocean.Vpc(`${name}-vpc`, { name, region: args.region, ipRange: args.ipRange, description: `senex-infra ${name}` }, { parent: this });
        this.vpcId = vpc.id;
        this.registerOutputs({ vpcId: this.vpcId });
    }
}
