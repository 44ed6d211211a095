import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";

export interface DnsRecordInput {
    /** Relative name: `@`, `www`, `db-1.internal`. */
    name: string;
    type: "A" | "CNAME";
    value: pulumi.Input<string>;
}

export interface HetznerDnsArgs {
    domain: string;
    records: readonly DnsRecordInput[];
    /** Low TTL, as the seeds advise, so moves (phase changes) propagate fast. */
    ttl: number;
    protect: boolean;
    labels: Record<string, string>;
}

/** The domain's zone on Hetzner DNS (hcloud.Zone) with one RRset per record. */
export class HetznerDns extends pulumi.ComponentResource {
    declare public readonly nameservers: pulumi.Output<string[]>;

    constructor(name: string, args: HetznerDnsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("senex:hetzner:Dns", name, {}, opts);
        const zone = new hcloud.Zone(`${name}-zone`, { name: args.domain, mode: "primary", ttl: args.ttl, labels: args.labels, deleteProtection: args.protect }, { parent: this, protect: args.protect });
        for (const r of args.records) {
            new hcloud.ZoneRrset(
                `${name}-${r.type.toLowerCase()}-${r.name === "@" ? "apex" : r.name.replace(/\./g, "-")}`,
                { zone: zone.name, name: r.name, type: r.type, ttl: args.ttl, records: [{ value: r.value }] },
                { parent: this },
            );
        }
        this.nameservers = zone.authoritativeNameservers.apply((ns) => ns.assigneds ?? []);
        this.registerOutputs({ nameservers: this.nameservers });
    }
}
