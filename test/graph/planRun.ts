/** The offline plan as users run it (a separate process, output through a pipe), on a stack file written for the test. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";

const root = path.resolve(__dirname, "../..");

export function plan(...args: string[]) {
    return spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "plan/cli.ts", ...args], {
        cwd: root,
        encoding: "utf8",
        maxBuffer: 64 << 20,
        env: { ...process.env, TS_NODE_PROJECT: path.join(root, "tsconfig.json") },
    });
}

/** Runs the plan on a stack file holding `config` (YAML: `{secure: ...}` values stay encrypted). */
export function planOf(config: Record<string, unknown>, ...args: string[]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "senex-plan-"));
    try {
        const file = path.join(dir, "Pulumi.test.yaml");
        fs.writeFileSync(file, stringify({ config }));
        return plan("--stack-file", file, ...args);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
