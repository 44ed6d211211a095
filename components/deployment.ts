import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { catalogs } from "../catalog";
import type { StackConfig } from "../config/types";
import { renderCloudInit } from "../render/cloudinit";
import { bootstrapSpec } from "../topology/bootstrap";
import type { DnsRecordSpec, Topology, TopologyHost } from "../topology/types";
import { DigitalOceanDns } from "./digitalocean/dns";
import { DigitalOceanDroplet } from "./digitalocean/droplet";
import { DigitalOceanFirewall } from "./digitalocean/firewall";
import { DigitalOceanLoadBalancer } from "./digitalocean/loadBalancer";
import { DigitalOceanSpaces } from "./digitalocean/spaces";
import { DigitalOceanVpc } from "./digitalocean/vpc";
import { ExistingHost } from "./existing/host";
import { DnsRecordInput, HetznerDns } from "./hetzner/dns";
import { HetznerFirewall } from "./hetzner/firewall";
import { HetznerLoadBalancer } from "./hetzner/loadBalancer";
import { HetznerNetwork } from "./hetzner/network";
import { HetznerServer } from "./hetzner/server";
import type { Host } from "./host";
import { HostServices, type SecretValues } from "./hostServices";
import { Secrets } from "./secrets";
import { S3Bucket } from "./storage/s3Bucket";

export interface DeploymentArgs {
    config: StackConfig;
    topology: Topology;
}

/** Where backups go, for the host layer's pgBackRest and backup jobs. */
export interface BackupTarget {
    readonly endpoint: pulumi.Output<string>;
    readonly bucket: pulumi.Output<string>;
    readonly region: string;
    readonly accessKeyId: pulumi.Output<string>;
    readonly secretAccessKey: pulumi.Output<string>;
}

/** DNS TTL: low, as the seeds advise, so a phase change's moved records propagate quickly. */
const DNS_TTL = 300;
/** Hetzner spread placement groups hold at most 10 servers. */
const PLACEMENT_GROUP_MAX = 10;
/** Services whose host's layer must be in place before the app hosts' layers. */
const DATA_SERVICES: ReadonlySet<string> = new Set(["postgres", "pgbouncer", "redis-broker", "redis-cache", "sentinel"]);
/** Bucket hygiene (not retention: pgBackRest owns that). */
const LIFECYCLE = { abortIncompleteUploadDays: 7, noncurrentVersionDays: 7 };

/**
 * The whole stack: secrets, then the chosen cloud's network, servers (or the existing ones),
 * firewalls, load balancer, DNS and backup bucket, all from one topology. Host names are stable
 * across phases; a host that had another name in an earlier phase carries an alias, so the
 * server holding the data is kept, never replaced.
 */
export class Deployment extends pulumi.ComponentResource {
    declare public readonly hosts: readonly Host[];
    declare public readonly secrets: Secrets;
    /** The public address the apex record points at (a server or the load balancer). */
    declare public readonly entryAddress: pulumi.Output<string>;
    declare public readonly nameservers: pulumi.Output<string[]>;
    declare public readonly backup: BackupTarget | undefined;
    /** The host layer (bootstrap of existing hosts, system and user files) of every host. */
    declare public readonly services: readonly HostServices[];

    constructor(name: string, args: DeploymentArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("senex:index:Deployment", name, {}, opts);
        const { config, topology } = args;
        const cloudHosts = config.cloud === "existing" ? [] : topology.hosts.map((h) => ({ name: h.name, formerNames: h.formerNames }));
        this.secrets = new Secrets(`${name}-secrets`, { rotate: config.rotate, supplied: config.suppliedSecrets, ...(config.deploySshKey ? { deploySshKey: config.deploySshKey } : {}), hostKeyFor: cloudHosts }, { parent: this });

        switch (config.cloud) {
            case "hetzner":
                ({ hosts: this.hosts, entry: this.entryAddress, nameservers: this.nameservers, backup: this.backup } = this.hetzner(name, config, topology));
                break;
            case "digitalocean":
                ({ hosts: this.hosts, entry: this.entryAddress, nameservers: this.nameservers, backup: this.backup } = this.digitalocean(name, config, topology));
                break;
            case "existing":
                ({ hosts: this.hosts, entry: this.entryAddress, nameservers: this.nameservers, backup: this.backup } = this.existing(name, config, topology));
                break;
            default: {
                const never: never = config.cloud;
                throw new Error(`unknown cloud ${String(never)}`);
            }
        }
        this.services = this.hostServices(name, config, topology);
        this.registerOutputs({ entryAddress: this.entryAddress });
    }

