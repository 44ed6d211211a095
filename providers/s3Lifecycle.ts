import * as pulumi from "@pulumi/pulumi";

/**
 * The backup bucket's lifecycle, applied with the S3 API itself. The AWS provider's lifecycle
 * resource is known-broken against custom S3 endpoints (Hetzner Object Storage), so this small
 * dynamic provider PUTs the configuration directly and reads it back for refresh.
 *
 * Retention belongs to the backup tool (pgBackRest `repo1-retention-*`): expiring *current*
 * objects here would delete WAL a retained backup still needs. The lifecycle only aborts
 * incomplete multipart uploads and expires *non-current* versions.
 */
export interface S3LifecycleRules {
    /** Days after which an unfinished multipart upload is aborted. */
    abortIncompleteUploadDays: number;
    /** Days a non-current (overwritten or deleted) version is kept. */
    noncurrentVersionDays: number;
}

export interface S3LifecycleInputs {
    endpoint: string;
    region: string;
    bucket: string;
    accessKeyId: string;
    secretAccessKey: string;
    rules: S3LifecycleRules;
}

export interface S3LifecycleArgs {
    endpoint: pulumi.Input<string>;
    region: pulumi.Input<string>;
    bucket: pulumi.Input<string>;
    accessKeyId: pulumi.Input<string>;
    secretAccessKey: pulumi.Input<string>;
    rules: pulumi.Input<S3LifecycleRules>;
}

/** The lifecycle document we own: one rule, whole bucket. Exported for tests. */
export function lifecycleConfiguration(rules: S3LifecycleRules) {
    return {
        Rules: [
            {
                ID: "senex-backup-hygiene",
                Status: "Enabled" as const,
                Filter: { Prefix: "" },
                AbortIncompleteMultipartUpload: { DaysAfterInitiation: rules.abortIncompleteUploadDays },
                NoncurrentVersionExpiration: { NoncurrentDays: rules.noncurrentVersionDays },
            },
        ],
    };
}

async function client(inputs: S3LifecycleInputs) {
    // Required inside the methods: the serialized provider must not capture the AWS SDK.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const s3 = require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
    const c = new s3.S3Client({
        endpoint: inputs.endpoint,
        region: inputs.region,
        forcePathStyle: true,
        credentials: { accessKeyId: inputs.accessKeyId, secretAccessKey: inputs.secretAccessKey },
        maxAttempts: 4,
    });
    return { s3, c };
}

async function put(inputs: S3LifecycleInputs): Promise<void> {
    const { s3, c } = await client(inputs);
    try {
        await c.send(new s3.PutBucketLifecycleConfigurationCommand({ Bucket: inputs.bucket, LifecycleConfiguration: lifecycleConfiguration(inputs.rules) }));
    } finally {
        c.destroy();
    }
}

/** Reads the bucket's rules back in our shape; undefined when the bucket has none of ours. */
export async function readRules(inputs: S3LifecycleInputs): Promise<S3LifecycleRules | undefined> {
    const { s3, c } = await client(inputs);
    try {
        const out = await c.send(new s3.GetBucketLifecycleConfigurationCommand({ Bucket: inputs.bucket }));
        const rule = out.Rules?.find((r) => r.ID === "senex-backup-hygiene");
        if (!rule) return undefined;
        return {
            abortIncompleteUploadDays: rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation ?? 0,
            noncurrentVersionDays: rule.NoncurrentVersionExpiration?.NoncurrentDays ?? 0,
        };
    } catch (e) {
        if ((e as { name?: string }).name === "NoSuchLifecycleConfiguration") return undefined;
        throw e;
    } finally {
        c.destroy();
    }
}

export const s3LifecycleProvider: pulumi.dynamic.ResourceProvider<S3LifecycleInputs, S3LifecycleInputs> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        for (const k of ["abortIncompleteUploadDays", "noncurrentVersionDays"] as const)
            if (!Number.isInteger(news.rules?.[k]) || news.rules[k] < 1) failures.push({ property: `rules.${k}`, reason: `must be a whole number of days >= 1` });
        if (!/^https?:\/\//.test(news.endpoint ?? "")) failures.push({ property: "endpoint", reason: "must be an http(s) URL" });
        return { inputs: news, failures };
    },
    async diff(_id, olds, news) {
        const replaces = (["endpoint", "bucket"] as const).filter((k) => olds[k] !== news[k]);
        const changes = [...replaces];
        if (JSON.stringify(olds.rules) !== JSON.stringify(news.rules)) changes.push("rules" as never);
        if (olds.accessKeyId !== news.accessKeyId || olds.secretAccessKey !== news.secretAccessKey) changes.push("accessKeyId" as never);
        return { changes: changes.length > 0, replaces, deleteBeforeReplace: false };
    },
    async create(inputs) {
        await put(inputs);
        return { id: `${inputs.endpoint}/${inputs.bucket}`, outs: inputs };
    },
    async update(_id, _olds, news) {
        await put(news);
        return { outs: news };
    },
    async read(id, props) {
        const rules = props ? await readRules(props) : undefined;
        return { id, props: props ? { ...props, rules: rules ?? { abortIncompleteUploadDays: 0, noncurrentVersionDays: 0 } } : props };
    },
    async delete(_id, props) {
        const { s3, c } = await client(props);
        try {
            await c.send(new s3.DeleteBucketLifecycleCommand({ Bucket: props.bucket }));
        } finally {
            c.destroy();
        }
    },
};

/** Applies the backup bucket's lifecycle over the S3 API (see module comment). */
export class S3Lifecycle extends pulumi.dynamic.Resource {
    constructor(name: string, args: S3LifecycleArgs, opts: pulumi.CustomResourceOptions = {}) {
        super(s3LifecycleProvider, name, args, { ...opts, additionalSecretOutputs: ["accessKeyId", "secretAccessKey"] });
    }
}
