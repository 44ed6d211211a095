/**
 * Drives the real Pulumi CLI (built by scripts/engine-build.sh) with argv arrays against a local
 * `file://` backend, and captures everything it prints so tests can assert on it — including that
 * no secret ever appears in it.
 *
 * Programs run through test/engine/program-host.ts (the Node SDK's own language server, attached
 * with `--client`), because the Node.js language host cannot be built here; see that file.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const repoRoot = path.resolve(__dirname, "../..");

/** Where the CLI keeps everything of one test's stacks. */
export interface PulumiCliOptions {
  /** Folder with `pulumi` and the plugins (the last line of scripts/engine-build.sh). */
  binDir: string;
  /** Project directory (holds Pulumi.yaml); the CLI runs here and writes Pulumi.<stack>.yaml here. */
  workDir: string;
  /** The program's entry module, served to the CLI for preview/up/refresh/destroy. */
  entry: string;
  /** Directory of the `file://` state backend. */
  backendDir: string;
  /** PULUMI_HOME: plugins, credentials and logs of this CLI, kept out of the user's ~/.pulumi. */
  pulumiHome: string;
  /** Passphrase of the stack's secrets provider. */
  passphrase: string;
  /** Extra environment for the CLI (and so for its plugins). */
  env?: Readonly<Record<string, string>>;
}

