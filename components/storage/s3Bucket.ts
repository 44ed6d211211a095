import * as pulumi from "@pulumi/pulumi";
import { S3Lifecycle, S3LifecycleRules } from "../../providers/s3Lifecycle";

export interface S3BucketArgs {
    /** The S3-compatible endpoint (Hetzner Object Storage, or the one existing servers use). */
    endpoint: string;
    region: string;
    bucket: string;
    accessKeyId: pulumi.Input<string>;
    secretAccessKey: pulumi.Input<string>;
    lifecycle: S3LifecycleRules;
    protect: boolean;
}

/**
 * The backup bucket on any S3-compatible endpoint: versioned, with our lifecycle (see
 * providers/s3Lifecycle.ts for why it is not the AWS provider's lifecycle resource). `@pulumi/aws`
 * is loaded only for stacks that use this (two of its modules, not the index), through an explicit provider that never talks to AWS.
 */
export class S3Bucket extends pulumi.ComponentResource {
    declare public readonly bucketName: pulumi.Output<string>;
    declare public readonly endpoint: string;

    constructor(name: string, args: S3BucketArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("senex:storage:S3Bucket", name, {}, opts);
        // Only the two modules used: the package index costs ~0.15-0.25 s to load (the plan's budget).
        /* eslint-disable @typescript-eslint/no-require-imports */
        const { Provider } = require("@pulumi/aws/provider") as typeof import("@pulumi/aws/provider");
        const s3 = require("@pulumi/aws/s3") as typeof import("@pulumi/aws/s3");
        /* eslint-enable @typescript-eslint/no-require-imports */
        const provider = new Provider(
            `${name}-s3`,
            {
                region: "us-east-1", // a placeholder the AWS provider requires; the endpoint decides
                accessKey: args.accessKeyId,
                secretKey: args.secretAccessKey,
                endpoints: [{ s3: args.endpoint }],
                s3UsePathStyle: true,
                skipCredentialsValidation: true,
                skipMetadataApiCheck: true,
                skipRegionValidation: true,
                skipRequestingAccountId: true,
            },
            { parent: this },
        );
        // Backups outlive the stack: a destroy (or a bucket rename, which replaces the bucket) drops
        // the bucket, its versioning and lifecycle from the state and leaves them as they are; never
        // forceDestroy, which would empty every object version first (README: deleting it by hand).
        const bucket = new s3.Bucket(`${name}-bucket`, { bucket: args.bucket }, { parent: this, provider, protect: args.protect, retainOnDelete: true });
        const versioning = new s3.BucketVersioning(`${name}-versioning`, { bucket: bucket.bucket, versioningConfiguration: { status: "Enabled" } }, { parent: this, provider, retainOnDelete: true });
        new S3Lifecycle(
            `${name}-lifecycle`,
            { endpoint: args.endpoint, region: args.region, bucket: bucket.bucket, accessKeyId: args.accessKeyId, secretAccessKey: args.secretAccessKey, rules: args.lifecycle },
            { parent: this, dependsOn: [versioning], retainOnDelete: true },
        );
        this.bucketName = bucket.bucket;
        this.endpoint = args.endpoint;
        this.registerOutputs({ bucketName: this.bucketName });
    }
}
