/**
 * #13.2: the GitHub Actions workflows pass actionlint (pinned, built by test/unit/prepare.sh, with
 * shellcheck on the `run:` scripts), and the Pulumi workflow does what the README promises:
 * previews with a PR comment, `up` on merge for staging only, production behind its environment.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";

jest.setTimeout(600_000);

const root = path.resolve(__dirname, "../..");
const workflowsDir = path.join(root, ".github/workflows");
const pulumiWorkflow = path.join(workflowsDir, "pulumi.yml");
let actionlint: string;
let shellcheck: string;

beforeAll(() => {
    // Idempotent and cached (instant when warm): `npm run test:unit` works without scripts/test-all.sh.
    const out = execFileSync("bash", [path.join(root, "test/unit/prepare.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    actionlint = out.trim().split("\n").pop()!;
    shellcheck = execFileSync("sh", ["-c", "command -v shellcheck"], { encoding: "utf8" }).trim();
});

/** actionlint on the given files, run from `cwd` (its project root is the nearest .github). */
function lint(files: string[], cwd: string): { code: number | null; output: string } {
    const r = spawnSync(actionlint, ["-no-color", `-shellcheck=${shellcheck}`, "-pyflakes=", ...files], { cwd, encoding: "utf8" });
    return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** A copy of the workflows folder in a temp project, with `edit` applied to pulumi.yml. */
function brokenCopy(edit: (text: string) => string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "senex-workflows-"));
    fs.mkdirSync(path.join(dir, ".github/workflows"), { recursive: true });
    const text = fs.readFileSync(pulumiWorkflow, "utf8");
    const edited = edit(text);
    expect(edited).not.toBe(text);
    fs.writeFileSync(path.join(dir, ".github/workflows/pulumi.yml"), edited);
    return dir;
}

describe("workflows under actionlint", () => {
    it("every workflow passes", () => {
        const files = fs.readdirSync(workflowsDir).filter((f) => /\.ya?ml$/.test(f));
        expect(files).toContain("pulumi.yml");
        const r = lint(files.map((f) => path.join(".github/workflows", f)), root);
        expect(r).toEqual({ code: 0, output: "" });
    });

    it.each<[string, (t: string) => string, RegExp]>([
        ["a misspelled input of pulumi/actions", (t) => t.replace("comment-on-pr: true", "coment-on-pr: true"), /input "coment-on-pr" is not defined in action "pulumi\/actions@v6"/],
        ["a job needing one that does not exist", (t) => t.replace("needs: up-staging", "needs: up-stagin"), /job "up-production" needs job "up-stagin" which does not exist/],
        ["an unquoted variable in a run script (shellcheck)", (t) => t.replace('"$BASE_SHA"...HEAD', "$BASE_SHA...HEAD"), /shellcheck reported issue in this script: SC2086/],
    ])("fails on a broken copy: %s", (_case, edit, message) => {
        const dir = brokenCopy(edit);
        try {
            const r = lint([".github/workflows/pulumi.yml"], dir);
            expect(r.code).toBe(1);
            expect(r.output).toMatch(message);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("the Pulumi workflow", () => {
    type Step = { uses?: string; with?: Record<string, unknown> };
    type Job = { if?: string; needs?: string | string[]; environment?: string; steps: Step[] };
    const wf = parse(fs.readFileSync(pulumiWorkflow, "utf8")) as { on: Record<string, unknown>; jobs: Record<string, Job> };
    const pulumiStep = (job: Job) => job.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;

    it("uses pulumi/actions pinned by a version tag, the CLI at the SDK's version", () => {
        const sdk = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies["@pulumi/pulumi"];
        for (const job of Object.values(wf.jobs).filter((j) => pulumiStep(j))) {
            expect(pulumiStep(job).uses).toMatch(/^pulumi\/actions@v\d+(\.\d+)*$/);
            expect(String(pulumiStep(job).with!["pulumi-version"])).toBe(sdk);
        }
    });

    it("previews each affected stack on pull requests, commenting on the PR", () => {
        expect(Object.keys(wf.on)).toEqual(expect.arrayContaining(["pull_request", "push"]));
        const preview = pulumiStep(wf.jobs.preview).with!;
        expect(preview).toMatchObject({ command: "preview", "stack-name": "${{ matrix.stack }}", "comment-on-pr": true });
        expect(wf.jobs.stacks.if).toBe("github.event_name == 'pull_request'");
    });

    it("on merge: up for staging at once, production only after staging and its environment's approval", () => {
        const ups = Object.entries(wf.jobs).filter(([, j]) => pulumiStep(j)?.with?.command === "up");
        expect(ups.map(([, j]) => pulumiStep(j).with!["stack-name"]).sort()).toEqual(["production", "staging"]);
        expect(wf.jobs["up-staging"]).toMatchObject({ if: "github.event_name == 'push'", environment: "staging" });
        expect(wf.jobs["up-production"]).toMatchObject({ needs: "up-staging", environment: "production" });
    });
});
