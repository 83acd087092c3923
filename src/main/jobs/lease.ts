import type Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';

/**
 * The runner lease of a project database (table `runner_lease`, migration 006): at most one job
 * runner, in any process, runs the project's jobs. A runner takes the lease when no row exists or
 * when the holder is gone:
 *  - its process no longer exists (same host: the pid is checked; same process: the runner was
 *    stopped or its database handle closed without releasing);
 *  - or its heartbeat has not moved for `staleAfterMs` (another host, where the pid cannot be
 *    checked) or for `liveHolderStaleAfterMs` (a live pid on this host: a holder busy in a long
 *    synchronous ONNX call must not be robbed, but a reused pid must not block the lease forever).
 * "Has not moved" is measured on this observer's monotonic clock from when it first saw that
 * heartbeat value, so clocks of other hosts and a machine waking from sleep do not count.
 */

export interface LeaseHolder {
  holder: string;
  pid: number;
  hostname: string;
  label: string;
  acquiredAt: string;
  heartbeatAt: string;
}

export interface LeaseTimeouts {
  staleAfterMs: number;
  liveHolderStaleAfterMs: number;
}

interface LeaseRow {
  holder: string; pid: number; hostname: string; label: string; acquired_at: string; heartbeat_at: string;
}

/** Runners of this process that took a lease, by holder id: how to tell whether each still runs. */
const runnersOfThisProcess = new Map<string, () => boolean>();

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function toHolder(r: LeaseRow): LeaseHolder {
  return { holder: r.holder, pid: r.pid, hostname: r.hostname, label: r.label, acquiredAt: r.acquired_at, heartbeatAt: r.heartbeat_at };
}

/** Says who holds a project's lease, for messages ("dreamframe serve (pid 123 on host)"). */
export function describeHolder(h: LeaseHolder): string {
  return `${h.label} (pid ${h.pid} on ${h.hostname})`;
}

export class RunnerLease {
  readonly id = randomUUID();
  private readonly host = hostname();
  /** The heartbeat value last seen of another holder, and since when (monotonic ms). */
  private observed: { key: string; since: number } | null = null;

  constructor(
    private readonly db: Database.Database,
    private readonly label: string,
    private readonly timeouts: LeaseTimeouts,
    /** Whether the runner behind this lease still runs (asked by other runners of this process). */
    private readonly isAlive: () => boolean,
  ) {}

  /** The current holder, or null when the lease is free. */
  holder(): LeaseHolder | null {
    const row = this.db.prepare<unknown[], LeaseRow>('SELECT * FROM runner_lease WHERE id = 1').get();
    return row ? toHolder(row) : null;
  }

  /**
   * Takes the lease when it is free or its holder is gone, and runs `onAcquired` in the same
   * IMMEDIATE transaction (so recovery of the previous holder's jobs cannot race another taker).
   * Returns whether this runner holds the lease afterwards.
   */
  tryAcquire(onAcquired: () => void): boolean {
    const current = this.holder();
    if (current?.holder === this.id) return true;
    if (current && !this.isGone(current)) return false;
    return this.db.transaction(() => {
      const now = this.holder();
      if (now && now.holder !== this.id && !this.isGone(now)) return false;
      const at = new Date().toISOString();
      this.db.prepare(`INSERT OR REPLACE INTO runner_lease (id, holder, pid, hostname, label, acquired_at, heartbeat_at)
        VALUES (1, ?, ?, ?, ?, ?, ?)`).run(this.id, process.pid, this.host, this.label, at, at);
      onAcquired();
      runnersOfThisProcess.set(this.id, this.isAlive);
      this.observed = null;
      return true;
    }).immediate();
  }

  /** Refreshes the heartbeat; false when the lease was taken over meanwhile. */
  heartbeat(): boolean {
    return this.db.prepare('UPDATE runner_lease SET heartbeat_at = ? WHERE id = 1 AND holder = ?')
      .run(new Date().toISOString(), this.id).changes > 0;
  }

  /** Gives the lease up (if still held) and forgets this runner. */
  release(): void {
    runnersOfThisProcess.delete(this.id);
    if (this.db.open) this.db.prepare('DELETE FROM runner_lease WHERE id = 1 AND holder = ?').run(this.id);
  }

  /** Forgets this runner without touching the database (its handle is already closed). */
  forget(): void {
    runnersOfThisProcess.delete(this.id);
  }

  private isGone(h: LeaseHolder): boolean {
    if (h.hostname === this.host) {
      if (h.pid === process.pid) return !(runnersOfThisProcess.get(h.holder)?.() ?? false);
      if (!pidExists(h.pid)) return true;
    }
    const key = `${h.holder} ${h.heartbeatAt}`;
    const now = performance.now();
    if (this.observed?.key !== key) {
      this.observed = { key, since: now };
      return false;
    }
    const limit = h.hostname === this.host ? this.timeouts.liveHolderStaleAfterMs : this.timeouts.staleAfterMs;
    return now - this.observed.since >= limit;
  }
}
