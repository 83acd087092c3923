/**
 * Runner lease: at most one process runs a project's jobs. The single row (id = 1) names the job
 * runner that holds it; no row means the lease is free. Holders refresh `heartbeat_at` while they
 * hold it and delete the row when they stop (src/main/jobs/lease.ts). Every runner polls the job rows
 * changed recently, by `updated_at`.
 */
export const sql = `
CREATE TABLE runner_lease (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  holder TEXT NOT NULL,
  pid INTEGER NOT NULL,
  hostname TEXT NOT NULL,
  label TEXT NOT NULL,
  acquired_at TEXT NOT NULL,
  heartbeat_at TEXT NOT NULL
);
-- Runners read the job rows other processes changed recently.
CREATE INDEX job_updated ON job (updated_at);
`;