    /** Every secret value the hosts' files and podman secrets can need (undefined: not in this stack). */
    private secretValues(config: StackConfig): SecretValues {
        const s = this.secrets;
        const reveal = (v: { reveal(): string } | undefined) => (v ? pulumi.secret(v.reveal()) : undefined);
        return {
            djangoSecretKey: s.djangoSecretKey,
            // MultiFernet keyring, newest first (the first key encrypts), comma-separated.
            fieldEncryptionKey: s.fieldEncryptionKeys.apply((keys) => keys.join(",")),
            dbAppPassword: s.dbAppPassword,
            dbReplicationPassword: s.dbReplicationPassword,
            dbPgbouncerPassword: s.dbPgbouncerPassword,
            redisPassword: s.redisPassword,
            grafanaAdminPassword: s.grafanaAdminPassword,
            backupPassphrase: s.backupPassphrase,
            s3AccessKeyId: this.backup?.accessKeyId,
            s3SecretAccessKey: this.backup?.secretAccessKey,
            tastytradeClientId: config.tastytrade.clientId !== undefined ? pulumi.output(config.tastytrade.clientId) : undefined,
            tastytradeClientSecret: reveal(config.tastytrade.clientSecret),
            alertSlackWebhook: reveal(config.alerts.slackWebhook),
            alertHeartbeatUrl: reveal(config.alerts.heartbeatUrl),
            registryAuthPassword: reveal(config.registryAuth?.password),
        };
    }

    /**
     * The host layer of every host: hosts holding data (PostgreSQL, Redis, PgBouncer, Sentinel)
     * first; the others' services wait for them, so a password rotation reaches the database
     * (ALTER ROLE) before any app container restarts with the new value.
     */
    private hostServices(name: string, config: StackConfig, topology: Topology): HostServices[] {
        const values = this.secretValues(config);
        const machines = new Map(this.hosts.map((h) => [h.name, h] as const));
        const addresses = topology.privateAddressesFixed ? undefined : pulumi.all(Object.fromEntries(this.hosts.map((h) => [h.name, h.privateIp])));
        const holdsData = (h: TopologyHost) => h.services.some((s) => DATA_SERVICES.has(s.kind));
        const ordered = [...topology.hosts.filter(holdsData), ...topology.hosts.filter((h) => !holdsData(h))];
        const dataLayers: pulumi.Resource[] = [];
        return ordered.map((host) => {
            const services = new HostServices(
                `${name}-${host.name}-services`,
                {
                    config,
                    topology,
                    host,
                    machine: machines.get(host.name)!,
                    secretValues: values,
                    deployKey: this.secrets.deployKey,
                    ...(addresses ? { addresses } : {}),
                    cloudInit: config.cloud !== "existing",
                },
                { parent: this, aliases: host.formerNames.map((former) => ({ name: `${name}-${former}-services` })), dependsOn: holdsData(host) ? [] : [...dataLayers] },
            );
            if (holdsData(host)) dataLayers.push(services.userLayer);
            return services;
        });
    }

    /** Resource options of a host's component: aliases to the names it had in earlier phases. */
    private hostOpts(name: string, host: TopologyHost): pulumi.ComponentResourceOptions {
        return { parent: this, aliases: host.formerNames.map((former) => ({ name: `${name}-${former}` })) };
    }

    /** cloud-init user-data of a cloud host: a secret (it carries the host's private key). */
    private userData(config: StackConfig, topology: Topology, host: TopologyHost): pulumi.Output<string> {
        const key = this.secrets.hostKeys[host.name];
        return pulumi.secret(
            pulumi
                .all([key.privateKey, key.publicKey, this.secrets.deployKey.publicKey])
                .apply(([ed25519Private, ed25519Public, deployPublicKey]) =>
                    renderCloudInit(bootstrapSpec(config, topology, host, { deployPublicKey, hostKey: { ed25519Private, ed25519Public } })),
                ),
        );
    }

