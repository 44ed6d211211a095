/**
 * Our dynamic providers survive Pulumi's closure serialization (which runs under the mock engine
 * too), stay small, and capture no secret: the serialized code is stored in state and is what
 * `destroy` and `refresh` run later.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { HostFiles } from "../../providers/hostFiles";
import { runOffline, SECRET_SIG } from "../../plan/mockEngine";
import { rawConfigFromStackFile } from "../../plan/stackFile";

jest.setTimeout(60_000);

const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key-but-secret-0xC0FFEE\n-----END OPENSSH PRIVATE KEY-----\n";

describe("dynamic providers under the mock engine", () => {
    it("HostFiles serializes, stays small, and keeps the key and secret files secret", async () => {
        const raw = rawConfigFromStackFile(path.resolve(__dirname, "../../examples/Pulumi.existing-phase1.yaml"));
        const { resources } = await runOffline(raw, "dyn", "senex-infra", () => {
            new HostFiles("main-system", {
                target: { name: "main", host: "198.51.100.11", port: 22, user: "admin", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIrfwlZB/6TPh2FqjCUUQ6Ucdt800uFDZGl1oeVllCRm" },
                privateKey: pulumi.secret(PRIVATE_KEY),
                layer: "system",
                files: { "/etc/senex/a.conf": { content: "a=1\n", mode: "0644", owner: "root" } },
                secretFiles: pulumi.secret({ "/etc/senex/secret.conf": { content: "pw=swordfish-1234\n", mode: "0600", owner: "root" } }),
            });
            return {};
        });
        const r = resources.find((x) => x.name === "main-system")!;
        const provider = r.inputs.__provider as string;
        expect(typeof provider).toBe("string");
        expect(provider).toContain("WRITE_SCRIPT");
        expect(provider.length).toBeLessThan(200_000);
        expect(provider).not.toContain("not-a-real-key-but-secret");
        expect(provider).not.toContain("swordfish");
        expect(r.secretInputs).toEqual(expect.arrayContaining(["privateKey", "secretFiles"]));
        expect(JSON.stringify(r.inputs.files)).toContain("a=1");
        expect(JSON.stringify(r.inputs.privateKey)).toContain(SECRET_SIG);
        process.stdout.write(`serialized HostFiles provider: ${provider.length} bytes\n`);
    });

    it("the S3 lifecycle provider of a Hetzner stack serializes without its credentials", async () => {
        const raw = rawConfigFromStackFile(path.resolve(__dirname, "../../examples/Pulumi.hetzner-phase2.yaml"), () => "s3-credential-stand-in-9917");
        let exports: Record<string, unknown> = {};
        const { resources } = await runOffline(raw, "dyn2", "senex-infra", () => {
            jest.isolateModules(() => {
                // eslint-disable-next-line @typescript-eslint/no-require-imports
                exports = require("../../index");
            });
            return exports;
        });
        const r = resources.find((x) => x.name === "senex-backups-lifecycle")!;
        const provider = r.inputs.__provider as string;
        expect(provider.length).toBeLessThan(200_000);
        expect(provider).not.toContain("s3-credential-stand-in-9917");
        expect(r.secretInputs).toEqual(expect.arrayContaining(["accessKeyId", "secretAccessKey"]));
    });
});
