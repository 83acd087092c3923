/**
 * A FIFO counting semaphore. One instance per endpoint is shared by every node of every film (and
 * every open project) in the process, so "max concurrent requests" is a property of the server.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: { resolve: () => void; reject: (e: unknown) => void; signal?: AbortSignal; onAbort?: () => void }[] = [];

  constructor(private max: number) {}

  get inFlight(): number {
    return this.active;
  }

  setMax(max: number): void {
    this.max = Math.max(1, max);
    this.drain();
  }

  /** Waits for a slot; rejects if the signal aborts first. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.active < this.max && this.waiting.length === 0) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const entry: (typeof this.waiting)[number] = { resolve, reject, signal };
      if (signal) {
        entry.onAbort = () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.waiting.push(entry);
    });
  }

  release(): void {
    this.active--;
    this.drain();
  }

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private drain(): void {
    while (this.active < this.max && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      if (next.signal && next.onAbort) next.signal.removeEventListener('abort', next.onAbort);
      this.active++;
      next.resolve();
    }
  }
}

const shared = new Map<string, Limiter>();

/** The process-wide limiter for one endpoint; a later call with another max updates it. */
export function sharedLimiter(endpoint: string, max: number): Limiter {
  let l = shared.get(endpoint);
  if (!l) {
    l = new Limiter(max);
    shared.set(endpoint, l);
  } else {
    l.setMax(max);
  }
  return l;
}