    private hetzner(name: string, config: StackConfig, topology: Topology) {
        const region = config.region!;
        const catalog = catalogs.hetzner;
        const labels = { "senex-stack": config.stack };
        const zone = catalog.regions.find((r) => r.name === region)?.zone ?? "eu-central";
        const network = new HetznerNetwork(`${name}-network`, { cidr: config.network.cidr, subnet: config.network.subnet, networkZone: zone, labels }, { parent: this });
        const firewall = new HetznerFirewall(`${name}-firewall`, { sshAllowFrom: config.ssh.allowFrom, sshPort: config.ssh.port, privateCidr: config.network.cidr, labels }, { parent: this });

        // Spread placement: hosts of one group never share a physical machine (groups of <= 10).
        const placement = new Map<string, pulumi.Output<number>>();
        const placementFor = (host: TopologyHost, indexInGroup: number): pulumi.Output<number> | undefined => {
            if (topology.phase === 1) return undefined;
            const key = `${host.groups[0]}-${Math.floor(indexInGroup / PLACEMENT_GROUP_MAX) + 1}`;
            if (!placement.has(key)) placement.set(key, new hcloud.PlacementGroup(`${name}-spread-${key}`, { type: "spread", labels }, { parent: this }).id.apply(Number));
            return placement.get(key);
        };

        const groupIndex = new Map<string, number>();
        const servers = topology.hosts.map((host) => {
            const i = groupIndex.get(host.groups[0]) ?? 0;
            groupIndex.set(host.groups[0], i + 1);
            const placementGroupId = placementFor(host, i);
            return new HetznerServer(
                `${name}-${host.name}`,
                {
                    host,
                    location: region,
                    image: catalog.debianImage,
                    userData: this.userData(config, topology, host),
                    networkId: network.networkId,
                    subnet: network.subnet,
                    ...(placementGroupId ? { placementGroupId } : {}),
                    firewallIds: host.publicPorts.length > 0 ? [firewall.baseId, firewall.httpId] : [firewall.baseId],
                    hostKeyPublic: this.secrets.hostKeys[host.name].publicKey,
                    protect: config.protect,
                    labels,
                },
                this.hostOpts(name, host),
            );
        });
        const byName = new Map(servers.map((s) => [s.name, s] as const));

        let entry: pulumi.Output<string>;
        if (topology.loadBalancer) {
            const lb = new HetznerLoadBalancer(
                `${name}-entry`,
                {
                    location: region,
                    type: catalog.loadBalancer.type,
                    networkId: network.networkId,
                    subnet: network.subnet,
                    privateAddress: topology.loadBalancer.privateAddress!,
                    targets: topology.loadBalancer.targets.map((t) => ({ name: t, serverId: byName.get(t)!.serverId })),
                    domainNames: [config.domain, `www.${config.domain}`],
                    protect: config.protect,
                    labels,
                },
                { parent: this },
            );
            entry = lb.ipv4;
        } else {
            entry = byName.get(topology.entryHost!)!.publicIp;
        }

        const dns = new HetznerDns(`${name}-dns`, { domain: config.domain, records: dnsRecords(topology, byName, entry), ttl: DNS_TTL, protect: config.protect, labels }, { parent: this });

        let backup: BackupTarget | undefined;
        if (config.backups.enabled && config.s3Credentials) {
            const endpoint = config.backups.endpoint!;
            const accessKeyId = pulumi.secret(config.s3Credentials.accessKeyId.reveal());
            const secretAccessKey = pulumi.secret(config.s3Credentials.secretAccessKey.reveal());
            const bucket = new S3Bucket(
                `${name}-backups`,
                { endpoint, region: config.backups.region ?? region, bucket: config.backups.bucket, accessKeyId, secretAccessKey, lifecycle: LIFECYCLE, protect: config.protect },
                { parent: this },
            );
            backup = { endpoint: pulumi.output(endpoint), bucket: bucket.bucketName, region: config.backups.region ?? region, accessKeyId, secretAccessKey };
        }
        return { hosts: servers, entry, nameservers: dns.nameservers, backup };
    }

