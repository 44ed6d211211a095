// senex-infra: load the stack's config (every problem reported before any resource exists), derive
// the topology of its phase, build the deployment, export what operators need.
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "./config";
import { Deployment } from "./components/deployment";
import { operatorKnownHostsPath, renderKnownHosts, renderSshConfig } from "./render/operatorSsh";
import { buildTopology } from "./topology";

const config = loadStackConfig();
const topology = buildTopology(config);
const deployment = new Deployment("senex", { config, topology });

export const phase = config.phase;
export const cloud = config.cloud;
export const entryAddress = deployment.entryAddress;
export const nameservers = deployment.nameservers;
export const hosts = Object.fromEntries(
    deployment.hosts.map((h) => [h.name, { groups: h.groups, publicIp: h.publicIp, privateIp: h.privateIp, hostKey: h.ssh.hostKey }]),
);
/**
 * Every host with its pinned key, for OpenSSH: `pulumi stack output known_hosts > ~/.ssh/senex-infra-STACK.known_hosts`,
 * then `ssh -F <(pulumi stack output ssh_config) db-1`. Public data only: not secrets.
 */
const operatorHosts = pulumi.all(
    deployment.hosts.map((h) => pulumi.all([h.ssh.host, h.ssh.hostKey]).apply(([address, hostKey]) => ({ name: h.name, address, port: config.ssh.port, hostKey }))),
);
export const known_hosts = operatorHosts.apply(renderKnownHosts);
export const ssh_config = operatorHosts.apply((hs) => renderSshConfig(hs, { knownHostsFile: operatorKnownHostsPath(pulumi.getStack()), stack: pulumi.getStack() }));
export const deployPublicKey = deployment.secrets.deployKey.publicKey;
/** Escrow this offline: every backup is encrypted with it, and it never rotates. */
export const backupPassphrase = deployment.secrets.backupPassphrase;
export const backupBucket = deployment.backup?.bucket;
/**
 * `pulumi destroy` does not run the program, so it cannot say this then: the bucket is kept
 * (retainOnDelete), and this output, shown after every `up`, says how to delete it by hand.
 */
export const backupBucketOnDestroy = deployment.backup
    ? pulumi.interpolate`kept by \`pulumi destroy\` (and by a bucket rename) with every backup in it; once no backup is needed, delete it by hand with every object version: \`mc alias set senex-backups ${deployment.backup.endpoint}\` (asks for the S3 keys), then \`mc rb --force senex-backups/${deployment.backup.bucket}\``
    : undefined;
export const stack = pulumi.getStack();
/** What a bootstrap over SSH warned about, per existing host (e.g. a sysctl the host refused). */
export const bootstrapWarnings = Object.fromEntries(deployment.services.map((s) => [s.hostName, s.bootstrapWarnings]));
