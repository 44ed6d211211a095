/**
 * The real Pulumi CLI and engine (built from Go modules by scripts/engine-build.sh) running a small
 * program with dynamic resources of our own, plain and secret config, on a `file://` backend:
 * stack init → up → preview (no changes) → secret rotation → refresh with drift → destroy.
 *
 * The steps share one stack and run in order. @pulumi/command, random and tls resources are not
 * in the fixture: their plugins cannot be built from the Go module proxy here (see
 * scripts/engine-build.sh and the MISSING file in the engine's cache folder).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { PulumiCli, engineBinDir, type ExportedResource, type StackExport, type UpdateSummary } from "./cli";

const fixture = path.join(__dirname, "fixtures", "atomic-file");
const project = "senex-engine-fixture";
const stack = "engine";
const fileType = "pulumi-nodejs:dynamic/senex:AtomicFile";
// Random per run, so a match anywhere can only come from this run's values.
const firstToken = `first-${crypto.randomBytes(12).toString("hex")}`;
const secondToken = `second-${crypto.randomBytes(12).toString("hex")}`;
// What the engine writes in place of a secret value (sig.Secret in the state format).
const secretSig = "4dabf18193072939515e22adb298388d";

jest.setTimeout(300_000);

let tempRoot: string;
let outputDir: string;
let cli: PulumiCli;

const greetingPath = (): string => path.join(outputDir, "greeting.txt");
const credentialsPath = (): string => path.join(outputDir, "credentials.env");
const sha256 = (text: string): string => crypto.createHash("sha256").update(text, "utf8").digest("hex");

function resourcesOf(exported: StackExport): ExportedResource[] {
  return (exported.deployment.resources ?? []).filter((r) => r.type === fileType);
}

function byName(exported: StackExport, name: string): ExportedResource {
  const found = resourcesOf(exported).find((r) => r.urn.endsWith(`::${name}`));
  if (!found) throw new Error(`no ${fileType} named ${name} in state: ${exported.deployment.resources?.map((r) => r.urn).join(", ")}`);
  return found;
}

async function lastUpdate(): Promise<UpdateSummary> {
  // `stack history` lists the newest update first.
  const [latest] = await cli.history(stack);
  return latest;
}

/** A secret as `stack export --show-secrets` prints it: the value JSON-encoded in `plaintext`. */
function revealed(value: unknown): unknown {
  const secret = value as { [secretSig]?: string; plaintext?: string } | undefined;
  if (secret?.[secretSig] === undefined || typeof secret.plaintext !== "string") {
    throw new Error(`not a revealed secret: ${JSON.stringify(value)}`);
  }
  return JSON.parse(secret.plaintext);
}

/** Every file below `dir`, as text (gzip-decompressed where the backend compressed it). */
function readTree(dir: string): { file: string; text: string }[] {
  const found: { file: string; text: string }[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const raw = fs.readFileSync(file);
    const text = file.endsWith(".gz") ? zlib.gunzipSync(raw).toString("utf8") : raw.toString("utf8");
    found.push({ file, text });
  }
  return found;
}

beforeAll(() => {
  tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), "senex-engine-"));
  const workDir = path.join(tempRoot, "project");
  outputDir = path.join(tempRoot, "files");
  fs.mkdirSync(workDir);
  // The project file is copied so Pulumi.<stack>.yaml lands in the temp dir, not in the repo;
  // the program itself stays in the repo, where it resolves /work/…/node_modules.
  fs.copyFileSync(path.join(fixture, "Pulumi.yaml"), path.join(workDir, "Pulumi.yaml"));
  cli = PulumiCli.inTempDir({
    binDir: engineBinDir(),
    workDir,
    entry: path.join(fixture, "index.ts"),
    passphrase: "engine-tier-test-passphrase",
    tempRoot,
  });
});

afterAll(async () => {
  if (!tempRoot) return;
  // A failed step may leave resources behind: they are files under tempRoot, removed with it.
  fs.rmSync(tempRoot, { recursive: true, force: true });
});

