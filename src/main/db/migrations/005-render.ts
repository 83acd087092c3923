/**
 * Rendering: per-film render settings (model, scheduler, steps, guidance, size, refiner, embedding,
 * seed policy, variants) and an index to find a job's renders when it resumes.
 */
export const sql = `
CREATE TABLE render_settings (
  film_id INTEGER PRIMARY KEY REFERENCES film(id) ON DELETE CASCADE,
  settings_json TEXT NOT NULL CHECK (json_valid(settings_json)),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX render_job ON render (job_id, frame_id);
`;
