// Grafana Alloy config (the log shipper; Promtail reached end of life in 2026): the systemd
// journal — which also holds the rootless Podman containers' logs, podman's default log driver
// on systemd hosts being journald — and optional container log files, relabelled and pushed
// to Loki. Alloy's own syntax is emitted by a small typed serializer, never by string gluing.
// Alloy is not in Debian; tests check the structure against its documented syntax.
import { absolutePath, intInRange } from "./conf-syntax";

/** A reference to another component's export, e.g. `loki.write.default.receiver` (emitted bare). */
export interface AlloyRef {
  readonly ref: string;
}
/** Any Alloy attribute value. */
export type AlloyValue = string | number | boolean | AlloyRef | readonly AlloyValue[] | { readonly [key: string]: AlloyValue };
/** A block: `name "label" { ... }`. */
export interface AlloyBlock {
  readonly block: string;
  readonly label?: string;
  readonly body: ReadonlyArray<AlloyBlock | readonly [string, AlloyValue]>;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function isRef(v: AlloyValue): v is AlloyRef {
  return typeof v === "object" && v !== null && !Array.isArray(v) && "ref" in v && typeof (v as AlloyRef).ref === "string";
}

/** Serializes one value in Alloy syntax (strings JSON-escaped, which Alloy's string literals accept). */
export function alloyValue(v: AlloyValue, indent = ""): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error("Alloy numbers must be finite");
    return String(v);
  }
  if (typeof v === "boolean") return v ? "true" : "false";
  if (isRef(v)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(v.ref)) throw new Error(`bad Alloy reference ${JSON.stringify(v.ref)}`);
    return v.ref;
  }
  if (Array.isArray(v)) return `[${(v as readonly AlloyValue[]).map((x) => alloyValue(x, indent)).join(", ")}]`;
  const entries = Object.entries(v as { readonly [key: string]: AlloyValue });
  if (entries.length === 0) return "{}";
  const inner = indent + "  ";
  return `{\n${entries.map(([k, x]) => `${inner}${IDENT.test(k) ? k : JSON.stringify(k)} = ${alloyValue(x, inner)},`).join("\n")}\n${indent}}`;
}

/** Serializes blocks in Alloy syntax. */
export function alloyText(blocks: readonly AlloyBlock[]): string {
  const one = (b: AlloyBlock, indent: string): string => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(b.block)) throw new Error(`bad Alloy block name ${b.block}`);
    const head = b.label !== undefined ? `${b.block} ${JSON.stringify(b.label)}` : b.block;
    const inner = indent + "  ";
    const body = b.body.map((item) => {
      if ("block" in item) return one(item as AlloyBlock, inner);
      const [key, value] = item as readonly [string, AlloyValue];
      if (!IDENT.test(key)) throw new Error(`bad Alloy attribute ${key}`);
      return `${inner}${key} = ${alloyValue(value, inner)}`;
    });
    return `${indent}${head} {\n${body.join("\n")}\n${indent}}`;
  };
  return blocks.map((b) => one(b, "")).join("\n\n") + "\n";
}

/** Typed input of the Alloy config on one host. */
export interface AlloySpec {
  /** Loki push endpoint, e.g. http://10.0.0.5:3100/loki/api/v1/push. */
  readonly lokiPushUrl: string;
  /** Host name, attached to every line. */
  readonly host: string;
  /** Host role, attached to every line. */
  readonly role: string;
  /** Journal directory (persistent journal: /var/log/journal). Alloy needs read access (systemd-journal group). */
  readonly journalPath?: string;
  /** Oldest journal entries read on first start, in hours. Default 12. */
  readonly journalMaxAgeHours?: number;
  /** Extra container log files (podman's k8s-file driver), as globs. */
  readonly containerLogGlobs?: readonly string[];
}

/** Renders config.alloy. */
export function renderAlloyConfig(spec: AlloySpec): string {
  const url = new URL(spec.lokiPushUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("`lokiPushUrl` must be http(s)");
  if (!/^[a-z0-9-]+$/.test(spec.host) || !/^[a-z0-9-]+$/.test(spec.role)) throw new Error("`host` and `role` must match [a-z0-9-]+");
  const toLoki: AlloyRef = { ref: "loki.write.default.receiver" };
  const blocks: AlloyBlock[] = [
    {
      block: "loki.write",
      label: "default",
      body: [
        { block: "endpoint", body: [["url", spec.lokiPushUrl]] },
        ["external_labels", { host: spec.host, role: spec.role }],
      ],
    },
    {
      block: "loki.relabel",
      label: "journal",
      body: [
        // Only the rules are used (by the journal source); nothing is forwarded through here.
        ["forward_to", []],
        ...[
          ["__journal__systemd_unit", "unit"],
          ["__journal__systemd_user_unit", "user_unit"],
          ["__journal_container_name", "container"],
          ["__journal_syslog_identifier", "identifier"],
          ["__journal_priority_keyword", "level"],
        ].map(([from, to]): AlloyBlock => ({
          block: "rule",
          body: [
            ["source_labels", [from as string]],
            ["target_label", to as string],
          ],
        })),
      ],
    },
    {
      block: "loki.source.journal",
      label: "system",
      body: [
        ["forward_to", [toLoki]],
        ["relabel_rules", { ref: "loki.relabel.journal.rules" }],
        ["path", absolutePath("journalPath", spec.journalPath ?? "/var/log/journal")],
        ["max_age", `${intInRange("journalMaxAgeHours", spec.journalMaxAgeHours ?? 12, 1, 24 * 30)}h`],
        ["labels", { job: "journal" }],
      ],
    },
  ];
  const globs = spec.containerLogGlobs ?? [];
  if (globs.length > 0) {
    for (const [i, g] of globs.entries()) absolutePath(`containerLogGlobs[${i}]`, g);
    blocks.push(
      {
        block: "local.file_match",
        label: "containers",
        body: [["path_targets", globs.map((g) => ({ __path__: g, job: "podman" }))]],
      },
      {
        block: "loki.source.file",
        label: "containers",
        body: [
          ["targets", { ref: "local.file_match.containers.targets" }],
          ["forward_to", [toLoki]],
        ],
      },
    );
  }
  return "// Rendered by senex-infra; do not edit on the host.\n" + alloyText(blocks);
}
