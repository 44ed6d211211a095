// sentinel.conf as a seed, plus the commands that enforce desired state on a running Sentinel.
//
// Sentinel rewrites its own file (it records the current master, known replicas and sentinels,
// epochs) and refuses to start on a read-only file. So we write the file once (the seed) and
// afterwards enforce what we own with SENTINEL SET — never re-render over it, because after a
// failover the seed's `sentinel monitor` line names the old master.
//
// The auth-pass secret: Sentinel does read `include` (checked with redis-sentinel 7.0.15), so
// the seed can pull `sentinel auth-pass` from a 0600 include and authenticates from its very
// first start. But Sentinel saves its config right at start-up and copies auth-pass into the main
// file. The provider therefore writes the main file 0600 too, and rotation goes through
// `sentinelDesiredStateCommands` (SENTINEL SET … auth-pass), sent on stdin, never argv.
import { absolutePath, intInRange, ipAddress, isLoopback, redisLine, singleLine } from "./conf-syntax";

/** One Redis master group Sentinel watches. */
export interface SentinelMaster {
  /** Group name clients ask Sentinel for: `senex-broker` or `senex-cache`. */
  readonly name: string;
  /** Address of the initial master (seed only). */
  readonly address: string;
  /** Its port (6379 broker, 6380 cache). */
  readonly port: number;
}

/** Typed input of the Sentinel seed and its desired state. */
export interface SentinelSpec {
  /** This host's private address: bound and announced to the other sentinels. */
  readonly listenAddress: string;
  /** Port. Default 26379. */
  readonly port?: number;
  /** Writable directory for Sentinel's working files. */
  readonly dataDirectory: string;
  /** Groups to monitor (both masters). */
  readonly masters: readonly SentinelMaster[];
  /** Sentinels that must agree a master is down. 3 sentinels → 2. */
  readonly quorum: number;
  /** How many sentinels run in total (checked against the quorum). */
  readonly sentinelCount: number;
  /** Milliseconds without a valid reply before a node is subjectively down. Default 5000. */
  readonly downAfterMs?: number;
  /** Failover timeout in ms. Default 60000. */
  readonly failoverTimeoutMs?: number;
  /** Path of the 0600 include rendered by `renderSentinelAuth`. */
  readonly authInclude?: string;
}

const MASTER_NAME = /^[A-Za-z0-9_-]{1,64}$/;

function checked(spec: SentinelSpec): { port: number; downAfter: number; failover: number } {
  if (spec.masters.length === 0) throw new Error("`masters` must list at least one group");
  const names = new Set<string>();
  for (const [i, m] of spec.masters.entries()) {
    if (!MASTER_NAME.test(m.name)) throw new Error(`\`masters[${i}].name\` must match ${MASTER_NAME.source}`);
    if (names.has(m.name)) throw new Error(`\`masters[${i}].name\` ${m.name} is listed twice`);
    names.add(m.name);
  }
  intInRange("sentinelCount", spec.sentinelCount, 1, 15);
  // A majority quorum: fewer would let a minority partition fail over and split the brain.
  intInRange("quorum", spec.quorum, Math.floor(spec.sentinelCount / 2) + 1, spec.sentinelCount);
  return {
    port: intInRange("port", spec.port ?? 26379, 1, 65535),
    downAfter: intInRange("downAfterMs", spec.downAfterMs ?? 5000, 1000, 600000),
    failover: intInRange("failoverTimeoutMs", spec.failoverTimeoutMs ?? 60000, 5000, 3600000),
  };
}

/** The tunables we own per group (everything except the master address, which Sentinel owns). */
function tunables(spec: SentinelSpec, downAfter: number, failover: number): Array<[string, string]> {
  return [
    ["down-after-milliseconds", String(downAfter)],
    ["failover-timeout", String(failover)],
    ["parallel-syncs", "1"],
    ["quorum", String(spec.quorum)],
  ];
}

