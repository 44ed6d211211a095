/**
 * #13.6 on real hosts: OpenSSH's own client, given the rendered `ssh_config` and `known_hosts` stack
 * outputs, logs in to each host by its topology name (as admin, and as senex@NAME), and refuses a
 * host whose key is not the one pinned for its name: never trusts on first use, never asks.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OperatorSshHost, renderKnownHosts, renderSshConfig } from "../../render/operatorSsh";
import { loginKeyPair } from "../support/keys";
import { TestHost, destroyAll, startHosts } from "./harness";

jest.setTimeout(300_000);

const loginKey = loginKeyPair();
let a: TestHost;
let b: TestHost;
let dir: string;
let keyFile: string;

/** The operator's side: `ssh -F CONFIG -i KEY -o BatchMode=yes ARGS…` (BatchMode: a prompt would be a failure). */
function ssh(config: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
    const r = spawnSync("ssh", ["-F", config, "-i", keyFile, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=20", ...args], {
        encoding: "utf8",
        timeout: 60_000,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Writes the rendered outputs as an operator would (known_hosts to the file ssh_config names). */
function writeOutputs(tag: string, hosts: OperatorSshHost[]): { config: string; knownHosts: string } {
    const knownHosts = path.join(dir, `${tag}.known_hosts`);
    const config = path.join(dir, `${tag}.ssh_config`);
    fs.writeFileSync(knownHosts, renderKnownHosts(hosts));
    fs.writeFileSync(config, renderSshConfig(hosts, { knownHostsFile: knownHosts, stack: "hosts-test" }));
    return { config, knownHosts };
}

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "senex-operator-ssh-"));
    keyFile = path.join(dir, "id_ed25519");
    fs.writeFileSync(keyFile, loginKey.private, { mode: 0o600 });
    [a, b] = await startHosts(2, { names: ["opssh-a", "opssh-b"], rootAuthorizedKeys: [loginKey.public], aptProxy: false });
    // What the bootstrap leaves: the users `admin` and `senex`, each logging in with the operator's key.
    for (const h of [a, b]) {
        const setup = await h.exec(["sh", "-c", [
            "set -e",
            ...["admin", "senex"].map((u) => `useradd -m -s /bin/bash ${u} && install -d -m 0700 -o ${u} -g ${u} /home/${u}/.ssh && printf '%s\\n' '${loginKey.public}' > /home/${u}/.ssh/authorized_keys && chown ${u}:${u} /home/${u}/.ssh/authorized_keys && chmod 0600 /home/${u}/.ssh/authorized_keys`),
        ].join("\n")]);
        if (setup.code !== 0) throw new Error(`setting up ${h.name}: ${setup.stdout}${setup.stderr}`);
    }
});

afterAll(async () => {
    await destroyAll();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const pinned = (): OperatorSshHost[] => [
    { name: "db-1", address: a.address, port: 22, hostKey: a.hostKeyPublic },
    { name: "web-1", address: b.address, port: 22, hostKey: b.hostKeyPublic },
];

describe("operator SSH outputs with OpenSSH's client", () => {
    it("logs in to each host by its topology name, as admin and as senex@NAME", () => {
        const { config, knownHosts } = writeOutputs("good", pinned());
        // What ssh itself makes of the config: the name's address, admin, the pinned file, strict checking.
        const effective = ssh(config, "-G", "db-1").stdout;
        for (const line of [`hostname ${a.address}`, "user admin", "port 22", "hostkeyalias db-1", `userknownhostsfile ${knownHosts}`, "stricthostkeychecking true"]) expect(effective.split("\n")).toContain(line);
        for (const [name, hostname] of [["db-1", "opssh-a"], ["web-1", "opssh-b"]]) {
            const admin = ssh(config, name, "echo $(id -un) $(hostname)");
            expect({ code: admin.code, stdout: admin.stdout, stderr: admin.stderr }).toEqual({ code: 0, stdout: `admin ${hostname}\n`, stderr: "" });
            const senex = ssh(config, `senex@${name}`, "echo $(id -un) $(hostname)");
            expect(senex.stdout).toBe(`senex ${hostname}\n`);
            expect(senex.code).toBe(0);
        }
    });

    it("the known_hosts output alone pins the key for a plain `ssh admin@ADDRESS` too", () => {
        const { knownHosts } = writeOutputs("plain", pinned());
        const r = ssh("/dev/null", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "StrictHostKeyChecking=yes", `admin@${a.address}`, "id -un");
        expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: "admin\n" });
    });

    it("refuses a host whose known_hosts line holds another key (the other host's)", () => {
        const swapped = pinned().map((h) => (h.name === "db-1" ? { ...h, hostKey: b.hostKeyPublic } : h));
        const { config, knownHosts } = writeOutputs("swapped", swapped);
        const before = fs.readFileSync(knownHosts, "utf8");
        const r = ssh(config, "db-1", "echo reached");
        expect(r.code).toBe(255);
        expect(r.stdout).toBe("");
        expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED/);
        expect(r.stderr).toMatch(/Host key verification failed/);
        expect(fs.readFileSync(knownHosts, "utf8")).toBe(before);
        // The correctly pinned host of the same file still works.
        expect(ssh(config, "web-1", "echo reached").stdout).toBe("reached\n");
    });

    it("refuses a host missing from known_hosts (no trust on first use) and adds nothing", () => {
        const { config, knownHosts } = writeOutputs("missing", pinned());
        fs.writeFileSync(knownHosts, renderKnownHosts(pinned().filter((h) => h.name !== "db-1")));
        const before = fs.readFileSync(knownHosts, "utf8");
        const r = ssh(config, "db-1", "echo reached");
        expect(r.code).toBe(255);
        expect(r.stdout).toBe("");
        expect(r.stderr).toMatch(/No ED25519 host key is known for db-1|Host key verification failed/);
        expect(fs.readFileSync(knownHosts, "utf8")).toBe(before);
    });
});
