import { toErrorPayload } from '../../shared/errors';

/** Shared output helpers so every command honours --json the same way. */
export interface OutputOptions {
  json?: boolean;
}

export function printResult(opts: OutputOptions, value: unknown, human: () => string): void {
  if (opts.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else process.stdout.write(`${human()}\n`);
}

export function printError(opts: OutputOptions, err: unknown): void {
  const payload = toErrorPayload(err);
  if (opts.json) process.stdout.write(`${JSON.stringify({ error: payload }, null, 2)}\n`);
  else process.stderr.write(`error (${payload.code}): ${payload.message}\n`);
}

/** Progress line on stderr (kept off stdout so --json output stays parseable). */
export function progressLine(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
  else process.stderr.write(`${text}\n`);
}
