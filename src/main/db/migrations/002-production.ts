/**
 * Production state around the story: content-addressed assets, styles and embeddings, renders,
 * persisted jobs, and the edit log behind undo/redo.
 */
export const sql = `
CREATE TABLE asset (
  sha256 TEXT PRIMARY KEY,
  rel_path TEXT NOT NULL UNIQUE,
  mime TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  width INTEGER,
  height INTEGER,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE style (
  id INTEGER PRIMARY KEY,
  film_id INTEGER NOT NULL REFERENCES film(id) ON DELETE CASCADE,
  keyword TEXT NOT NULL,
  settings_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings_json)),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE style_image (
  id INTEGER PRIMARY KEY,
  style_id INTEGER NOT NULL REFERENCES style(id) ON DELETE CASCADE,
  asset_sha256 TEXT NOT NULL REFERENCES asset(sha256),
  source TEXT NOT NULL CHECK (source IN ('generated', 'imported')),
  position INTEGER NOT NULL,
  included INTEGER NOT NULL DEFAULT 1 CHECK (included IN (0, 1))
);

CREATE TABLE embedding (
  id INTEGER PRIMARY KEY,
  style_id INTEGER NOT NULL REFERENCES style(id) ON DELETE CASCADE,
  rel_path TEXT NOT NULL,
  family TEXT NOT NULL,
  steps INTEGER NOT NULL DEFAULT 0,
  loss REAL,
  active INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE render (
  id INTEGER PRIMARY KEY,
  frame_id INTEGER NOT NULL REFERENCES frame(id) ON DELETE CASCADE,
  variant INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
  asset_sha256 TEXT REFERENCES asset(sha256),
  seed INTEGER NOT NULL,
  model TEXT NOT NULL,
  prompt TEXT NOT NULL DEFAULT '',
  settings_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings_json)),
  is_keyframe INTEGER NOT NULL DEFAULT 0 CHECK (is_keyframe IN (0, 1)),
  error TEXT,
  job_id INTEGER REFERENCES job(id) ON DELETE SET NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX render_frame ON render (frame_id, is_keyframe);

CREATE TABLE job (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  film_id INTEGER REFERENCES film(id) ON DELETE CASCADE,
  params_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params_json)),
  status TEXT NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  progress REAL NOT NULL DEFAULT 0,
  message TEXT,
  eta_seconds REAL,
  checkpoint_json TEXT CHECK (checkpoint_json IS NULL OR json_valid(checkpoint_json)),
  error_json TEXT CHECK (error_json IS NULL OR json_valid(error_json)),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  started_at TEXT,
  finished_at TEXT,
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX job_status ON job (status, id);

-- Invertible edits: each row holds the changed fields before and after; undone rows can be redone
-- until a new edit of the same film discards them.
CREATE TABLE edit_log (
  id INTEGER PRIMARY KEY,
  film_id INTEGER NOT NULL REFERENCES film(id) ON DELETE CASCADE,
  label TEXT NOT NULL,
  changes_json TEXT NOT NULL CHECK (json_valid(changes_json)),
  undone INTEGER NOT NULL DEFAULT 0 CHECK (undone IN (0, 1)),
  at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX edit_log_film ON edit_log (film_id, id);
`;
