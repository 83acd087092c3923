/**
 * Dataset quality (docs/quality.md). Scores are cached by content, not by frame, so a frame is recomputed only
 * when its keyframe (or description) changes, and the same image scored under another model is cached apart:
 *  - quality_embedding: a CLIP embedding (float32 bytes) of an image (asset sha256) or of a text ('text:' + the
 *    sha256 of its UTF-8), per CLIP content hash;
 *  - quality_lpips: the LPIPS distance of an ordered image pair, per LPIPS content hash and input size;
 *  - quality_score: per film, the models the last `quality.score` job used and its summary (film, chapter and
 *    subchapter means, flagged frames), which the export manifest carries.
 */
export const sql = `
CREATE TABLE quality_embedding (
  content_key TEXT NOT NULL,
  model_hash TEXT NOT NULL,
  embedding BLOB NOT NULL,
  PRIMARY KEY (content_key, model_hash)
) WITHOUT ROWID;

CREATE TABLE quality_lpips (
  sha_a TEXT NOT NULL,
  sha_b TEXT NOT NULL,
  model_key TEXT NOT NULL,
  distance REAL NOT NULL,
  PRIMARY KEY (sha_a, sha_b, model_key)
) WITHOUT ROWID;

CREATE TABLE quality_score (
  film_id INTEGER PRIMARY KEY REFERENCES film(id) ON DELETE CASCADE,
  clip_hash TEXT NOT NULL,
  lpips_key TEXT,
  computed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  summary_json TEXT NOT NULL CHECK (json_valid(summary_json))
);
`;
