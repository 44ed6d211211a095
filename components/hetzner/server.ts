import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import type { TopologyHost } from "../../topology/types";
import { HostComponent } from "../host";

export interface HetznerServerArgs {
    host: TopologyHost;
    location: string;
    image: string;
    /** cloud-init user-data; read on first boot only (later edits never replace the server). */
    userData: pulumi.Input<string>;
    networkId: pulumi.Input<number>;
    subnet: pulumi.Resource;
    placementGroupId?: pulumi.Input<number>;
    firewallIds: pulumi.Input<pulumi.Input<number>[]>;
    /** The ED25519 host key we generated and put into user-data. */
    hostKeyPublic: pulumi.Output<string>;
    /** Protect data-holding servers and their volumes (stack config `protect`). */
    protect: boolean;
    labels: Record<string, string>;
}

/** One Hetzner Cloud server (Debian 13) with its private address and, if it holds data, a volume. */
export class HetznerServer extends HostComponent {
    declare public readonly serverId: pulumi.Output<number>;

    constructor(name: string, args: HetznerServerArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("senex:hetzner:Server", name, {}, opts);
        const { host } = args;
        if (!host.size) throw new pulumi.ResourceError(`host \`${host.name}\` has no server type`, this);
        const protect = args.protect && host.holdsData;

        const server = new hcloud.Server(
            `${name}-server`,
            {
                name: `${name}`,
                serverType: host.size,
                image: args.image,
                location: args.location,
                userData: args.userData,
                networks: [{ networkId: args.networkId, ip: host.privateAddress }],
                publicNets: [{ ipv4Enabled: true, ipv6Enabled: true }],
                placementGroupId: args.placementGroupId,
                firewallIds: args.firewallIds,
                labels: { ...args.labels, "senex-host": host.name, "senex-groups": host.groups.join(".") },
                deleteProtection: protect,
                rebuildProtection: protect,
                // Hetzner stops the OS cleanly before deletion: PostgreSQL and Redis flush.
                shutdownBeforeDeletion: true,
            },
            {
                parent: this,
                dependsOn: [args.subnet],
                protect,
                // A bootstrap edit must never replace a server: user-data, image and keys are first-boot
                // inputs; Day-2 changes go over SSH from the same typed spec.
                ignoreChanges: ["userData", "image", "sshKeys"],
            },
        );
        this.serverId = server.id.apply(Number);

        if (host.dataVolumeGb) {
            // The data outlives the server: a replaced or resized server gets the same volume back.
            const volume = new hcloud.Volume(
                `${name}-data`,
                { size: host.dataVolumeGb, location: args.location, format: "ext4", deleteProtection: args.protect, labels: { ...args.labels, "senex-host": host.name } },
                { parent: this, protect: args.protect },
            );
            new hcloud.VolumeAttachment(`${name}-data-attachment`, { serverId: this.serverId, volumeId: volume.id.apply(Number), automount: false }, { parent: this });
        }

        this.publish({ name: host.name, groups: host.groups, resource: server, publicIp: server.ipv4Address, privateIp: pulumi.output(host.privateAddress), hostKey: args.hostKeyPublic });
    }
}
