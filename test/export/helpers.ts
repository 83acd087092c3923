import { join } from 'node:path';
import sharp from 'sharp';
import type { ItemRef, ReviewState } from '../../src/shared/api/entities';
import type { Project } from '../../src/main/project/project';
import { setReview } from '../../src/main/story/edits';
import { storeImage, type StoredImage } from '../../src/main/media/image-store';
import { probeClip, type ProbeResult } from '../../src/main/export/ffmpeg';
import { dreamframeFixtureDir } from '../support/paths';

export const storyFixture = join(dreamframeFixtureDir, 'story_info_0.json');

/** Ids of a film's items of one type, in story order. */
export function itemIds(p: Project, filmId: number, type: ItemRef['type']): number[] {
  const sql = {
    frame: `SELECT x.id FROM frame x JOIN subchapter s ON s.id = x.subchapter_id JOIN chapter c ON c.id = s.chapter_id
            WHERE c.film_id = ? ORDER BY c.position, s.position, x.position`,
    dialogue: `SELECT x.id FROM dialogue_line x JOIN subchapter s ON s.id = x.subchapter_id JOIN chapter c ON c.id = s.chapter_id
               WHERE c.film_id = ? ORDER BY c.position, s.position, x.after_frame, x.seq`,
    qa: 'SELECT id FROM qa_pair WHERE film_id = ? ORDER BY position',
  }[type];
  return (p.db.prepare(sql).all(filmId) as { id: number }[]).map((r) => r.id);
}

/** Sets a review state through the app's own edit path (as a curator would). */
export function review(p: Project, type: ItemRef['type'], ids: number[], state: ReviewState): void {
  if (ids.length > 0) setReview(p.db, ids.map((id) => ({ type, id })), state, null);
}

export function approveAll(p: Project, filmId: number): void {
  for (const type of ['frame', 'dialogue', 'qa'] as const) review(p, type, itemIds(p, filmId, type), 'approved');
}

/** ffprobe with a full decode, so the frame count is what a decoder really sees. */
export function probe(file: string): Promise<ProbeResult> {
  return probeClip(file, true);
}

/**
 * Gives every frame of a film a finished keyframe: a small solid-colour PNG through the image store
 * (colour from the frame's position), recorded as a render job would. Cheap stand-in for real renders.
 */
export async function solidKeyframes(p: Project, filmId: number, size = 16): Promise<void> {
  const frames = itemIds(p, filmId, 'frame');
  const pngs = new Map<number, StoredImage>();
  const insert = p.db.prepare(`INSERT INTO render (frame_id, variant, status, asset_sha256, seed, model, is_keyframe) VALUES (?, 0, 'done', ?, 0, 'test', 1)`);
  for (const [i, frameId] of frames.entries()) {
    const shade = i % 16;
    if (!pngs.has(shade)) {
      const png = await sharp({ create: { width: size, height: size, channels: 3, background: { r: shade * 16, g: 255 - shade * 16, b: 128 } } }).png().toBuffer();
      pngs.set(shade, await storeImage(p, png, 'image/png'));
    }
    insert.run(frameId, pngs.get(shade)!.sha256);
  }
}
