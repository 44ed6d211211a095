import { CreateBucketCommand, GetBucketLifecycleConfigurationCommand, PutBucketVersioningCommand, S3Client } from "@aws-sdk/client-s3";
import { lifecycleConfiguration, readRules, s3LifecycleProvider, S3LifecycleInputs } from "../../providers/s3Lifecycle";
import { MotoServer, startMoto } from "../support/moto";

jest.setTimeout(90_000);

// The AWS provider's lifecycle resource is broken against custom S3 endpoints (Hetzner Object
// Storage), so our dynamic provider applies the lifecycle itself. Proven here against a real S3
// implementation (moto's server from Debian), by calling the provider's methods as the engine does.
describe("S3 lifecycle provider against a real S3 endpoint (moto)", () => {
    let moto: MotoServer;
    let inputs: S3LifecycleInputs;
    let s3: S3Client;

    beforeAll(async () => {
        moto = await startMoto();
        inputs = { endpoint: moto.endpoint, region: "us-east-1", bucket: "senex-test-backups", accessKeyId: "testing", secretAccessKey: "testing-secret", rules: { abortIncompleteUploadDays: 7, noncurrentVersionDays: 14 } };
        s3 = new S3Client({ endpoint: moto.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "testing", secretAccessKey: "testing-secret" } });
        await s3.send(new CreateBucketCommand({ Bucket: inputs.bucket }));
        await s3.send(new PutBucketVersioningCommand({ Bucket: inputs.bucket, VersioningConfiguration: { Status: "Enabled" } }));
    });

    afterAll(async () => {
        s3?.destroy();
        await moto?.stop();
    });

    it("create applies only upload hygiene and non-current expiry: no expiry of current objects (pgBackRest owns retention)", async () => {
        const created = await s3LifecycleProvider.create!(inputs);
        expect(created.id).toBe(`${moto.endpoint}/senex-test-backups`);
        const out = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: inputs.bucket }));
        expect(out.Rules).toHaveLength(1);
        const rule = out.Rules![0];
        expect(rule.Status).toBe("Enabled");
        expect(rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation).toBe(7);
        expect(rule.NoncurrentVersionExpiration?.NoncurrentDays).toBe(14);
        expect(rule.Expiration).toBeUndefined();
    });

    it("read reports what the bucket really has (refresh shows drift)", async () => {
        expect(await readRules(inputs)).toEqual({ abortIncompleteUploadDays: 7, noncurrentVersionDays: 14 });
        const read = await s3LifecycleProvider.read!("id", inputs);
        expect(read.props?.rules).toEqual({ abortIncompleteUploadDays: 7, noncurrentVersionDays: 14 });
    });

    it("diff: a rules change is an update, a new bucket a replacement; update converges", async () => {
        const changed = { ...inputs, rules: { abortIncompleteUploadDays: 3, noncurrentVersionDays: 30 } };
        expect(await s3LifecycleProvider.diff!("id", inputs, changed)).toMatchObject({ changes: true, replaces: [] });
        expect(await s3LifecycleProvider.diff!("id", inputs, { ...inputs, bucket: "other" })).toMatchObject({ changes: true, replaces: ["bucket"] });
        expect(await s3LifecycleProvider.diff!("id", inputs, { ...inputs })).toMatchObject({ changes: false });
        await s3LifecycleProvider.update!("id", inputs, changed);
        expect(await readRules(inputs)).toEqual({ abortIncompleteUploadDays: 3, noncurrentVersionDays: 30 });
    });

    it("check rejects nonsense before anything is sent", async () => {
        const r = await s3LifecycleProvider.check!(inputs, { ...inputs, rules: { abortIncompleteUploadDays: 0, noncurrentVersionDays: 1.5 } });
        expect(r.failures?.map((f) => f.property).sort()).toEqual(["rules.abortIncompleteUploadDays", "rules.noncurrentVersionDays"]);
    });

    it("delete removes the lifecycle", async () => {
        await s3LifecycleProvider.delete!("id", inputs);
        expect(await readRules(inputs)).toBeUndefined();
    });

    it("the document is what we think it is", () => {
        expect(lifecycleConfiguration({ abortIncompleteUploadDays: 1, noncurrentVersionDays: 2 }).Rules[0]).not.toHaveProperty("Expiration");
    });
});
