/**
 * #13.6: the `known_hosts` and `ssh_config` stack outputs of every example and real stack, from the
 * real program under the mock engine: present, not secrets (an operator reads them without
 * --show-secrets, and a secret input would turn them secret), holding every host with its pinned key
 * at the stack's SSH port, and no secret value.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig } from "../../config/schema";
import { runOffline } from "../../plan/mockEngine";
import { rawConfigFromStackFile } from "../../plan/stackFile";
import { buildTopology } from "../../topology";

jest.setTimeout(60_000);

const root = path.resolve(__dirname, "../..");
const stackFiles = [path.join(root, "Pulumi.production.yaml"), path.join(root, "Pulumi.staging.yaml"), ...fs.readdirSync(path.join(root, "examples")).map((f) => path.join(root, "examples", f))];
const STAND_IN = "graph-test-operator-secret-4c1e";
const standIn = (key: string) => (key.endsWith("alertSlackWebhook") ? `https://hooks.slack.invalid/${STAND_IN}` : key.endsWith("alertHeartbeatUrl") ? `https://heartbeat.invalid/${STAND_IN}` : `${STAND_IN}-${key}`);

describe.each(stackFiles.map((f) => [path.relative(root, f), f]))("%s: operator SSH outputs", (_name, file) => {
    const raw = rawConfigFromStackFile(file, standIn);
    const config = parseStackConfig(raw, "senex-infra", "graph");
    const topology = buildTopology(config);
    let exports: Record<string, unknown> = {};
    let outputs: Record<string, unknown>;

    beforeAll(async () => {
        const run = await runOffline(raw, "graph", "senex-infra", () => {
            jest.isolateModules(() => {
                // eslint-disable-next-line @typescript-eslint/no-require-imports
                exports = require("../../index");
            });
            return exports;
        });
        outputs = run.outputs;
    });

    it("known_hosts and ssh_config are outputs and not secrets", async () => {
        expect(pulumi.Output.isInstance(exports.known_hosts)).toBe(true);
        expect(pulumi.Output.isInstance(exports.ssh_config)).toBe(true);
        expect(await pulumi.isSecret(exports.known_hosts as pulumi.Output<string>)).toBe(false);
        expect(await pulumi.isSecret(exports.ssh_config as pulumi.Output<string>)).toBe(false);
    });

    it("every host of the topology, with its pinned key, address and the stack's SSH port", () => {
        const knownHosts = String(outputs.known_hosts);
        const sshConfig = String(outputs.ssh_config);
        const hosts = outputs.hosts as Record<string, { publicIp: string; hostKey: string }>;
        expect(knownHosts.trim().split("\n")).toHaveLength(topology.hosts.length);
        for (const h of topology.hosts) {
            const { publicIp, hostKey } = hosts[h.name];
            expect(hostKey).toMatch(/^ssh-ed25519 /);
            const pattern = config.ssh.port === 22 ? publicIp : `[${publicIp}]:${config.ssh.port}`;
            expect(knownHosts).toContain(`${h.name},${pattern} ${hostKey.split(" ").slice(0, 2).join(" ")}\n`);
            expect(sshConfig).toContain(`Host ${h.name}\n  HostName ${publicIp}\n  Port ${config.ssh.port}\n  User admin\n  HostKeyAlias ${h.name}\n`);
        }
        expect(sshConfig.match(/^\s*StrictHostKeyChecking yes$/gm)).toHaveLength(topology.hosts.length);
        expect(sshConfig).toContain(`UserKnownHostsFile ~/.ssh/senex-infra-graph.known_hosts`);
    });

    it("holds no secret value", () => {
        expect(`${outputs.known_hosts}${outputs.ssh_config}`).not.toContain(STAND_IN);
        expect(`${outputs.known_hosts}${outputs.ssh_config}`).not.toMatch(/PRIVATE KEY/);
    });
});
