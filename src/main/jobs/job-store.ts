import type Database from 'better-sqlite3';
import type { Job } from '../../shared/api/entities';

export interface JobRow {
  id: number; kind: string; film_id: number | null; status: Job['status']; progress: number;
  message: string | null; eta_seconds: number | null; error_json: string | null; created_at: string; updated_at: string;
}

export function jobFromRow(r: JobRow): Job {
  const error = r.error_json ? (JSON.parse(r.error_json) as { code: string; message: string }) : null;
  return {
    id: r.id, kind: r.kind, filmId: r.film_id, status: r.status, progress: r.progress, message: r.message,
    etaSeconds: r.eta_seconds, error: error && { code: error.code, message: error.message },
    createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

/** Running and queued jobs first, then the most recent finished ones. */
export function listJobs(db: Database.Database, limit = 200): Job[] {
  return db.prepare<unknown[], JobRow>(`SELECT * FROM job ORDER BY
      CASE status WHEN 'running' THEN 0 WHEN 'queued' THEN 1 ELSE 2 END, id DESC LIMIT ?`).all(limit)
    .map(jobFromRow);
}

export function getJob(db: Database.Database, id: number): Job | null {
  const row = db.prepare<unknown[], JobRow>('SELECT * FROM job WHERE id = ?').get(id);
  return row ? jobFromRow(row) : null;
}

/** A job's stored parameters (as JSON was written by `enqueue`); null for an unknown job. */
export function jobParams(db: Database.Database, id: number): unknown {
  const row = db.prepare<[number], { params_json: string }>('SELECT params_json FROM job WHERE id = ?').get(id);
  return row ? JSON.parse(row.params_json) : null;
}

/** Jobs of a kind that did not finish (queued, running, cancelled, failed), oldest first: what a resume continues. */
export function unfinishedJobs(db: Database.Database, kind: string, filmId?: number): { id: number; params: unknown }[] {
  const rows = db.prepare<[string, number | null, number | null], { id: number; params_json: string }>(`SELECT id, params_json FROM job
    WHERE kind = ? AND (? IS NULL OR film_id = ?) AND status IN ('queued', 'running', 'cancelled', 'failed') ORDER BY id`)
    .all(kind, filmId ?? null, filmId ?? null);
  return rows.map((r) => ({ id: r.id, params: JSON.parse(r.params_json) }));
}

/** What a job saved last with its checkpoint (null when it saved none or does not exist). */
export function jobCheckpoint(db: Database.Database, id: number): unknown {
  const row = db.prepare<unknown[], { checkpoint_json: string | null }>('SELECT checkpoint_json FROM job WHERE id = ?').get(id);
  return row?.checkpoint_json ? JSON.parse(row.checkpoint_json) : null;
}

/** The newest job of a kind for a film, whatever its state. */
export function latestJobId(db: Database.Database, kind: string, filmId: number): number | null {
  return db.prepare<unknown[], { id: number }>('SELECT id FROM job WHERE film_id = ? AND kind = ? ORDER BY id DESC LIMIT 1')
    .get(filmId, kind)?.id ?? null;
}
