import type Database from 'better-sqlite3';
import type { RenderInfo } from '../../shared/api/methods-render';
import { AppError } from '../../shared/errors';
import { mutate } from '../db/mutation';
import { filmIdOf } from '../story/film-reader';
import { FRAMES_WITH_OUTLINE } from '../story/outline-joins';
import { returnFramesToReview } from '../story/review-return';

/** Rows of the `render` table as the API shows them, and the keyframe choice. */

interface RenderRow {
  id: number; frame_id: number; variant: number; status: RenderInfo['status']; seed: number; model: string; prompt: string;
  is_keyframe: number; asset_sha256: string | null; error: string | null; job_id: number | null; created_at: string;
}

function renderFromRow(r: RenderRow): RenderInfo {
  return {
    id: r.id, frameId: r.frame_id, variant: r.variant, status: r.status, seed: r.seed, model: r.model, prompt: r.prompt,
    isKeyframe: r.is_keyframe === 1, assetSha256: r.asset_sha256, error: r.error, jobId: r.job_id, createdAt: r.created_at,
  };
}

/** A frame's renders, newest first (`not_found` for an unknown frame). */
export function listRenders(db: Database.Database, frameId: number): RenderInfo[] {
  filmIdOf(db, 'frame', frameId);
  return db.prepare<[number], RenderRow>('SELECT * FROM render WHERE frame_id = ? ORDER BY id DESC').all(frameId).map(renderFromRow);
}

/** Makes a finished render its frame's keyframe (the frame's previous keyframe stops being one). */
export function chooseKeyframe(db: Database.Database, renderId: number): RenderInfo {
  return mutate(db, (m) => {
    const row = db.prepare<[number], RenderRow>('SELECT * FROM render WHERE id = ?').get(renderId);
    if (!row) throw new AppError('not_found', `No render with id ${renderId}`, { renderId });
    if (row.status !== 'done') throw new AppError('render.not_done', `Render ${renderId} is ${row.status}, only finished renders can be the keyframe`, { renderId });
    db.prepare('UPDATE render SET is_keyframe = 0 WHERE frame_id = ? AND is_keyframe = 1').run(row.frame_id);
    db.prepare('UPDATE render SET is_keyframe = 1 WHERE id = ?').run(renderId);
    if (row.is_keyframe !== 1) returnFramesToReview(db, [row.frame_id], 'keyframe changed');
    m.touch(filmIdOf(db, 'frame', row.frame_id), { type: 'frame', ids: [row.frame_id] }, { type: 'render', ids: [renderId] });
    return renderFromRow({ ...row, is_keyframe: 1 });
  });
}

/** Whether a frame already has a finished keyframe and is not stale (what `onlyMissing` skips). */
export function hasFreshKeyframe(db: Database.Database, frameId: number): boolean {
  return db.prepare(`SELECT 1 FROM render r JOIN frame f ON f.id = r.frame_id
    WHERE r.frame_id = ? AND r.is_keyframe = 1 AND r.status = 'done' AND f.stale = 0 LIMIT 1`).get(frameId) !== undefined;
}

/** Whether a frame has any finished render (editing its description then makes it stale). */
export function hasFinishedRender(db: Database.Database, frameId: number): boolean {
  return db.prepare<[number], { one: number }>("SELECT 1 AS one FROM render WHERE frame_id = ? AND status = 'done' LIMIT 1").get(frameId) !== undefined;
}

/** What every render row of one frame's attempt shares. */
export interface RenderRun { model: string; prompt: string; settingsJson: string; jobId: number }

const INSERT_RENDER = `INSERT INTO render (frame_id, variant, status, asset_sha256, seed, model, prompt,
  settings_json, is_keyframe, error, job_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** Records a frame's failed attempt as a `failed` row (variant = the images it made before failing). */
export function insertFailedRender(db: Database.Database, frameId: number, variant: number, run: RenderRun, error: string): number {
  return mutate(db, () => Number(db.prepare(INSERT_RENDER)
    .run(frameId, variant, 'failed', null, 0, run.model, run.prompt, run.settingsJson, 0, error, run.jobId).lastInsertRowid));
}

/**
 * Records a frame's new images as `done` rows, variant 0 as its keyframe (the previous keyframe stops
 * being one), and the frame is no longer stale. Returns the new render ids.
 */
export function insertFrameRenders(db: Database.Database, frameId: number, images: { variant: number; seed: number; sha256: string }[],
  run: RenderRun): number[] {
  return mutate(db, () => {
    db.prepare('UPDATE render SET is_keyframe = 0 WHERE frame_id = ? AND is_keyframe = 1').run(frameId);
    const insert = db.prepare(INSERT_RENDER);
    const ids = images.map((img) => Number(insert.run(frameId, img.variant, 'done', img.sha256, img.seed, run.model, run.prompt,
      run.settingsJson, img.variant === 0 ? 1 : 0, null, run.jobId).lastInsertRowid));
    db.prepare('UPDATE frame SET stale = 0 WHERE id = ?').run(frameId);
    return ids;
  });
}

/** Ids of the project's stale frames (their description changed since their keyframe was rendered). */
export function staleFrameIds(db: Database.Database): number[] {
  return db.prepare<[], { id: number }>('SELECT id FROM frame WHERE stale = 1').all().map((r) => r.id);
}

/** A frame's description (undefined once the frame is deleted). */
export function frameDescription(db: Database.Database, frameId: number): string | undefined {
  return db.prepare<unknown[], { description: string }>('SELECT description FROM frame WHERE id = ?').get(frameId)?.description;
}

/** A film's frame with its outline ids, as a render scope selects frames. */
export interface OutlineFrameRow { frameId: number; description: string; subchapterId: number; chapterId: number }

/** Every frame of a film in film order (chapter, subchapter, frame positions; ids break ties). */
export function filmFrameRows(db: Database.Database, filmId: number): OutlineFrameRow[] {
  return db.prepare<[number], OutlineFrameRow>(`SELECT fr.id AS frameId, fr.description, s.id AS subchapterId, c.id AS chapterId
    FROM ${FRAMES_WITH_OUTLINE}
    WHERE c.film_id = ? ORDER BY c.position, c.id, s.position, s.id, fr.position, fr.id`).all(filmId);
}

/** A film's chapter ids in order (1-based scope specs count them). */
export function chapterIdsInOrder(db: Database.Database, filmId: number): number[] {
  return db.prepare<[number], { id: number }>('SELECT id FROM chapter WHERE film_id = ? ORDER BY position, id').all(filmId).map((r) => r.id);
}

/** A chapter's subchapter ids in order. */
export function subchapterIdsInOrder(db: Database.Database, chapterId: number): number[] {
  return db.prepare<[number], { id: number }>('SELECT id FROM subchapter WHERE chapter_id = ? ORDER BY position, id').all(chapterId).map((r) => r.id);
}
