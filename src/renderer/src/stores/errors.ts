import type { Ref } from 'vue';

/** One sentence for the UI out of anything thrown by a call. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && code !== 'internal' ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/** The code an API failure carries (`not_found`, `plot.not_generated`, …), if any. */
export function errorCode(err: unknown): string | null {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : null;
}

/**
 * How every store reports a failed call. A store shows failures in one field: `error` when the
 * field holds only failures (a dialog's alert), `notice` when it is a status line that also
 * carries confirmations ("Render job 4 queued"). The reporter writes "Could not <what>: <reason>"
 * there, and clears its own sentence when a later call succeeds, never a confirmation.
 */
export interface ErrorReporter {
  /**
   * Runs `call`; a failure is shown and gives `undefined`, a success clears the shown failure. A call refused
   * with `db_busy` (another process is writing the project) is kept and sent again for up to ten minutes,
   * with "Saving… another process is writing" shown meanwhile.
   */
  attempt<T>(what: string, call: () => Promise<T>): Promise<T | undefined>;
  /** Shows a failure caught elsewhere (a call with its own control flow). */
  fail(what: string, err: unknown): void;
  /** Removes the failure this reporter showed, if it is still the one shown. */
  clear(): void;
}

/** Pauses before sending an edit refused with `db_busy` again (the server already waited up to 12 s each time). */
const BUSY_RETRY_DELAYS_MS = [500, 2000, 5000];
/** After this long the edit is reported as failed after all. */
const BUSY_RETRY_FOR_MS = 10 * 60_000;

export function errorReporter(field: Ref<string | null>): ErrorReporter {
  let shown: string | null = null;
  function fail(what: string, err: unknown): void {
    field.value = shown = `Could not ${what}: ${describeError(err)}`;
  }
  function clear(): void {
    if (shown !== null && field.value === shown) field.value = null;
    shown = null;
  }
  async function attempt<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
    const started = Date.now();
    for (let tries = 0; ; tries++) {
      try {
        const result = await call();
        clear();
        return result;
      } catch (err) {
        // Another process holds the project's write lock (a CLI import): keep the edit and send it again.
        if (errorCode(err) === 'db_busy' && Date.now() - started < BUSY_RETRY_FOR_MS) {
          field.value = shown = `Saving… another process is writing to the project; will ${what} again in a moment`;
          await new Promise((resolve) => setTimeout(resolve, BUSY_RETRY_DELAYS_MS[Math.min(tries, BUSY_RETRY_DELAYS_MS.length - 1)]));
          continue;
        }
        fail(what, err);
        return undefined;
      }
    }
  }
  return { attempt, fail, clear };
}
