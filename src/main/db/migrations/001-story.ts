/** The story tree: films, characters, chapters, subchapters, frames, dialogue lines, QA pairs. */
export const sql = `
CREATE TABLE film (
  id INTEGER PRIMARY KEY,
  theme TEXT NOT NULL DEFAULT '',
  title TEXT NOT NULL DEFAULT '',
  overview TEXT NOT NULL DEFAULT '',
  style_description TEXT NOT NULL DEFAULT '',
  style_keyword TEXT NOT NULL DEFAULT '',
  locations_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(locations_json)),
  generation_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(generation_json)),
  source TEXT NOT NULL DEFAULT 'manual' CHECK (source IN ('sample', 'story_js', 'llm', 'manual')),
  structure TEXT NOT NULL DEFAULT 'hierarchical' CHECK (structure IN ('hierarchical', 'flat')),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE character (
  id INTEGER PRIMARY KEY,
  film_id INTEGER NOT NULL REFERENCES film(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  name TEXT NOT NULL,
  lookalike TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL DEFAULT 'main' CHECK (role IN ('main', 'supporting', 'other')),
  color TEXT,
  UNIQUE (film_id, name)
);

CREATE TABLE chapter (
  id INTEGER PRIMARY KEY,
  film_id INTEGER NOT NULL REFERENCES film(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  title TEXT NOT NULL DEFAULT '',
  scene TEXT NOT NULL DEFAULT '',
  summary TEXT NOT NULL DEFAULT ''
);
CREATE INDEX chapter_film ON chapter (film_id, position);

CREATE TABLE subchapter (
  id INTEGER PRIMARY KEY,
  chapter_id INTEGER NOT NULL REFERENCES chapter(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  title TEXT NOT NULL DEFAULT '',
  scene TEXT NOT NULL DEFAULT '',
  summary TEXT NOT NULL DEFAULT ''
);
CREATE INDEX subchapter_chapter ON subchapter (chapter_id, position);

CREATE TABLE frame (
  id INTEGER PRIMARY KEY,
  subchapter_id INTEGER NOT NULL REFERENCES subchapter(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  description TEXT NOT NULL,
  scene TEXT NOT NULL DEFAULT '',
  review_state TEXT NOT NULL DEFAULT 'draft' CHECK (review_state IN ('draft', 'approved', 'rejected')),
  review_note TEXT,
  reviewed_at TEXT,
  -- set when the description changed after the current keyframe was rendered
  stale INTEGER NOT NULL DEFAULT 0 CHECK (stale IN (0, 1))
);
CREATE INDEX frame_subchapter ON frame (subchapter_id, position);

-- A line follows the after_frame-th frame of its subchapter (0 = before the first frame);
-- seq orders several lines after the same frame.
CREATE TABLE dialogue_line (
  id INTEGER PRIMARY KEY,
  subchapter_id INTEGER NOT NULL REFERENCES subchapter(id) ON DELETE CASCADE,
  after_frame INTEGER NOT NULL CHECK (after_frame >= 0),
  seq INTEGER NOT NULL DEFAULT 0,
  speaker TEXT,
  text TEXT NOT NULL,
  review_state TEXT NOT NULL DEFAULT 'draft' CHECK (review_state IN ('draft', 'approved', 'rejected')),
  review_note TEXT,
  reviewed_at TEXT
);
CREATE INDEX dialogue_subchapter ON dialogue_line (subchapter_id, after_frame, seq);

CREATE TABLE qa_pair (
  id INTEGER PRIMARY KEY,
  film_id INTEGER NOT NULL REFERENCES film(id) ON DELETE CASCADE,
  scope TEXT NOT NULL CHECK (scope IN ('film', 'chapter', 'subchapter')),
  chapter_id INTEGER REFERENCES chapter(id) ON DELETE CASCADE,
  subchapter_id INTEGER REFERENCES subchapter(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  question TEXT NOT NULL,
  answer TEXT NOT NULL,
  kind TEXT NOT NULL DEFAULT 'other'
    CHECK (kind IN ('describe', 'what', 'why', 'how', 'where', 'who', 'when', 'other')),
  review_state TEXT NOT NULL DEFAULT 'draft' CHECK (review_state IN ('draft', 'approved', 'rejected')),
  review_note TEXT,
  reviewed_at TEXT,
  CHECK ((scope = 'film' AND chapter_id IS NULL AND subchapter_id IS NULL)
      OR (scope = 'chapter' AND chapter_id IS NOT NULL AND subchapter_id IS NULL)
      OR (scope = 'subchapter' AND subchapter_id IS NOT NULL))
);
CREATE INDEX qa_film ON qa_pair (film_id, scope, position);
`;
