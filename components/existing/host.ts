import * as pulumi from "@pulumi/pulumi";
import type { TopologyHost } from "../../topology/types";
import type { Host } from "../host";

export interface ExistingHostArgs {
    host: TopologyHost;
}

/**
 * A server the user already has: nothing is bought, the host key is the pinned one from config, and
 * the bootstrap reaches it over SSH (never by re-running cloud-init on a live host).
 */
export class ExistingHost extends pulumi.ComponentResource implements Host {
    declare public readonly name: string;
    declare public readonly groups: Host["groups"];
    declare public readonly publicIp: pulumi.Output<string>;
    declare public readonly privateIp: pulumi.Output<string>;
    declare public readonly ssh: Host["ssh"];
    declare public readonly resource: pulumi.Resource;

    constructor(name: string, args: ExistingHostArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("senex:existing:Host", name, {}, opts);
        const { host } = args;
        if (!host.sshAddress || !host.hostKey) throw new pulumi.ResourceError(`existing host \`${host.name}\` needs \`address\` and \`hostKey\``, this);
        this.name = host.name;
        this.groups = host.groups;
        this.resource = this;
        this.publicIp = pulumi.output(host.sshAddress);
        this.privateIp = pulumi.output(host.privateAddress);
        this.ssh = { host: pulumi.output(host.sshAddress), port: 22, user: "admin", hostKey: pulumi.output(host.hostKey) };
        this.registerOutputs({ publicIp: this.publicIp, privateIp: this.privateIp });
    }
}
