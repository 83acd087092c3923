import OpenAI from 'openai';

/** 408/409/429, any 5xx, timeouts and dropped or refused connections are worth another try. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof OpenAI.APIUserAbortError) return false;
  if (err instanceof OpenAI.APIConnectionError) return true; // includes timeouts
  if (err instanceof OpenAI.APIError) {
    const s = err.status ?? 0;
    return s === 408 || s === 409 || s === 429 || s >= 500;
  }
  return false;
}

const MAX_DELAY_MS = 120_000;

/** Milliseconds the server asked us to wait (Retry-After seconds or HTTP date, or retry-after-ms), or null. */
export function retryAfterMs(err: unknown, now = Date.now()): number | null {
  if (!(err instanceof OpenAI.APIError) || !err.headers) return null;
  const ms = err.headers.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = err.headers.get('retry-after');
  if (!ra) return null;
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) return Math.max(0, Number(ra) * 1000);
  const at = Date.parse(ra);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Retry-After when given, else exponential backoff with jitter (base · 2^attempt · [0.5, 1)). */
export function backoffDelay(err: unknown, attempt: number, baseMs: number): number {
  const asked = retryAfterMs(err);
  if (asked !== null) return Math.min(asked, MAX_DELAY_MS);
  return Math.min(baseMs * 2 ** attempt * (0.5 + Math.random() / 2), MAX_DELAY_MS);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
