import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Project } from '../../src/main/project/project';
import { qualityFrames } from '../../src/main/quality/repo';
import { storeImage } from '../../src/main/media/image-store';
import { STYLE_IMAGES } from './fixture';

/**
 * A scored-film fixture: the sample film with the release style images as keyframes (frame i shows image i of
 * the folder, so neighbours are mostly views of one location), and a few frames made different on purpose.
 */

const styleFiles = readdirSync(STYLE_IMAGES).filter((f) => f.endsWith('.jpg')).sort();

/** Makes `bytes` the frame's finished keyframe, as a render job would. */
export async function setKeyframe(project: Project, frameId: number, bytes: Buffer, mime: string): Promise<string> {
  const img = await storeImage(project, bytes, mime);
  project.db.prepare('UPDATE render SET is_keyframe = 0 WHERE frame_id = ?').run(frameId);
  project.db.prepare(`INSERT INTO render (frame_id, variant, status, asset_sha256, seed, model, is_keyframe) VALUES (?, 0, 'done', ?, 0, 'test', 1)`)
    .run(frameId, img.sha256);
  return img.sha256;
}

/** A 96×96 PNG of uniform noise (an LCG seeded by `seed`). */
export function noise(seed: number): Promise<Buffer> {
  const px = Buffer.alloc(96 * 96 * 3);
  let s = seed >>> 0;
  for (let i = 0; i < px.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    px[i] = s >>> 24;
  }
  return sharp(px, { raw: { width: 96, height: 96, channels: 3 } }).png().toBuffer();
}

/** Gives every frame of the film a style image and two mid-subchapter frames noise; returns the noise frames' ids. */
export async function keyframeFilm(project: Project, filmId: number): Promise<number[]> {
  const frames = qualityFrames(project.db, filmId);
  for (const [i, f] of frames.entries()) await setKeyframe(project, f.frameId, readFileSync(join(STYLE_IMAGES, styleFiles[i % styleFiles.length])), 'image/jpeg');
  // Noise in the middle of subchapters (two neighbours each), so a jump on both sides can be seen.
  const middles = frames.filter((f, i) => i > 0 && i + 1 < frames.length && frames[i - 1].subchapterId === f.subchapterId && frames[i + 1].subchapterId === f.subchapterId);
  const planted = [middles[0].frameId, middles[Math.floor(middles.length / 2)].frameId];
  for (const [k, id] of planted.entries()) await setKeyframe(project, id, await noise(k + 1), 'image/png');
  return planted;
}
