import { toErrorPayload } from '../../shared/errors';

/** Shared output helpers so every command honours --json the same way. */
export interface OutputOptions {
  json?: boolean;
}

/**
 * Control characters a terminal would act on: C0 (but line feed and tab), DEL, C1, and the bidi
 * overrides/isolates/marks that reorder what is shown. Titles and paths come from user files.
 */
const TERMINAL_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Makes text safe to print on a terminal: every control character becomes a visible escape
 * (`\x1b`, `\u202e`), so a film title cannot clear the screen, retitle the window or reorder a line.
 * Every human-readable line of the CLI goes through this; JSON output needs nothing (JSON escapes them).
 */
export function terminalSafe(text: string): string {
  return text.replace(TERMINAL_CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

export function printResult(opts: OutputOptions, value: unknown, human: () => string): void {
  if (opts.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else process.stdout.write(`${terminalSafe(human())}\n`);
}

/** A human-readable notice or warning line on stderr (escaped like every other human output). */
export function printNotice(text: string): void {
  process.stderr.write(`${terminalSafe(text)}\n`);
}

export function printError(opts: OutputOptions, err: unknown): void {
  const payload = toErrorPayload(err);
  if (opts.json) process.stdout.write(`${JSON.stringify({ error: payload }, null, 2)}\n`);
  else process.stderr.write(`error (${payload.code}): ${terminalSafe(payload.message)}\n`);
}

/** Progress line on stderr (kept off stdout so --json output stays parseable). */
export function progressLine(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${terminalSafe(text)}`);
  else process.stderr.write(`${terminalSafe(text)}\n`);
}
