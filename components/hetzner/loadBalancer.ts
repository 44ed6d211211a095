import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";

export interface HetznerLoadBalancerArgs {
    location: string;
    type: string;
    networkId: pulumi.Input<number>;
    subnet: pulumi.Resource;
    /** Fixed private address of the LB (the web hosts' firewalls admit it on port 80). */
    privateAddress: string;
    /** Web servers (name → server id). */
    targets: ReadonlyArray<{ name: string; serverId: pulumi.Input<number> }>;
    /** apex and www: Hetzner issues and renews the certificate (the zone is Hetzner DNS). */
    domainNames: string[];
    protect: boolean;
    labels: Record<string, string>;
}

/**
 * Phase 3 entry: TLS ends here with a Hetzner-managed Let's Encrypt certificate; plain HTTP goes
 * over the private network to each web host's nginx, with X-Forwarded-For carrying the client
 * address (nginx trusts it from the LB's address only). Health-checked on /health/.
 */
export class HetznerLoadBalancer extends pulumi.ComponentResource {
    declare public readonly ipv4: pulumi.Output<string>;

    constructor(name: string, args: HetznerLoadBalancerArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("senex:hetzner:LoadBalancer", name, {}, opts);
        const lb = new hcloud.LoadBalancer(
            `${name}-lb`,
            { loadBalancerType: args.type, location: args.location, labels: args.labels, deleteProtection: args.protect, algorithm: { type: "least_connections" } },
            { parent: this },
        );
        const lbId = lb.id.apply(Number);
        const attached = new hcloud.LoadBalancerNetwork(`${name}-network`, { loadBalancerId: lbId, networkId: args.networkId, ip: args.privateAddress }, { parent: this, dependsOn: [args.subnet] });
        const certificate = new hcloud.ManagedCertificate(`${name}-certificate`, { domainNames: args.domainNames, labels: args.labels }, { parent: this });
        new hcloud.LoadBalancerService(
            `${name}-https`,
            {
                loadBalancerId: lb.id,
                protocol: "https",
                listenPort: 443,
                destinationPort: 80,
                http: { certificates: [certificate.id.apply(Number)], redirectHttp: true, stickySessions: false },
                healthCheck: { protocol: "http", port: 80, interval: 10, timeout: 5, retries: 3, http: { path: "/health/", statusCodes: ["200"], domain: args.domainNames[0] } },
            },
            { parent: this },
        );
        for (const target of args.targets)
            new hcloud.LoadBalancerTarget(`${name}-target-${target.name}`, { loadBalancerId: lbId, type: "server", serverId: target.serverId, usePrivateIp: true }, { parent: this, dependsOn: [attached] });
        this.ipv4 = lb.ipv4;
        this.registerOutputs({ ipv4: this.ipv4 });
    }
}