/** Renders the Sentinel seed (no secret in it). */
export function renderSentinelSeed(spec: SentinelSpec): string {
  const { port, downAfter, failover } = checked(spec);
  const me = ipAddress("listenAddress", spec.listenAddress);
  const lines: Array<string | string[]> = [
    "# senex sentinel seed: written once by senex-infra; Sentinel rewrites this file itself.",
    ["port", String(port)],
    ["bind", me, ...(isLoopback(me) ? [] : ["127.0.0.1"])],
    // Sentinels have no password of their own here; with protected-mode on they would refuse
    // their peers. The private bind + host firewall (26379 from redis hosts only) does that job.
    ["protected-mode", "no"],
    ["daemonize", "no"],
    ["logfile", ""],
    ["dir", absolutePath("dataDirectory", spec.dataDirectory)],
    ["sentinel", "resolve-hostnames", "no"],
    ["sentinel", "announce-hostnames", "no"],
    ["sentinel", "announce-ip", me],
    ["sentinel", "announce-port", String(port)],
  ];
  for (const [i, m] of spec.masters.entries()) {
    lines.push(
      `# ${m.name}`,
      ["sentinel", "monitor", m.name, ipAddress(`masters[${i}].address`, m.address), String(intInRange(`masters[${i}].port`, m.port, 1, 65535)), String(spec.quorum)],
      ...tunables(spec, downAfter, failover).filter(([k]) => k !== "quorum").map(([k, v]) => ["sentinel", k, m.name, v]),
    );
  }
  // The include comes after the monitor lines: auth-pass for a group Sentinel does not know yet is an error.
  if (spec.authInclude !== undefined) lines.push(["include", absolutePath("authInclude", spec.authInclude)]);
  return lines.map((l) => (typeof l === "string" ? l : redisLine(l))).join("\n") + "\n";
}

/** Renders the 0600 include with `sentinel auth-pass` for every group. The output is secret. */
export function renderSentinelAuth(masterNames: readonly string[], password: string): string {
  singleLine("password", password);
  return masterNames.map((name, i) => {
    if (!MASTER_NAME.test(name)) throw new Error(`\`masterNames[${i}]\` must match ${MASTER_NAME.source}`);
    return redisLine(["sentinel", "auth-pass", name, password]);
  }).join("\n") + "\n";
}

/** What the provider does against one running Sentinel to reach desired state. */
export interface SentinelDesiredState {
  /** Per group: the MONITOR command, to send only when `SENTINEL MASTER <name>` says the group is unknown. */
  readonly monitorIfMissing: ReadonlyArray<{ readonly name: string; readonly command: readonly string[] }>;
  /** SENTINEL SET commands, always safe to send (idempotent; they never move the master). */
  readonly set: ReadonlyArray<readonly string[]>;
}

/**
 * Commands (argument vectors for redis-cli's stdin; they carry the password, so never argv)
 * that enforce our tunables and the auth-pass on a live Sentinel. The master address is only
 * used for a group Sentinel does not know: after a failover Sentinel's view wins.
 */
export function sentinelDesiredStateCommands(spec: SentinelSpec, authPass: string): SentinelDesiredState {
  const { downAfter, failover } = checked(spec);
  singleLine("authPass", authPass);
  return {
    monitorIfMissing: spec.masters.map((m) => ({
      name: m.name,
      command: ["SENTINEL", "MONITOR", m.name, ipAddress("masters[].address", m.address), String(m.port), String(spec.quorum)],
    })),
    set: spec.masters.flatMap((m) => [
      ...tunables(spec, downAfter, failover).map(([k, v]) => ["SENTINEL", "SET", m.name, k, v]),
      ["SENTINEL", "SET", m.name, "auth-pass", authPass],
    ]),
  };
}

/** Redis inline-command text for a list of argument vectors (what redis-cli reads from stdin). */
export function redisCommandScript(commands: ReadonlyArray<readonly string[]>): string {
  return commands.map((c) => redisLine(c)).join("\n") + "\n";
}
