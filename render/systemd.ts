// The one place that turns typed systemd-style sections (systemd units, Quadlet files, timers)
// into text. Every renderer that writes an INI-like unit file goes through here, so escaping rules
// live in one spot: empty values are skipped, lists become repeated keys, and a value that would
// break the line structure (a newline) is rejected instead of silently producing a different unit.

/** A single value as systemd reads it. `undefined` means "key not written". */
export type UnitScalar = string | number | boolean | undefined;
/** A key's value: a scalar, or a list rendered as one `Key=` line per element. */
export type UnitValue = UnitScalar | readonly (string | number)[];

/** One `[Name]` section: ordered key/value pairs (order is preserved in the output). */
export interface UnitSectionText {
  /** Section name without brackets, e.g. `Unit`, `Container`, `Install`. */
  readonly name: string;
  /** Keys in output order; `undefined` values and empty lists are skipped. */
  readonly entries: readonly (readonly [string, UnitValue])[];
}

function scalarText(key: string, value: string | number | boolean): string {
  const text = typeof value === "boolean" ? (value ? "true" : "false") : String(value);
  if (/[\r\n]/.test(text)) {
    throw new Error(`unit key \`${key}\` has a line break in its value; systemd would read a different unit`);
  }
  return text;
}

/**
 * Renders sections to unit-file text. Sections with no written key are omitted entirely, so
 * optional sections (e.g. `[Install]` of a oneshot) need no special casing by callers.
 */
export function renderUnitSections(sections: readonly UnitSectionText[], header?: readonly string[]): string {
  const blocks: string[] = [];
  if (header && header.length > 0) blocks.push(header.map((line) => `# ${line}`).join("\n"));
  for (const section of sections) {
    const lines: string[] = [];
    for (const [key, value] of section.entries) {
      if (value === undefined) continue;
      if (Array.isArray(value)) {
        for (const item of value as readonly (string | number)[]) lines.push(`${key}=${scalarText(key, item)}`);
      } else {
        lines.push(`${key}=${scalarText(key, value as string | number | boolean)}`);
      }
    }
    if (lines.length > 0) blocks.push([`[${section.name}]`, ...lines].join("\n"));
  }
  return blocks.join("\n\n") + "\n";
}

/**
 * Quotes one argument for a systemd command line (ExecStart=, Quadlet's Exec=): systemd splits on
 * whitespace and honours double quotes with C-style escapes. `%` is a unit specifier and `$` an
 * environment expansion, so both are doubled to reach the program literally.
 */
export function quoteUnitArg(arg: string): string {
  if (/[\r\n]/.test(arg)) throw new Error(`command argument has a line break: ${JSON.stringify(arg)}`);
  const escaped = arg.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  if (escaped !== "" && /^[A-Za-z0-9_@%+=:,./\-$]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** Joins an argument vector into one systemd command line, quoting each argument. */
export function unitCommandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error("empty command line");
  return argv.map(quoteUnitArg).join(" ");
}
