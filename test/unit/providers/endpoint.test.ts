/**
 * Issue #11.5: a changed SSH endpoint (address, port, name, pinned host key) must never replace a
 * host's layers or its bootstrap. A replacement is delete-then-create: on the same machine that
 * stops every unit, deletes every file and podman secret and re-seeds Redis. The hosts tier
 * (test/hosts/hostFiles.test.ts) proves on a real host that the update then touches nothing.
 */
import { hostBootstrapProvider, HostBootstrapState } from "../../../providers/bootstrap";
import { sha256 } from "../../../providers/common";
import { endpointChanged, hostFilesProvider, HostFilesInputs } from "../../../providers/hostFiles";

const files: HostFilesInputs = {
    target: { name: "db-1", host: "10.0.1.10", port: 22, user: "senex", hostKey: "ssh-ed25519 AAAAone" },
    privateKey: "k",
    layer: "user",
    files: { "/home/senex/a.conf": { content: "a\n", mode: "0644", owner: "senex" } },
    secretFiles: { "/home/senex/redis.conf": { content: "requirepass x\n", mode: "0600", owner: "senex", seed: true } },
    unitDirs: [],
    podmanSecrets: { "senex-redis-password": { value: "x" } },
    directories: {},
    images: [],
    waitForCloudInit: false,
};
const script = "#!/bin/bash\ntrue\n";
/** As state holds it after a run (scriptHash stamped). */
const bootstrap: HostBootstrapState = {
    target: { name: "db-1", host: "10.0.1.10", port: 22, hostKey: "ssh-ed25519 AAAAone" },
    firstLogin: { user: "root", privateKey: "k0" },
    adminLogin: { user: "admin", privateKey: "k1" },
    script,
    scriptHash: sha256(script),
    warnings: [],
};

const endpointChanges = [
    ["address", { host: "203.0.113.7" }],
    ["port", { port: 2222 }],
    ["name (a host renamed as the topology grows keeps its machine)", { name: "main" }],
    ["pinned host key (re-keyed, or another machine: the update checks the host)", { hostKey: "ssh-ed25519 AAAAtwo" }],
] as const;

describe("a changed SSH endpoint is an update, never a replacement", () => {
    it.each(endpointChanges)("HostFiles: %s", async (_what, change) => {
        const news = { ...files, target: { ...files.target, ...change } };
        expect(await hostFilesProvider.diff!("db-1:user", files, news)).toMatchObject({ changes: true, replaces: [], deleteBeforeReplace: false });
        expect(endpointChanged(files.target, news.target)).toBe(true);
    });

    it.each(endpointChanges)("HostBootstrap: %s", async (_what, change) => {
        const news = { ...bootstrap, target: { ...bootstrap.target, ...change } };
        const d = await hostBootstrapProvider.diff!("db-1:bootstrap", bootstrap, news);
        expect(d.changes).toBe(true);
        expect(d.replaces ?? []).toEqual([]);
    });

    it("the same endpoint is no change; another login user is an update that does not re-check the host", async () => {
        expect(await hostFilesProvider.diff!("db-1:user", files, { ...files })).toMatchObject({ changes: false, replaces: [] });
        expect((await hostBootstrapProvider.diff!("db-1:bootstrap", bootstrap, { ...bootstrap })).changes).toBe(false);
        const asAdmin = { ...files, target: { ...files.target, user: "admin" } };
        expect(await hostFilesProvider.diff!("db-1:user", files, asAdmin)).toMatchObject({ changes: true, replaces: [] });
        expect(endpointChanged(files.target, asAdmin.target)).toBe(false);
    });

    it("only another layer replaces a HostFiles resource (delete first: the id is reused)", async () => {
        expect(await hostFilesProvider.diff!("db-1:user", files, { ...files, layer: "system" })).toMatchObject({ changes: true, replaces: ["layer"], deleteBeforeReplace: true });
    });
});
