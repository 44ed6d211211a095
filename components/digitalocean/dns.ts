import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import type { DnsRecordInput } from "../hetzner/dns";

export interface DigitalOceanDnsArgs {
    domain: string;
    records: readonly DnsRecordInput[];
    ttl: number;
    protect: boolean;
}

/** The domain on DigitalOcean DNS with one record per entry. */
export class DigitalOceanDns extends pulumi.ComponentResource {
    constructor(name: string, args: DigitalOceanDnsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("senex:digitalocean:Dns", name, {}, opts);
        const domain = new digitalocean.Domain(`${name}-domain`, { name: args.domain }, { parent: this, protect: args.protect });
        for (const r of args.records)
            new digitalocean.DnsRecord(
                `${name}-${r.type.toLowerCase()}-${r.name === "@" ? "apex" : r.name.replace(/\./g, "-")}`,
                { domain: domain.id, name: r.name, type: r.type, value: r.value, ttl: args.ttl },
                { parent: this },
            );
        this.registerOutputs({});
    }
}
