// Plan time of the phase-3 production stack as webCount and workerCount grow from 2 to 50.
// Goal: under 1.5 s for the production stack, and linear growth. Run: bash bench/run.sh plan
// (runs the compiled JavaScript in bin/, as scripts/plan.sh does)
import * as path from "path";
import { runOffline } from "../plan/mockEngine";
import { projectRoot, rawConfigFromStackFile } from "../plan/stackFile";

async function timeRun(n: number): Promise<{ ms: number; resources: number }> {
    const raw = rawConfigFromStackFile(path.join(projectRoot(), "Pulumi.production.yaml"));
    const values = { ...raw.values, "senex-infra:webCount": String(n), "senex-infra:workerCount": String(n) };
    const t0 = process.hrtime.bigint();
    const run = await runOffline({ values, secretKeys: raw.secretKeys }, `bench-${n}`);
    return { ms: Number(process.hrtime.bigint() - t0) / 1e6, resources: run.resources.length };
}

async function main() {
    await timeRun(2); // warm-up: module loading is timed by the whole-plan runs in bench/run.sh
    const rows: Array<{ n: number; ms: number; resources: number }> = [];
    for (const n of [2, 5, 10, 20, 30, 40, 50]) rows.push({ n, ...(await timeRun(n)) });
    console.log("webCount=workerCount  resources  ms     ms/resource");
    for (const r of rows) console.log(`${String(r.n).padStart(19)}  ${String(r.resources).padStart(9)}  ${r.ms.toFixed(0).padStart(5)}  ${(r.ms / r.resources).toFixed(2)}`);
    const first = rows[0];
    const last = rows[rows.length - 1];
    // Linear growth: time per resource at 50 within 2x of time per resource at 2.
    const ratio = last.ms / last.resources / (first.ms / first.resources);
    console.log(`per-resource cost ratio (n=50 vs n=2, anchor n=2): ${ratio.toFixed(2)} (goal <= 2: linear)`);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
