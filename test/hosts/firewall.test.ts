/**
 * The SSH port and the host firewall on real trixie hosts (issue #11, items 3 and 7).
 *
 * #11.3 `ssh.port` 2222, both bootstrap routes from the one spec (as test/hosts/bootstrap.test.ts
 * builds them): a cloud host from its cloud-init user-data, and an existing host whose operator
 * already moved sshd to 2222, bootstrapped by the provider over 2222. Each ends with sshd on 2222
 * only, nftables admitting 2222 and not 22, fail2ban guarding 2222, and the program reaching it.
 *
 * #11.7 a firewall change through the system layer (HostFiles, as components/hostServices.ts
 * applies topology's firewall file): a valid ruleset is RELOADED (same InvocationID, the table never
 * missing while a loop on the host lists it) and swapped; a ruleset nft rejects fails the apply
 * naming nft's complaint, and the old file and table stay.
 */
import * as net from "net";
import type { StackConfig } from "../../config/types";
import { parseStackConfig } from "../../config/schema";
import { rawConfigFromValues } from "../../plan/stackFile";
import { hostBootstrapProvider, type HostBootstrapInputs } from "../../providers/bootstrap";
import { hostFilesProvider, type FileSpec, type HostFilesInputs } from "../../providers/hostFiles";
import { withSsh } from "../../providers/ssh/transport";
import { renderBootstrapScript, renderCloudInit, type BootstrapSpec } from "../../render/cloudinit";
import { buildTopology } from "../../topology";
import { bootstrapSpec } from "../../topology/bootstrap";
import { hostFiles } from "../../topology/hostFiles";
import { FIREWALL_FILE } from "../../topology/hostFiles/layout";
import { loginKeyPair } from "../support/keys";
import { APT_PROXY_URL, TestHost, destroyAll, destroyHosts, startHosts } from "./harness";

jest.setTimeout(900_000);

const PORT = 2222;
const operator = loginKeyPair("operator@senex-test");
const deploy = loginKeyPair("deploy@senex-test");
const cloudHostKey = loginKeyPair("main-host-key");

afterAll(async () => {
    await destroyAll();
});

const common = {
    "senex-infra:phase": 1,
    "senex-infra:domain": "example.com",
    "senex-infra:acme": { email: "ops@example.com" },
    "senex-infra:aptProxy": APT_PROXY_URL,
    "senex-infra:ssh": { port: PORT },
};

function cloudConfig(): StackConfig {
    return parseStackConfig(
        rawConfigFromValues({ ...common, "senex-infra:cloud": "hetzner", "senex-infra:region": "fsn1", "senex-infra:adminSshKeys": [operator.public] }),
        "senex-infra",
        "firewall-cloud",
    );
}

function existingConfig(host: TestHost, allowFrom?: string[]): StackConfig {
    const raw = rawConfigFromValues({
        ...common,
        "senex-infra:ssh": { port: PORT, ...(allowFrom ? { allowFrom } : {}) },
        "senex-infra:cloud": "existing",
        "senex-infra:adminSshKeys": [operator.public],
        "senex-infra:bootstrapSshKey": operator.private,
        "senex-infra:deploySshKey": deploy.private,
        "senex-infra:network": { cidr: "10.213.0.0/16", subnet: "10.213.7.0/24" },
        "senex-infra:hosts": [{ name: "main", address: host.address, privateAddress: host.address, hostKey: host.hostKeyPublic, roles: ["main"] }],
    });
    return parseStackConfig({ values: raw.values, secretKeys: new Set([...raw.secretKeys, "senex-infra:bootstrapSshKey", "senex-infra:deploySshKey"]) }, "senex-infra", "firewall-existing");
}

const mainOf = (config: StackConfig) => {
    const topology = buildTopology(config);
    return { topology, host: topology.hosts.find((h) => h.name === "main")! };
};

