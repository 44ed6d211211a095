import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";

export interface DigitalOceanLoadBalancerArgs {
    region: string;
    vpcId: pulumi.Input<string>;
    dropletIds: pulumi.Input<number>[];
    /** apex and www; the certificate is a DigitalOcean-managed Let's Encrypt one (the domain is on DO DNS). */
    domainNames: string[];
    /** Load-balancer nodes (each is billed). */
    sizeUnit: number;
}

/** Phase 3 entry: TLS ends here; HTTP to the web droplets' nginx on port 80 over the VPC, health-checked on /health/. */
export class DigitalOceanLoadBalancer extends pulumi.ComponentResource {
    declare public readonly ip: pulumi.Output<string>;
    declare public readonly loadBalancerId: pulumi.Output<string>;

    constructor(name: string, args: DigitalOceanLoadBalancerArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("senex:digitalocean:LoadBalancer", name, {}, opts);
        const certificate = new digitalocean.Certificate(`${name}-certificate`, { name: `${name}-cert`, type: "lets_encrypt", domains: args.domainNames }, { parent: this });
        const lb = new digitalocean.LoadBalancer(
            `${name}-lb`,
            {
                name,
                region: args.region,
                vpcUuid: args.vpcId,
                sizeUnit: args.sizeUnit,
                dropletIds: args.dropletIds,
                redirectHttpToHttps: true,
                forwardingRules: [{ entryProtocol: "https", entryPort: 443, targetProtocol: "http", targetPort: 80, certificateName: certificate.name }],
                healthcheck: { protocol: "http", port: 80, path: "/health/", checkIntervalSeconds: 10, responseTimeoutSeconds: 5, healthyThreshold: 3, unhealthyThreshold: 3 },
                httpIdleTimeoutSeconds: 120, // WebSockets stay open between messages
            },
            { parent: this },
        );
        this.ip = lb.ip;
        this.loadBalancerId = lb.id;
        this.registerOutputs({ ip: this.ip });
    }
}
