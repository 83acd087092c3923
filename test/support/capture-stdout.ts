import { afterEach, beforeEach, vi } from 'vitest';

/**
 * Captures what in-process CLI runs write to stdout (and silences stderr) for each test of the
 * calling suite. `text()` is everything written since the test started or since `clear()`.
 */
export function captureStdout(): { text(): string; clear(): void } {
  let out: string[] = [];
  beforeEach(() => {
    out = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => vi.restoreAllMocks());
  return { text: () => out.join(''), clear: () => { out = []; } };
}
