// The small line-oriented formats the data-service renderers share: Redis/Sentinel directives,
// PostgreSQL `key = value`, and INI sections (PgBouncer, pgBackRest, grafana.ini). Each value
// passes through exactly one quoting function here, so no renderer glues untrusted text into a
// line by hand: a newline or quote in a spec value can never start a second directive.
import { isIP } from "node:net";

/**
 * Rejects values that would split one directive into two (line formats have no escape for it).
 * Passwords pass through here, so the message names the field and never shows the value.
 */
export function singleLine(field: string, value: string): string {
  if (/[\r\n\0]/.test(value)) throw new Error(`\`${field}\` must be a single line without NUL: it contains a line break or NUL (the value is not shown: it may be a secret)`);
  return value;
}

/** Quotes one argument the way Redis' own parser (sdssplitargs) reads it back. */
export function redisArg(value: string | number): string {
  const text = String(value);
  if (/^[A-Za-z0-9._/:@,+=%-]+$/.test(text)) return text;
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === "\\" || ch === '"') out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + '"';
}

/** One Redis/Sentinel config line (or inline command) from an argument vector. */
export function redisLine(argv: ReadonlyArray<string | number>): string {
  if (argv.length === 0) throw new Error("a Redis directive needs at least a name");
  return argv.map(redisArg).join(" ");
}

/** A postgresql.conf value: strings single-quoted with quotes doubled, numbers bare, booleans on/off. */
export function pgConfValue(value: string | number | boolean): string {
  if (typeof value === "boolean") return value ? "on" : "off";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`postgresql.conf value must be finite, got ${value}`);
    return String(value);
  }
  return "'" + singleLine("postgresql.conf value", value).replace(/\\/g, "\\\\").replace(/'/g, "''") + "'";
}

/** An INI-style section list; `null` name = entries before the first section header. */
export interface IniSection {
  /** Section header without brackets, or null for top-level entries. */
  readonly name: string | null;
  /** Key/value pairs in order; undefined values are skipped so optional settings need no `if`. */
  readonly entries: ReadonlyArray<readonly [string, string | number | boolean | undefined]>;
  /** Optional comment lines printed under the header (why a section exists). */
  readonly comment?: readonly string[];
}

/** Renders INI sections with the given separator (`" = "` for PgBouncer/grafana, `"="` for pgBackRest/systemd). */
export function iniText(sections: readonly IniSection[], separator: string, bools: readonly [string, string] = ["true", "false"]): string {
  const blocks = sections.map((section) => {
    const lines: string[] = [];
    if (section.name !== null) lines.push(`[${singleLine("section", section.name)}]`);
    for (const c of section.comment ?? []) lines.push(`# ${singleLine("comment", c)}`);
    for (const [key, value] of section.entries) {
      if (value === undefined) continue;
      const text = typeof value === "boolean" ? (value ? bools[0] : bools[1]) : String(value);
      lines.push(`${singleLine("key", key)}${separator}${singleLine(key, text)}`);
    }
    return lines.join("\n");
  });
  return blocks.join("\n\n") + "\n";
}

/** Normalises an IPv4/IPv6 address or CIDR to CIDR form (a bare address becomes /32 or /128). */
export function toCidr(field: string, value: string): string {
  const [addr, bits, ...rest] = value.split("/");
  const family = isIP(addr ?? "");
  if (family === 0 || rest.length > 0) throw new Error(`\`${field}\` must be an IP address or CIDR, got ${JSON.stringify(value)}`);
  const max = family === 4 ? 32 : 128;
  if (bits === undefined) return `${addr}/${max}`;
  const n = Number(bits);
  if (!/^\d+$/.test(bits) || n > max) throw new Error(`\`${field}\` has a bad prefix length in ${JSON.stringify(value)}`);
  return `${addr}/${n}`;
}

/** Throws unless `value` is a literal IP address (our services never resolve names: see ARCHITECTURE). */
export function ipAddress(field: string, value: string): string {
  if (isIP(value) === 0) throw new Error(`\`${field}\` must be an IP address, got ${JSON.stringify(value)}`);
  return value;
}

/** True for 127.0.0.0/8 and ::1. */
export function isLoopback(address: string): boolean {
  return address === "::1" || (isIP(address) === 4 && address.startsWith("127."));
}

/** Throws unless `value` is an integer in [min, max]. */
export function intInRange(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`\`${field}\` must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/** An absolute path without whitespace surprises (all our paths are rendered into config lines). */
export function absolutePath(field: string, value: string): string {
  if (!value.startsWith("/") || /[\s'"\\]/.test(value)) {
    throw new Error(`\`${field}\` must be an absolute path without spaces or quotes, got ${JSON.stringify(value)}`);
  }
  return value;
}
