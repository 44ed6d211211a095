/**
 * Serves one Pulumi program to the real CLI over the LanguageRuntime gRPC service of the Node SDK
 * itself (the server the Automation API uses for inline programs), because the Go module proxy
 * refuses the Node.js language host module (see scripts/engine-build.sh). The CLI is told where we
 * listen with `--client=ADDR --exec-kind auto.inline`; everything else (engine, plugins, dynamic
 * providers, state, secrets) is the real thing.
 *
 * Usage: node -r ts-node/register/transpile-only test/engine/program-host.ts <entry-module>
 * Prints exactly one line `listening 127.0.0.1:<port>` on stdout once ready, then serves until
 * stdin closes or SIGTERM/SIGINT arrives. One host serves one CLI operation.
 */
import * as grpc from "@grpc/grpc-js";
import * as path from "path";
import * as langrpc from "@pulumi/pulumi/proto/language_grpc_pb";

/** The export the Node.js language host accepts: a function returning outputs, or the outputs. */
type ProgramExport = (() => unknown) | Record<string, unknown>;

// Not in the SDK's public typings; this is its whole surface we use.
interface LanguageServerModule {
  LanguageServer: new (program: () => Promise<Record<string, unknown> | void>) => grpc.UntypedServiceImplementation & {
    onPulumiExit(hasError: boolean): void;
  };
}

/** Runs the entry module the way the Node.js language host does: call an exported function. */
function programFor(entry: string): () => Promise<Record<string, unknown> | void> {
  return async () => {
    const loaded = require(entry) as ProgramExport & { default?: ProgramExport; __esModule?: boolean };
    const main: ProgramExport = loaded.__esModule && loaded.default !== undefined ? loaded.default : loaded;
    const result = typeof main === "function" ? await main() : main;
    return (result ?? undefined) as Record<string, unknown> | undefined;
  };
}

async function main(argv: readonly string[]): Promise<void> {
  const [entryArg] = argv;
  if (entryArg === undefined) throw new Error("usage: program-host.ts <entry-module>");
  const entry = path.resolve(entryArg);
  const { LanguageServer } = require("@pulumi/pulumi/automation/server") as LanguageServerModule;
  const languageServer = new LanguageServer(programFor(entry));
  // Large stacks send large RPCs; the SDK's own limit.
  const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
  server.addService(langrpc.LanguageRuntimeService, languageServer);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const stop = (): void => {
    server.forceShutdown();
    process.exit(0);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  process.stdin.on("end", stop);
  process.stdin.resume();
  process.stdout.write(`listening 127.0.0.1:${port}\n`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`program-host: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
