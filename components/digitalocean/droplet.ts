import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import type { TopologyHost } from "../../topology/types";
import { HostComponent } from "../host";

export interface DigitalOceanDropletArgs {
    host: TopologyHost;
    region: string;
    image: string;
    /** cloud-init user-data; read on first boot only (later edits never replace the droplet). */
    userData: pulumi.Input<string>;
    vpcId: pulumi.Input<string>;
    hostKeyPublic: pulumi.Output<string>;
    protect: boolean;
    tags: string[];
}

/** One droplet (Debian 13) in the VPC and, if it holds data, a block-storage volume. */
export class DigitalOceanDroplet extends HostComponent {
    declare public readonly dropletId: pulumi.Output<number>;

    constructor(name: string, args: DigitalOceanDropletArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("senex:digitalocean:Droplet", name, {}, opts);
        const { host } = args;
        if (!host.size) throw new pulumi.ResourceError(`host \`${host.name}\` has no droplet size`, this);
        const protect = args.protect && host.holdsData;
        const droplet = new digitalocean.Droplet(
            `${name}-droplet`,
            {
                name,
                size: host.size,
                image: args.image,
                region: args.region,
                vpcUuid: args.vpcId,
                userData: args.userData,
                ipv6: true,
                monitoring: false,
                gracefulShutdown: true,
                tags: [...args.tags, `senex-host-${host.name}`],
            },
            // A bootstrap edit must never replace a droplet (DigitalOcean replaces on user-data change).
            { parent: this, protect, ignoreChanges: ["userData", "image", "sshKeys"] },
        );
        this.dropletId = droplet.id.apply(Number);
        if (host.dataVolumeGb) {
            const volume = new digitalocean.Volume(
                `${name}-data`,
                { region: args.region, size: host.dataVolumeGb, initialFilesystemType: "ext4", initialFilesystemLabel: "senex-data", description: `data of ${host.name}` },
                { parent: this, protect: args.protect },
            );
            new digitalocean.VolumeAttachment(`${name}-data-attachment`, { dropletId: this.dropletId, volumeId: volume.id }, { parent: this });
        }
        this.publish({ name: host.name, groups: host.groups, resource: droplet, publicIp: droplet.ipv4Address, privateIp: droplet.ipv4AddressPrivate, hostKey: args.hostKeyPublic });
    }
}
