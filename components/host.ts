import * as pulumi from "@pulumi/pulumi";
import type { HostGroup } from "../config/types";

/** How our SSH transport reaches a host: address, port, login user and the pinned host key. */
export interface SshEndpoint {
    readonly host: pulumi.Output<string>;
    readonly port: number;
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
