import * as pulumi from "@pulumi/pulumi";
import type { HostGroup } from "../config/types";

/** How our SSH transport reaches a host: address, login user and the pinned host key (the port is the stack's `ssh.port`). */
export interface SshEndpoint {
    readonly host: pulumi.Output<string>;
    /** The sudo-capable system user; containers run as `senex`. */
    readonly user: "admin";
    /** `ssh-ed25519 AAAA...`: the only key accepted; never trust on first use. */
    readonly hostKey: pulumi.Output<string>;
}

/** The one shape every cloud (and existing servers) hands to everything above it. */
export interface Host {
    readonly name: string;
    readonly groups: readonly HostGroup[];
    readonly publicIp: pulumi.Output<string>;
    readonly privateIp: pulumi.Output<string>;
    readonly ssh: SshEndpoint;
    /** The resource that, once created, means the machine exists (dependents wait on it). */
    readonly resource: pulumi.Resource;
}

/**
 * Base of every cloud's host component: the shared `Host` fields, set once by `publish`, which
 * also registers them as the component's outputs.
 */
export abstract class HostComponent extends pulumi.ComponentResource implements Host {
    declare public readonly name: string;
    declare public readonly groups: readonly HostGroup[];
    declare public readonly publicIp: pulumi.Output<string>;
    declare public readonly privateIp: pulumi.Output<string>;
    declare public readonly ssh: SshEndpoint;
    declare public readonly resource: pulumi.Resource;

    protected publish(host: Omit<Host, "ssh"> & { hostKey: pulumi.Output<string> }): void {
        const self = this as { -readonly [K in keyof Host]: Host[K] };
        self.name = host.name;
        self.groups = host.groups;
        self.resource = host.resource;
        self.publicIp = host.publicIp;
        self.privateIp = host.privateIp;
        self.ssh = { host: host.publicIp, user: "admin", hostKey: host.hostKey };
        this.registerOutputs({ publicIp: this.publicIp, privateIp: this.privateIp });
    }
}
