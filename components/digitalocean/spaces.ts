import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";

export interface DigitalOceanSpacesArgs {
    region: string;
    bucket: string;
    /** Days non-current versions are kept; retention of current objects is pgBackRest's. */
    noncurrentVersionDays: number;
    abortIncompleteUploadDays: number;
    protect: boolean;
}

/**
 * The backup bucket on Spaces, versioned, with a native lifecycle that only aborts incomplete
 * uploads and expires non-current versions (ARCHITECTURE.md, Backups), and a Spaces key limited
 * to this bucket for the backup jobs.
 */
export class DigitalOceanSpaces extends pulumi.ComponentResource {
    declare public readonly bucketName: pulumi.Output<string>;
    declare public readonly endpoint: pulumi.Output<string>;
    declare public readonly accessKeyId: pulumi.Output<string>;
    declare public readonly secretAccessKey: pulumi.Output<string>;

    constructor(name: string, args: DigitalOceanSpacesArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("senex:digitalocean:Spaces", name, {}, opts);
        const bucket = new digitalocean.SpacesBucket(
            `${name}-bucket`,
            {
                name: args.bucket,
                region: args.region,
                acl: "private",
                versioning: { enabled: true },
                lifecycleRules: [
                    { id: "senex-backup-hygiene", enabled: true, abortIncompleteMultipartUploadDays: args.abortIncompleteUploadDays, noncurrentVersionExpiration: { days: args.noncurrentVersionDays } },
                ],
            },
            // Backups outlive the stack: a destroy or rename leaves the bucket (never forceDestroy,
            // which would empty every object version first). README: deleting it by hand.
            { parent: this, protect: args.protect, retainOnDelete: true },
        );
        const key = new digitalocean.SpacesKey(`${name}-key`, { name: `${name}-backups`, grants: [{ bucket: bucket.name, permission: "readwrite" }] }, { parent: this });
        this.bucketName = bucket.name;
        this.endpoint = pulumi.output(`https://${args.region}.digitaloceanspaces.com`);
        this.accessKeyId = pulumi.secret(key.accessKey);
        this.secretAccessKey = pulumi.secret(key.secretKey);
        this.registerOutputs({ bucketName: this.bucketName });
    }
}