async function rootSh(host: TestHost, line: string, timeoutMs = 60_000): Promise<string> {
    const r = await host.exec(["sh", "-c", line], { timeoutMs });
    if (r.code !== 0) throw new Error(`\`${line}\` exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout.trim();
}

/** Whether a TCP connect to address:port completes within timeoutMs (nft drops: it never does). */
function tcpConnects(address: string, port: number, timeoutMs = 3000): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: address, port });
        const done = (ok: boolean) => {
            socket.destroy();
            resolve(ok);
        };
        socket.setTimeout(timeoutMs, () => done(false));
        socket.once("connect", () => done(true));
        socket.once("error", () => done(false));
    });
}

/** The program's own transport, as admin with the deployment key, on `port`: sudo works. */
function adminSudo(host: TestHost, hostKey: string, port: number): Promise<string> {
    return withSsh({ name: host.name, host: host.address, port, user: "admin", hostKey, privateKey: deploy.private }, async (s) => (await s.run(["id", "-u"], { sudo: true })).stdout.trim(), {
        attempts: 1,
        connectTimeoutMs: 5000,
    });
}

interface Route {
    host: TestHost;
    hostKey: string;
    spec: BootstrapSpec;
}

/** The end state #11.3 asks for, the same for both routes. */
function portEndState(route: () => Route): void {
    it("sshd listens on 2222 only", async () => {
        const r = route();
        const listening = await rootSh(r.host, "ss -Htlnp | grep '\"sshd' | awk '{print $4}' | sed 's/.*://' | sort -u");
        expect(listening.split("\n")).toEqual([String(PORT)]);
        // The existing host's own sshd_config says Port 2222 too: Port adds up, so sshd -T may list it twice.
        expect(await rootSh(r.host, "sshd -T | grep '^port ' | sort -u")).toBe(`port ${PORT}`);
    });

    it("nftables admits 2222 and not 22: a connect to 22 gets nowhere, the program logs in on 2222 and has sudo", async () => {
        const r = route();
        const table = await rootSh(r.host, "nft list table inet senex");
        expect(table).toMatch(/chain input \{[\s\S]*policy drop;/);
        expect(table).toMatch(new RegExp(`tcp dport ${PORT} accept comment "ssh"`));
        expect(table).not.toMatch(/dport 22 /);
        expect(await tcpConnects(r.host.address, 22)).toBe(false);
        expect(await adminSudo(r.host, r.hostKey, PORT)).toBe("0");
    });

    it("fail2ban's sshd jail bans on 2222", async () => {
        const r = route();
        expect(await rootSh(r.host, "sed -n '/^\\[sshd\\]/,/^\\[/p' /etc/fail2ban/jail.d/senex.conf | grep '^port'")).toBe(`port = ${PORT}`);
        const probe = "192.0.2.78";
        await rootSh(r.host, `fail2ban-client set sshd banip ${probe}`);
        const ruleset = await rootSh(r.host, "nft list ruleset");
        await rootSh(r.host, `fail2ban-client set sshd unbanip ${probe}`);
        const banRules = ruleset.split("\n").filter((l) => /@addr-set-sshd/.test(l));
        expect(banRules.length).toBeGreaterThan(0);
        for (const l of banRules) expect(l).toMatch(new RegExp(`dport \\{? ?${PORT}\\b`));
    });
}

// ---- #11.3, cloud route -------------------------------------------------------------------------

describe("cloud route with ssh.port 2222: cloud-init user-data on first boot", () => {
    let r: Route;

    beforeAll(async () => {
        const config = cloudConfig();
        const { topology, host } = mainOf(config);
        const spec = bootstrapSpec(config, topology, host, { deployPublicKey: deploy.public, hostKey: { ed25519Private: cloudHostKey.private, ed25519Public: cloudHostKey.public } });
        const [h] = await startHosts(1, { names: ["main"], seed: () => ({ userData: renderCloudInit(spec) }), waitForSsh: false });
        await h!.waitForSsh(300_000, PORT);
        const status = await h!.exec(["cloud-init", "status", "--wait"], { timeoutMs: 800_000 });
        expect(status.code).toBe(0);
        r = { host: h!, hostKey: cloudHostKey.public, spec };
    });

    afterAll(async () => {
        if (r) await destroyHosts([r.host]);
    });

    portEndState(() => r);
});

// ---- #11.3 existing route, then #11.7 on the same host -------------------------------------------

describe("existing host whose sshd already listens on 2222: the provider bootstraps it over 2222", () => {
    let r: Route;
    let config: StackConfig;

    beforeAll(async () => {
        const [h] = await startHosts(1, { names: ["main"], rootAuthorizedKeys: [operator.public], aptProxy: false, bootTimeoutMs: 300_000 });
        // The operator moved sshd to 2222 before handing the host over (the main config's Port line).
        await rootSh(h!, `sed -i -E 's/^#?Port .*/Port ${PORT}/' /etc/ssh/sshd_config && grep -qx 'Port ${PORT}' /etc/ssh/sshd_config && systemctl restart ssh.service`);
        await h!.waitForSsh(60_000, PORT);
        config = existingConfig(h!);
        const { topology, host } = mainOf(config);
        r = { host: h!, hostKey: h!.hostKeyPublic, spec: bootstrapSpec(config, topology, host, { deployPublicKey: deploy.public }) };
    });

    it("before: root logs in on 2222 and nothing listens on 22", async () => {
        expect(await tcpConnects(r.host.address, 22)).toBe(false);
        const uid = await withSsh({ name: "main", host: r.host.address, port: PORT, user: "root", hostKey: r.hostKey, privateKey: operator.private }, async (s) => (await s.run(["id", "-u"])).stdout.trim(), { attempts: 1 });
        expect(uid).toBe("0");
    });

    it("create runs the bootstrap as root on 2222", async () => {
        const inputs: HostBootstrapInputs = {
            target: { name: "main", host: r.host.address, port: PORT, hostKey: r.hostKey },
            firstLogin: { user: "root", privateKey: operator.private },
            adminLogin: { user: "admin", privateKey: deploy.private },
            script: renderBootstrapScript(r.spec),
        };
        expect((await hostBootstrapProvider.check!({} as HostBootstrapInputs, inputs)).failures).toEqual([]);
        const created = await hostBootstrapProvider.create!(inputs);
        expect(created.id).toBe("main:bootstrap");
    });

    portEndState(() => r);

    // ---- #11.7 --------------------------------------------------------------------------------

    describe("a firewall change through the system layer (#11.7)", () => {
        /** The system layer's inputs as components/hostServices.ts builds them, firewall file only. */
        const systemLayer = (cfg: StackConfig, content?: string): HostFilesInputs => {
            const { topology, host } = mainOf(cfg);
            const file = hostFiles(cfg, topology, host).files.find((f) => f.path === FIREWALL_FILE)!;
            const { path: _path, ...rest } = file as unknown as FileSpec & { path: string };
            const spec: FileSpec = { ...rest, owner: "root", ...(rest.check ? { check: [...rest.check] } : {}), ...(content !== undefined ? { content } : {}) };
            return {
                target: { name: "main", host: r.host.address, port: PORT, user: "admin", hostKey: r.hostKey },
                privateKey: deploy.private,
                layer: "system",
                files: { [FIREWALL_FILE]: spec },
                secretFiles: {},
                unitDirs: ["/etc/systemd/system/"],
                podmanSecrets: {},
                directories: {},
                images: [],
                waitForCloudInit: false,
            };
        };
        const invocation = () => rootSh(r.host, "systemctl show -p InvocationID --value senex-firewall.service");
        let state: HostFilesInputs;

        beforeAll(async () => {
            // The system layer's first apply: the bootstrap already wrote the same file, nothing changes.
            state = systemLayer(config);
            await hostFilesProvider.create!(state);
        });

        it("a valid change is reloaded, never restarted: same InvocationID, the new rules in place, the table never missing", async () => {
            const changed = systemLayer(existingConfig(r.host, ["0.0.0.0/0", "2001:db8:11::/48"]));
            expect(changed.files[FIREWALL_FILE]!.content).not.toBe(state.files[FIREWALL_FILE]!.content);
            const before = await invocation();
            expect(before).toMatch(/^[0-9a-f]{32}$/);
            // A tight loop on the host lists the table for the whole apply and reports any miss.
            const watcher = r.host.exec(["sh", "-c", "n=0; miss=0; while [ ! -e /run/senex-fw-stop ]; do n=$((n+1)); nft list table inet senex >/dev/null 2>&1 || miss=$((miss+1)); done; echo \"$n $miss\""], { timeoutMs: 300_000 });
            await new Promise((res) => setTimeout(res, 300));
            await hostFilesProvider.update!("main:system", state, changed);
            await rootSh(r.host, "touch /run/senex-fw-stop");
            const [polls, misses] = (await watcher).stdout.trim().split(" ").map(Number);
            await rootSh(r.host, "rm -f /run/senex-fw-stop");
            expect({ misses, polled: polls! > 10 }).toEqual({ misses: 0, polled: true });
            expect(await invocation()).toBe(before);
            expect(await rootSh(r.host, "systemctl is-active senex-firewall.service")).toBe("active");
            const table = await rootSh(r.host, "nft list table inet senex");
            expect(table).toMatch(/ip6 saddr \{? ?2001:db8:11::\/48 \}? ?tcp dport 2222 accept/);
            expect(table).not.toMatch(/::\/0/);
            expect(await rootSh(r.host, "journalctl -u senex-firewall.service --no-pager -o cat | grep -c '^Reloaded ' || true")).not.toBe("0");
            state = changed;
        });

        it("a ruleset nft rejects fails the apply naming nft's complaint; the old file and table stay", async () => {
            const good = state.files[FIREWALL_FILE]!.content;
            const broken = systemLayer(existingConfig(r.host, ["0.0.0.0/0", "2001:db8:11::/48"]), good.replace("policy drop;", "policy dorp;"));
            const tableBefore = await rootSh(r.host, "nft list table inet senex");
            const before = await invocation();
            const error = await hostFilesProvider.update!("main:system", state, broken).then(
                () => "applied",
                (e: Error) => e.message,
            );
            expect(error).toMatch(/firewall\.nft/);
            expect(error).toMatch(/dorp/);
            expect(await rootSh(r.host, "nft list table inet senex")).toBe(tableBefore);
            expect(await rootSh(r.host, `cat ${FIREWALL_FILE}`)).toBe(good.trimEnd());
            expect(await invocation()).toBe(before);
            expect(await rootSh(r.host, "systemctl is-active senex-firewall.service")).toBe("active");
            // still reachable through the firewall that stayed
            expect(await adminSudo(r.host, r.hostKey, PORT)).toBe("0");
        });
    });
});