/** One CLI invocation, as it happened. */
export interface CliResult {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** What the program host printed (the program's own console output and errors). */
  readonly hostOutput: string;
  readonly durationMs: number;
  /** The caller asked for plaintext secrets (`--show-secrets`): excluded from leak checks. */
  readonly revealsSecrets: boolean;
}

export interface RunOptions {
  /** Written to the CLI's stdin, then closed (how secret values reach `config set`). */
  stdin?: string;
  /** Attach the program (preview, up, refresh, destroy). */
  program?: boolean;
  /** Resolve instead of throwing when the CLI exits non-zero. */
  allowFailure?: boolean;
  /** Kill the CLI after this long (default 180 s). */
  timeoutMs?: number;
}

/** `pulumi stack export` (deployment version 3), the fields the tests read. */
export interface StackExport {
  version: number;
  deployment: {
    secrets_providers?: { type: string; state?: Record<string, unknown> };
    resources?: ExportedResource[];
  };
}

export interface ExportedResource {
  urn: string;
  type: string;
  id?: string;
  custom?: boolean;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  additionalSecretOutputs?: string[];
}

/** One entry of `pulumi stack history --json`. */
export interface UpdateSummary {
  kind: string;
  result: string;
  resourceChanges?: Partial<Record<"create" | "update" | "delete" | "same" | "replace", number>>;
}

/**
 * Returns the engine's bin folder (`SENEX_ENGINE_BIN`, or the current cache of
 * scripts/engine-build.sh). Never builds: a cold build takes minutes, test/engine/prepare.sh does it.
 */
export function engineBinDir(): string {
  const fromEnv = process.env.SENEX_ENGINE_BIN;
  if (fromEnv) return fromEnv;
  const built = spawnSync("bash", [path.join(repoRoot, "scripts/engine-build.sh"), "--check"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (built.status !== 0) throw new Error(`the Pulumi engine is not built (run npm run engine:build):\n${built.stderr}`);
  const lines = built.stdout.trim().split("\n");
  return lines[lines.length - 1];
}

export class PulumiCli {
  /** Every invocation so far, in order. */
  readonly transcript: CliResult[] = [];

  constructor(readonly options: PulumiCliOptions) {}

  /** Creates the backend and home folders under a fresh temp root and returns a CLI bound to them. */
  static inTempDir(opts: Pick<PulumiCliOptions, "binDir" | "workDir" | "entry" | "passphrase" | "env"> & { tempRoot: string }): PulumiCli {
    const backendDir = path.join(opts.tempRoot, "backend");
    const pulumiHome = path.join(opts.tempRoot, "pulumi-home");
    fs.mkdirSync(backendDir, { recursive: true });
    fs.mkdirSync(pulumiHome, { recursive: true });
    return new PulumiCli({ ...opts, backendDir, pulumiHome });
  }

  /** Environment of every CLI run: local backend, no plugin downloads, no update check. */
  environment(): NodeJS.ProcessEnv {
    const nodeBin = path.dirname(process.execPath);
    return {
      PATH: [this.options.binDir, nodeBin, process.env.PATH ?? ""].join(path.delimiter),
      HOME: process.env.HOME ?? os.homedir(),
      PULUMI_HOME: this.options.pulumiHome,
      PULUMI_BACKEND_URL: `file://${this.options.backendDir}`,
      PULUMI_CONFIG_PASSPHRASE: this.options.passphrase,
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_SKIP_CONFIRMATIONS: "true",
      // The dynamic-provider shim resolves the SDK from its working directory or NODE_PATH.
      NODE_PATH: path.join(repoRoot, "node_modules"),
      TS_NODE_PROJECT: path.join(repoRoot, "tsconfig.json"),
      ...this.options.env,
    };
  }

  /** Runs `pulumi <argv…>`; throws (with the output) when it fails unless `allowFailure`. */
  async run(argv: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
    const env = this.environment();
    const host = opts.program ? await startProgramHost(this.options.entry, this.options.workDir, env) : undefined;
    const fullArgv = [...argv, "--non-interactive", "--color", "never"];
    if (host) fullArgv.push(`--client=${host.address}`, "--exec-kind", "auto.inline");
    const started = Date.now();
    try {
      const { exitCode, stdout, stderr } = await runProcess(path.join(this.options.binDir, "pulumi"), fullArgv, {
        cwd: this.options.workDir,
        env,
        stdin: opts.stdin,
        timeoutMs: opts.timeoutMs ?? 180_000,
      });
      const hostOutput = host ? await host.stop() : "";
      const result: CliResult = {
        argv: fullArgv,
        exitCode,
        stdout,
        stderr,
        hostOutput,
        durationMs: Date.now() - started,
        revealsSecrets: fullArgv.includes("--show-secrets"),
      };
      this.transcript.push(result);
      if (exitCode !== 0 && !opts.allowFailure) {
        throw new Error(`pulumi ${argv.join(" ")} exited ${exitCode}\n--- stdout\n${stdout}\n--- stderr\n${stderr}\n--- program host\n${hostOutput}`);
      }
      return result;
    } finally {
      if (host) await host.stop();
    }
  }

  stackInit(stack: string): Promise<CliResult> {
    return this.run(["stack", "init", stack, "--secrets-provider", "passphrase"]);
  }

  /** Sets a config value; the value travels on stdin, never in argv. */
  configSet(stack: string, key: string, value: string, { secret = false } = {}): Promise<CliResult> {
    return this.run(["config", "set", key, ...(secret ? ["--secret"] : ["--plaintext"]), "--stack", stack], { stdin: value });
  }

  up(stack: string, extra: readonly string[] = [], opts: Pick<RunOptions, "allowFailure" | "timeoutMs"> = {}): Promise<CliResult> {
    return this.run(["up", "--yes", "--skip-preview", "--stack", stack, ...extra], { program: true, ...opts });
  }

  preview(stack: string, extra: readonly string[] = [], opts: Pick<RunOptions, "allowFailure" | "timeoutMs"> = {}): Promise<CliResult> {
    return this.run(["preview", "--stack", stack, ...extra], { program: true, ...opts });
  }

  refresh(stack: string, extra: readonly string[] = [], opts: Pick<RunOptions, "allowFailure" | "timeoutMs"> = {}): Promise<CliResult> {
    return this.run(["refresh", "--yes", "--skip-preview", "--stack", stack, ...extra], { program: true, ...opts });
  }

  destroy(stack: string, extra: readonly string[] = [], opts: Pick<RunOptions, "allowFailure" | "timeoutMs"> = {}): Promise<CliResult> {
    return this.run(["destroy", "--yes", "--skip-preview", "--stack", stack, ...extra], { program: true, ...opts });
  }

  async stackExport(stack: string, { showSecrets = false } = {}): Promise<StackExport> {
    const result = await this.run(["stack", "export", "--stack", stack, ...(showSecrets ? ["--show-secrets"] : [])]);
    return JSON.parse(result.stdout) as StackExport;
  }

  async history(stack: string): Promise<UpdateSummary[]> {
    const result = await this.run(["stack", "history", "--json", "--stack", stack]);
    return JSON.parse(result.stdout) as UpdateSummary[];
  }

  async outputs(stack: string): Promise<Record<string, unknown>> {
    const result = await this.run(["stack", "output", "--json", "--stack", stack]);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  }

  /** Everything every invocation printed, host output included, for leak checks (except the
   *  invocations that asked for plaintext secrets). */
  allOutput(): string {
    return this.transcript.filter((r) => !r.revealsSecrets).map((r) => `${r.stdout}\n${r.stderr}\n${r.hostOutput}`).join("\n");
  }
}

interface ProgramHost {
  readonly address: string;
  /** Stops the host (idempotent) and returns what it printed. */
  stop(): Promise<string>;
}

/** Starts test/engine/program-host.ts for one CLI operation; resolves once it listens. */
async function startProgramHost(entry: string, cwd: string, env: NodeJS.ProcessEnv): Promise<ProgramHost> {
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "program-host.ts"), entry], {
    cwd,
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  let stopped: Promise<string> | undefined;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`program host did not start in 60 s:\n${output}`));
    }, 60_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      const match = /^listening (\S+)$/m.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`program host exited ${code} before listening:\n${output}`));
    });
  });
  return {
    address,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        await exited;
        return output;
      })();
      return stopped;
    },
  };
}

/** Runs a process to completion with a hard timeout, capturing both streams. */
function runProcess(
  file: string,
  argv: readonly string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; stdin?: string; timeoutMs: number },
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // Its own process group: a timeout ends the CLI and every plugin it started (a plugin left
    // behind would hold the output pipes open, and nothing would ever resolve).
    const child = spawn(file, argv, { cwd: opts.cwd, env: opts.env, stdio: ["pipe", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
      reject(new Error(`pulumi ${argv.join(" ")} timed out after ${opts.timeoutMs} ms\n${stdout}\n${stderr}`));
    }, opts.timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ exitCode: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? "");
  });
}
