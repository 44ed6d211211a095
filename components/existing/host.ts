import * as pulumi from "@pulumi/pulumi";
import type { TopologyHost } from "../../topology/types";
import { HostComponent } from "../host";

export interface ExistingHostArgs {
    host: TopologyHost;
}

/**
 * A server the user already has: nothing is bought, the host key is the pinned one from config, and
 * the bootstrap reaches it over SSH (never by re-running cloud-init on a live host).
 */
export class ExistingHost extends HostComponent {
    constructor(name: string, args: ExistingHostArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("senex:existing:Host", name, {}, opts);
        const { host } = args;
        if (!host.sshAddress || !host.hostKey) throw new pulumi.ResourceError(`existing host \`${host.name}\` needs \`address\` and \`hostKey\``, this);
        this.publish({ name: host.name, groups: host.groups, resource: this, publicIp: pulumi.output(host.sshAddress), privateIp: pulumi.output(host.privateAddress), hostKey: pulumi.output(host.hostKey) });
    }
}