    private digitalocean(name: string, config: StackConfig, topology: Topology) {
        const region = config.region!;
        const catalog = catalogs.digitalocean;
        const vpc = new DigitalOceanVpc(`${name}-network`, { region, ipRange: config.network.subnet }, { parent: this });
        const droplets = topology.hosts.map(
            (host) =>
                new DigitalOceanDroplet(
                    `${name}-${host.name}`,
                    {
                        host,
                        region,
                        image: catalog.debianImage,
                        userData: this.userData(config, topology, host),
                        vpcId: vpc.vpcId,
                        hostKeyPublic: this.secrets.hostKeys[host.name].publicKey,
                        protect: config.protect,
                        tags: [`senex-${config.stack}`],
                    },
                    this.hostOpts(name, host),
                ),
        );
        const byName = new Map(droplets.map((d) => [d.name, d] as const));

        let entry: pulumi.Output<string>;
        let lb: DigitalOceanLoadBalancer | undefined;
        if (topology.loadBalancer) {
            lb = new DigitalOceanLoadBalancer(
                `${name}-entry`,
                { region, vpcId: vpc.vpcId, dropletIds: topology.loadBalancer.targets.map((t) => byName.get(t)!.dropletId), domainNames: [config.domain, `www.${config.domain}`], sizeUnit: 1 },
                { parent: this },
            );
            entry = lb.ip;
        } else {
            entry = byName.get(topology.entryHost!)!.publicIp;
        }
        new DigitalOceanFirewall(
            `${name}-firewall`,
            {
                sshAllowFrom: config.ssh.allowFrom,
                sshPort: config.ssh.port,
                vpcRange: config.network.subnet,
                dropletIds: droplets.map((d) => d.dropletId),
                httpDropletIds: topology.hosts.filter((h) => h.publicPorts.length > 0).map((h) => byName.get(h.name)!.dropletId),
                ...(lb ? { loadBalancerId: lb.loadBalancerId, lbTargetIds: topology.loadBalancer!.targets.map((t) => byName.get(t)!.dropletId) } : {}),
            },
            { parent: this },
        );
        new DigitalOceanDns(`${name}-dns`, { domain: config.domain, records: dnsRecords(topology, byName, entry), ttl: DNS_TTL, protect: config.protect }, { parent: this });

        let backup: BackupTarget | undefined;
        if (config.backups.enabled) {
            const spacesRegion = config.backups.region ?? region;
            const spaces = new DigitalOceanSpaces(
                `${name}-backups`,
                { region: spacesRegion, bucket: config.backups.bucket, noncurrentVersionDays: LIFECYCLE.noncurrentVersionDays, abortIncompleteUploadDays: LIFECYCLE.abortIncompleteUploadDays, protect: config.protect },
                { parent: this },
            );
            backup = { endpoint: spaces.endpoint, bucket: spaces.bucketName, region: spacesRegion, accessKeyId: spaces.accessKeyId, secretAccessKey: spaces.secretAccessKey };
        }
        return { hosts: droplets, entry, nameservers: pulumi.output(["ns1.digitalocean.com", "ns2.digitalocean.com", "ns3.digitalocean.com"]), backup };
    }

    private existing(name: string, config: StackConfig, topology: Topology) {
        const hosts = topology.hosts.map((host) => new ExistingHost(`${name}-${host.name}`, { host }, this.hostOpts(name, host)));
        const entryHost = topology.entryHost ? hosts.find((h) => h.name === topology.entryHost) : undefined;
        let backup: BackupTarget | undefined;
        if (config.backups.enabled && config.s3Credentials && config.backups.endpoint) {
            const accessKeyId = pulumi.secret(config.s3Credentials.accessKeyId.reveal());
            const secretAccessKey = pulumi.secret(config.s3Credentials.secretAccessKey.reveal());
            const region = config.backups.region ?? "us-east-1";
            const bucket = new S3Bucket(
                `${name}-backups`,
                { endpoint: config.backups.endpoint, region, bucket: config.backups.bucket, accessKeyId, secretAccessKey, lifecycle: LIFECYCLE, protect: config.protect },
                { parent: this },
            );
            backup = { endpoint: pulumi.output(config.backups.endpoint), bucket: bucket.bucketName, region, accessKeyId, secretAccessKey };
        }
        // Existing servers: DNS is the user's; the records they need are a stack output.
        return { hosts, entry: entryHost ? entryHost.publicIp : pulumi.output(""), nameservers: pulumi.output([] as string[]), backup };
    }
}

/** Resolves the topology's DNS records to values: host addresses, the LB, or names. */
function dnsRecords(topology: Topology, hosts: ReadonlyMap<string, Host>, entry: pulumi.Output<string>): DnsRecordInput[] {
    return topology.dns.map((r: DnsRecordSpec): DnsRecordInput => {
        switch (r.target.kind) {
            case "host-public":
                return { name: r.name, type: r.type, value: hosts.get(r.target.host)!.publicIp };
            case "host-private":
                return { name: r.name, type: r.type, value: hosts.get(r.target.host)!.privateIp };
            case "lb":
                return { name: r.name, type: r.type, value: entry };
            case "name":
                return { name: r.name, type: r.type, value: r.target.value };
            default: {
                const never: never = r.target;
                throw new Error(`unknown DNS target ${JSON.stringify(never)}`);
            }
        }
    });
}