describe("the real Pulumi CLI with a file backend", () => {
  it("reports the version it was built as", async () => {
    const result = await cli.run(["version"]);
    expect(result.stdout.trim()).toMatch(/^v3\.\d+\.\d+$/);
  });

  it("initialises a stack and stores the secret config value encrypted in the stack file", async () => {
    await cli.stackInit(stack);
    await cli.configSet(stack, "outputDir", outputDir);
    await cli.configSet(stack, "greeting", "hello from the engine tier");
    await cli.configSet(stack, "token", firstToken, { secret: true });

    const stackFile = fs.readFileSync(path.join(cli.options.workDir, `Pulumi.${stack}.yaml`), "utf8");
    expect(stackFile).toMatch(new RegExp(`${project}:token:\\s*\\n\\s*secure: v1:`));
    expect(stackFile).toContain(`${project}:greeting: hello from the engine tier`);
    expect(stackFile).not.toContain(firstToken);
  });

  it("creates both files on the first up, with their content and modes", async () => {
    await cli.up(stack);

    expect(fs.readFileSync(greetingPath(), "utf8")).toBe("hello from the engine tier\n");
    expect(fs.readFileSync(credentialsPath(), "utf8")).toBe(`TOKEN=${firstToken}\n`);
    expect(fs.statSync(credentialsPath()).mode & 0o777).toBe(0o600);
    expect(fs.statSync(greetingPath()).mode & 0o777).toBe(0o644);
    // Atomic writes leave no temp files behind.
    expect(fs.readdirSync(outputDir).sort()).toEqual(["credentials.env", "greeting.txt"]);

    const update = await lastUpdate();
    expect(update).toMatchObject({ kind: "update", result: "succeeded" });
    // The stack itself plus two files.
    expect(update.resourceChanges).toEqual({ create: 3 });

    const outputs = await cli.outputs(stack);
    expect(outputs).toMatchObject({ greetingPath: greetingPath(), credentialsPath: credentialsPath(), credentialsMode: 0o600 });
  });

  it("previews no changes right after the up", async () => {
    const result = await cli.preview(stack, ["--expect-no-changes"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/3 unchanged/);
  });

  it("propagates a new secret value to the file that uses it, and only to that file", async () => {
    const greetingBefore = fs.statSync(greetingPath());
    await cli.configSet(stack, "token", secondToken, { secret: true });

    // The same preview flag fails now: it really detects changes.
    const preview = await cli.preview(stack, ["--expect-no-changes", "--diff"], { allowFailure: true });
    expect(preview.exitCode).not.toBe(0);
    expect(preview.stdout).toMatch(/~ pulumi-nodejs:dynamic\/senex:AtomicFile: \(update\)\s+\[id=[^\]]*credentials\.env\]/);
    expect(preview.stdout).toMatch(/content\s*: \[secret\]/);
    expect(preview.stdout).toMatch(/~ 1 to update\s+2 unchanged/);

    await cli.up(stack);
    expect(fs.readFileSync(credentialsPath(), "utf8")).toBe(`TOKEN=${secondToken}\n`);
    expect(fs.statSync(credentialsPath()).mode & 0o777).toBe(0o600);
    // The dynamic provider's diff kept the unchanged file untouched (same inode, same mtime).
    const greetingAfter = fs.statSync(greetingPath());
    expect([greetingAfter.ino, greetingAfter.mtimeMs]).toEqual([greetingBefore.ino, greetingBefore.mtimeMs]);
    expect((await lastUpdate()).resourceChanges).toEqual({ update: 1, same: 2 });
  });

  it("keeps the secret as ciphertext in the state: stack export and the raw backend files", async () => {
    const exported = await cli.stackExport(stack);
    const credentials = byName(exported, "credentials");
    // The input carrying the secret and the output derived from it are both encrypted.
    expect(credentials.inputs?.content).toEqual({ [secretSig]: "1b47061264138c4ac30d75fd1eb44270", ciphertext: expect.any(String) });
    expect(credentials.outputs?.sha256).toEqual({ [secretSig]: "1b47061264138c4ac30d75fd1eb44270", ciphertext: expect.any(String) });
    expect(credentials.outputs).not.toHaveProperty("content");
    expect(JSON.stringify(exported)).not.toContain(secondToken);

    const stateFiles = readTree(cli.options.backendDir);
    expect(stateFiles.some((f) => f.file.endsWith(path.join(".pulumi", "stacks", project, `${stack}.json`)))).toBe(true);
    for (const { file, text } of stateFiles) {
      expect({ file, hasFirst: text.includes(firstToken), hasSecond: text.includes(secondToken) }).toEqual({ file, hasFirst: false, hasSecond: false });
    }

    // Control: with the passphrase the engine decrypts the very value we searched for, so the
    // searches above looked at the right state.
    const decrypted = await cli.stackExport(stack, { showSecrets: true });
    expect(revealed(byName(decrypted, "credentials").inputs?.content)).toBe(`TOKEN=${secondToken}\n`);
    expect(revealed(byName(decrypted, "credentials").outputs?.sha256)).toBe(sha256(`TOKEN=${secondToken}\n`));
  });

  it("records drift on refresh (a changed file, a removed file) and the next up repairs it", async () => {
    fs.writeFileSync(greetingPath(), "changed behind Pulumi's back\n");
    fs.rmSync(credentialsPath());

    await cli.refresh(stack);
    const refresh = await lastUpdate();
    expect(refresh).toMatchObject({ kind: "refresh", result: "succeeded" });
    expect(refresh.resourceChanges).toMatchObject({ update: 1, delete: 1 });

    const refreshed = await cli.stackExport(stack, { showSecrets: true });
    expect(revealed(byName(refreshed, "greeting").outputs?.sha256)).toBe(sha256("changed behind Pulumi's back\n"));
    expect(resourcesOf(refreshed).map((r) => r.urn.split("::").pop())).toEqual(["greeting"]);

    await cli.up(stack);
    expect(fs.readFileSync(greetingPath(), "utf8")).toBe("hello from the engine tier\n");
    expect(fs.readFileSync(credentialsPath(), "utf8")).toBe(`TOKEN=${secondToken}\n`);
    expect((await lastUpdate()).resourceChanges).toMatchObject({ update: 1, create: 1 });
    expect((await cli.preview(stack, ["--expect-no-changes"])).exitCode).toBe(0);
  });

  it("destroys every resource and removes the files", async () => {
    await cli.destroy(stack);
    expect(fs.existsSync(greetingPath())).toBe(false);
    expect(fs.existsSync(credentialsPath())).toBe(false);
    expect(fs.readdirSync(outputDir)).toEqual([]);
    expect((await cli.stackExport(stack)).deployment.resources ?? []).toEqual([]);
    expect(await lastUpdate()).toMatchObject({ kind: "destroy", result: "succeeded", resourceChanges: { delete: 3 } });
  });

  it("never printed or logged either secret value, and left none in the CLI's home or project files", () => {
    expect(cli.transcript.length).toBeGreaterThan(10);
    const output = cli.allOutput();
    expect([output.includes(firstToken), output.includes(secondToken)]).toEqual([false, false]);
    for (const { file, text } of [...readTree(cli.options.pulumiHome), ...readTree(cli.options.workDir), ...readTree(cli.options.backendDir)]) {
      expect({ file, hasFirst: text.includes(firstToken), hasSecond: text.includes(secondToken) }).toEqual({ file, hasFirst: false, hasSecond: false });
    }
  });
});
