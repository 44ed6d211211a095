import fc from "fast-check";
import { sha256 } from "../../../providers/common";
import { hostBootstrapProvider, type HostBootstrapInputs } from "../../../providers/bootstrap";
import { FileSpec, HOST_FILES_SECRET_OUTPUTS, hostFilesProvider, HostFilesInputs, planChanges, planSecrets, unitsToReload, unitsToRestart } from "../../../providers/hostFiles";

const f = (content: string, restarts: string[] = []): FileSpec => ({ content, mode: "0644", owner: "root", restarts });
const spec = (files: Record<string, FileSpec>, secretFiles: Record<string, FileSpec> = {}): HostFilesInputs => ({
    target: { name: "h", host: "10.0.1.10", port: 22, user: "admin", hostKey: "ssh-ed25519 AAAA" },
    privateKey: "k",
    layer: "user",
    files,
    secretFiles,
    unitDirs: ["/home/senex/.config/containers/systemd/"],
    podmanSecrets: {},
    directories: {},
    images: [],
    waitForCloudInit: false,
});

describe("HostFiles diff logic (no SSH)", () => {
    it.each([
        ["nothing changed", { "/a": f("1") }, { "/a": f("1") }, { write: [], remove: [] }],
        ["content changed", { "/a": f("1") }, { "/a": f("2") }, { write: ["/a"], remove: [] }],
        ["mode changed", { "/a": f("1") }, { "/a": { ...f("1"), mode: "0600" } }, { write: ["/a"], remove: [] }],
        ["file added", {}, { "/b": f("1") }, { write: ["/b"], remove: [] }],
        ["file removed", { "/a": f("1") }, {}, { write: [], remove: ["/a"] }],
    ])("%s", (_t, before, after, expected) => {
        expect(planChanges(spec(before), spec(after))).toEqual(expected);
    });

    it("restarts exactly the units of changed files, each once, in listed order", () => {
        const s = spec({ "/env": f("x", ["postgres.service", "pgbouncer.service"]), "/nginx.conf": f("y", ["nginx.service"]), "/pg.conf": f("z", ["postgres.service"]) });
        expect(unitsToRestart(s, ["/env", "/pg.conf"])).toEqual(["postgres.service", "pgbouncer.service"]);
        expect(unitsToRestart(s, ["/nginx.conf"])).toEqual(["nginx.service"]);
        expect(unitsToRestart(s, [])).toEqual([]);
    });

    it("reloads (never restarts) the units of changed files that ask for a reload (#11.7: the firewall)", () => {
        const s = spec({ "/fw.nft": { ...f("x"), reloads: ["senex-firewall.service"] }, "/env": f("y", ["app.service"]), "/both": { ...f("z", ["app.service"]), reloads: ["app.service"] } });
        expect(unitsToReload(s, ["/fw.nft", "/env"])).toEqual(["senex-firewall.service"]);
        expect(unitsToRestart(s, ["/fw.nft"])).toEqual([]);
        // a unit restarted anyway is not reloaded as well
        expect(unitsToReload(s, ["/both"])).toEqual([]);
        expect(unitsToReload(s, [])).toEqual([]);
    });

    it("property: applying the plan to the old file set yields the new one", () => {
        const files = fc.dictionary(fc.constantFrom("/a", "/b", "/c", "/d"), fc.string().map((c) => f(c)));
        fc.assert(
            fc.property(files, files, (before, after) => {
                const { write, remove } = planChanges(spec(before), spec(after));
                const result: Record<string, FileSpec> = { ...before };
                for (const p of remove) delete result[p];
                for (const p of write) result[p] = after[p];
                expect(result).toEqual(after);
            }),
        );
    });

    it("diff: an address change is an update, not a replacement (#11.5; more in endpoint.test.ts)", async () => {
        const a = spec({ "/a": f("1") });
        expect(await hostFilesProvider.diff!("h:user", a, { ...a, target: { ...a.target, host: "10.0.1.11" } })).toMatchObject({ changes: true, replaces: [], deleteBeforeReplace: false });
        expect(await hostFilesProvider.diff!("h:user", a, spec({ "/a": f("2") }))).toMatchObject({ changes: true, replaces: [] });
        expect(await hostFilesProvider.diff!("h:user", a, { ...a, secretFiles: { "/s": f("pw") } })).toMatchObject({ changes: true, replaces: [] });
    });

    it("a changed container owner rewrites the file; podman secrets are recreated only when their value changes", async () => {
        const a = spec({ "/r.conf": f("1") });
        const owned = spec({ "/r.conf": { ...f("1"), containerOwner: { uid: 999, gid: 999 } } });
        expect(planChanges(a, owned)).toEqual({ write: ["/r.conf"], remove: [] });
        const s1 = { podmanSecrets: { x: { value: "v1" }, y: { value: "w" } } };
        expect(planSecrets(s1, { podmanSecrets: { x: { value: "v2" }, y: { value: "w" }, z: { value: "n" } } })).toEqual({ create: ["x", "z"], remove: [] });
        expect(planSecrets(s1, { podmanSecrets: { x: { value: "v1" } } })).toEqual({ create: [], remove: ["y"] });
        expect(await hostFilesProvider.diff!("h:user", { ...a, ...s1 }, { ...a, ...s1 })).toMatchObject({ changes: false });
        expect(await hostFilesProvider.diff!("h:user", { ...a, ...s1 }, { ...a, podmanSecrets: { ...s1.podmanSecrets, x: { value: "v2" } } })).toMatchObject({ changes: true, replaces: [] });
    });

    it("no output but the secret ones holds a secret file's content or its hash (#11.9)", async () => {
        const secret = "requirepass hunter2-unit-0xBEEF\n";
        const olds = { ...spec({ "/a": f("1") }, { "/s": { ...f(secret), seed: true } }), podmanSecrets: { "senex-x": { value: "hunter2-podman" } }, __provider: "v1" } as HostFilesInputs;
        const news = { ...olds, __provider: "v2" } as HostFilesInputs;
        // Only the provider's code changed: update runs no SSH and returns the outputs the engine stores.
        const { outs } = await hostFilesProvider.update!("h:user", olds, news);
        const plain = Object.entries(outs!).filter(([k]) => !HOST_FILES_SECRET_OUTPUTS.includes(k));
        expect(plain.map(([k]) => k)).toContain("hashes");
        for (const [key, value] of plain) {
            const text = JSON.stringify(value);
            for (const leak of ["hunter2", sha256(secret), sha256("hunter2-podman")]) expect({ key, leaks: text.includes(leak) }).toEqual({ key, leaks: false });
        }
        expect(outs!.hashes).toEqual({ "/a": sha256("1") });
    });

    it("check refuses a changed SSH port on a live host, naming senex-infra:ssh.port and the fix (#11.3); a new host takes any port", async () => {
        const a = spec({ "/a": f("1") });
        const moved = { ...a, target: { ...a.target, port: 2222 } };
        const failures = (await hostFilesProvider.check!(a, moved)).failures ?? [];
        expect(failures.map((x) => x.property)).toEqual(["target.port"]);
        expect(failures[0]!.reason).toMatch(/^`senex-infra:ssh\.port` is 2222, but h was set up with SSH on port 22; .*Fix: `pulumi config set --path 'senex-infra:ssh\.port' 22`/);
        expect((await hostFilesProvider.check!({} as HostFilesInputs, moved)).failures).toEqual([]);
        expect((await hostFilesProvider.check!(moved, moved)).failures).toEqual([]);
        const boot: HostBootstrapInputs = {
            target: { name: "h", host: "10.0.1.10", port: 22, hostKey: "ssh-ed25519 AAAA" },
            firstLogin: { user: "root", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" },
            adminLogin: { user: "admin", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" },
            script: "#!/bin/bash\n",
        };
        const bootMoved = { ...boot, target: { ...boot.target, port: 2222 } };
        expect((await hostBootstrapProvider.check!(boot, bootMoved)).failures?.map((x) => x.property)).toEqual(["target.port"]);
        expect((await hostBootstrapProvider.check!({} as HostBootstrapInputs, bootMoved)).failures).toEqual([]);
    });

    it("check: a file's check must be an argument vector", async () => {
        const a = spec({ "/fw.nft": { ...f("1"), check: [] } });
        expect((await hostFilesProvider.check!(a, a)).failures?.map((x) => x.property)).toEqual(['files["/fw.nft"].check']);
        const ok = spec({ "/fw.nft": { ...f("1"), check: ["nft", "-c", "-f", "/dev/stdin"] } });
        expect((await hostFilesProvider.check!(ok, ok)).failures).toEqual([]);
    });

    it("check: container owners and podman secrets belong to the user layer", async () => {
        const sys = { ...spec({ "/r.conf": { ...f("1"), containerOwner: { uid: 999, gid: 999 } } }), layer: "system" as const, podmanSecrets: { "senex-x": { value: "v" } }, images: ["img"] };
        const r = await hostFilesProvider.check!(sys, { ...sys, target: { ...sys.target, hostKey: "ssh-ed25519 AAAA" } });
        expect(r.failures?.map((x) => x.property).sort()).toEqual(['files["/r.conf"].containerOwner', "images", 'podmanSecrets["senex-x"]']);
    });
});
