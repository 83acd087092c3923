import type Database from 'better-sqlite3';
import type { RenderInfo } from '../../shared/api/methods-render';
import { AppError } from '../../shared/errors';
import { mutate } from '../db/mutation';
import { filmIdOf } from '../story/film-reader';
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
