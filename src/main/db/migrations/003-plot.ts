/**
 * LLM plot generation: the prompt templates a project uses (every version kept, so each node can
 * name the one that produced it), per-film generation settings, one row per expansion node with its
 * status, raw answer and token usage, and per-project settings (never an API key).
 */
export const sql = `
CREATE TABLE plot_template (
  id INTEGER PRIMARY KEY,
  level INTEGER NOT NULL CHECK (level IN (1, 2, 3)),
  version TEXT NOT NULL,
  system_text TEXT NOT NULL,
  user_text TEXT NOT NULL,
  builtin INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (level, version)
);

CREATE TABLE plot_film (
  film_id INTEGER PRIMARY KEY REFERENCES film(id) ON DELETE CASCADE,
  config_json TEXT NOT NULL CHECK (json_valid(config_json)),
  expand_until INTEGER NOT NULL DEFAULT 3 CHECK (expand_until IN (1, 2, 3)),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- key: 'film' (level 1), 'c<i>' (level 2, chapter position i), 'c<i>.s<j>' (level 3); positions 0-based.
CREATE TABLE plot_node (
  id INTEGER PRIMARY KEY,
  film_id INTEGER NOT NULL REFERENCES film(id) ON DELETE CASCADE,
  level INTEGER NOT NULL CHECK (level IN (1, 2, 3)),
  key TEXT NOT NULL,
  chapter_pos INTEGER,
  subchapter_pos INTEGER,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
  template_id INTEGER REFERENCES plot_template(id),
  model TEXT,
  requests INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  raw_answer TEXT,
  result_json TEXT CHECK (result_json IS NULL OR json_valid(result_json)),
  error_json TEXT CHECK (error_json IS NULL OR json_valid(error_json)),
  finished_at TEXT,
  UNIQUE (film_id, key)
);
CREATE INDEX plot_node_film ON plot_node (film_id, level, status);

CREATE TABLE plot_setting (
  key TEXT PRIMARY KEY,
  value_json TEXT NOT NULL CHECK (json_valid(value_json))
);
`;
