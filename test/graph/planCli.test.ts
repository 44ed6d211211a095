/**
 * The offline plan as users run it: a separate process, output through a pipe. `--json` is parsed
 * whole (larger than a pipe buffer); bad config exits 2 with one line per problem on stderr and
 * nothing else.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

jest.setTimeout(120_000);

const root = path.resolve(__dirname, "../..");
const plan = (...args: string[]) =>
    spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "plan/cli.ts", ...args], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20, env: { ...process.env, TS_NODE_PROJECT: path.join(root, "tsconfig.json") } });

describe("plan CLI", () => {
    it("--json prints the whole plan: resources, hosts with files, cost", () => {
        const r = plan("--stack", "production", "--json");
        expect(r.status).toBe(0);
        expect(r.stdout.length).toBeGreaterThan(65536);
        const p = JSON.parse(r.stdout);
        expect(p.hosts.map((h: { name: string }) => h.name)).toContain("db-1");
        expect(p.hosts.find((h: { name: string }) => h.name === "db-1").files.some((f: { path: string }) => f.path.endsWith("postgresql.conf"))).toBe(true);
        expect(p.resources.length).toBeGreaterThan(50);
        expect(p.cost.totalMonthlyUsd).toBeGreaterThan(0);
        expect(p.cost.totalMonthlyUsd).toBeLessThan(350); // the seeds' phase-3 budget
        expect(p.cost.source.retrieved).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        expect(r.stdout).not.toContain("redacted-stand-in-for-an-encrypted-value");
    });

    it("bad config: exit 2, the problems on stderr, nothing on stdout", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "senex-plan-"));
        const file = path.join(dir, "Pulumi.bad.yaml");
        fs.writeFileSync(file, "config:\n  senex-infra:cloud: hetzner\n  senex-infra:phase: 3\n  senex-infra:webCount: 1\n  senex-infra:domian: x.com\n  hcloud:token: abc\n");
        const r = plan("--stack-file", file);
        expect(r.status).toBe(2);
        expect(r.stdout).toBe("");
        const lines = r.stderr.trim().split("\n");
        expect(lines.every((l) => l.startsWith("senex-infra:"))).toBe(true);
        expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^senex-infra:domian: unknown key\. Did you mean `domain`\?/), expect.stringMatching(/^senex-infra:webCount: phase 3/)]));
        fs.rmSync(dir, { recursive: true, force: true });
    });
});
