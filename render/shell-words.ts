// POSIX shell quoting: the one boundary where argument vectors become shell text (bootstrap
// script, ACME script, health-check commands). Plain words stay readable; anything else is
// single-quoted, so no character in it is special to the shell.

const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one argument for sh/bash. */
export function shellWord(arg: string): string {
  return PLAIN_WORD.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Joins an argument vector into one shell command line, quoting each argument. */
export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error("empty command");
  return argv.map(shellWord).join(" ");
}
