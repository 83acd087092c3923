/**
 * Dataset-quality measurements (printed, never asserted), `node --import tsx bench/quality.ts`:
 * - frames scored per second for the release film (story_info_0.json, 1,331 frames) with CLIP (the fixture's
 *   Hugging Face folder, converted by our IR) and LPIPS (built from the fixture's AlexNet + lpips .pth files),
 *   keyframes synthetic: the release style images, one per frame, each with its own brightness so all differ;
 * - re-scoring after one keyframe changed against scoring everything, and an unchanged re-run.
 * BENCH_QUALITY_SIZE sets the keyframe side (default 512); BENCH_QUALITY_FRAMES caps the frame count.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createProjectWithSample } from '../src/main/app/context';
import { EventBus } from '../src/main/app/event-bus';
import { getJob } from '../src/main/jobs/job-store';
import { JobRunner } from '../src/main/jobs/runner';
import type { Project } from '../src/main/project/project';
import { importStoryJsFile } from '../src/main/import/story-js';
import { QUALITY_JOB, qualityJobKind, type QualityWork } from '../src/main/quality/quality-job';
import { getQualityScore, qualityFrames } from '../src/main/quality/repo';
import { storeImage } from '../src/main/media/image-store';

const shared = process.env.DREAMFRAME_SHARED ?? join(import.meta.dirname, '..', '..', 'shared');
const fixtures = join(shared, 'fixtures');
const SIZE = Number(process.env.BENCH_QUALITY_SIZE ?? 512);
const dir = mkdtempSync(join(tmpdir(), 'dreamframe-bench-quality-'));
const ms = (t: number) => performance.now() - t;

async function keyframe(p: Project, frameId: number, bytes: Buffer): Promise<void> {
  const img = await storeImage(p, bytes, 'image/jpeg');
  p.db.prepare('UPDATE render SET is_keyframe = 0 WHERE frame_id = ?').run(frameId);
  p.db.prepare(`INSERT INTO render (frame_id, variant, status, asset_sha256, seed, model, is_keyframe) VALUES (?, 0, 'done', ?, 0, 'bench', 1)`).run(frameId, img.sha256);
}

async function score(p: Project, filmId: number): Promise<{ ms: number; work: QualityWork }> {
  const runner = new JobRunner(p, new EventBus(), [qualityJobKind], 50);
  const t = performance.now();
  const job = runner.enqueue(QUALITY_JOB, {
    filmId, clip: join(fixtures, 'quality', 'clip', 'hf'), lpips: join(fixtures, 'quality', 'lpips'), lpipsSize: 64, cacheDir: join(dir, 'cache'),
  }, filmId);
  await runner.whenIdle();
  const elapsed = ms(t);
  await runner.stop();
  const row = getJob(p.db, job.id)!;
  if (row.status !== 'done') throw new Error(`job ${row.status}: ${row.error?.message}`);
  return { ms: elapsed, work: (JSON.parse(getQualityScore(p.db, filmId)!.summaryJson) as { work: QualityWork }).work };
}

try {
  const p = createProjectWithSample(join(dir, 'project'), false);
  const { filmId } = importStoryJsFile(p, join(fixtures, 'dreamframe', 'story_info_0.json'));
  let frames = qualityFrames(p.db, filmId);
  if (process.env.BENCH_QUALITY_FRAMES) frames = frames.slice(0, Number(process.env.BENCH_QUALITY_FRAMES));
  const styleDir = join(fixtures, 'dreamframe', 'style');
  const styles = readdirSync(styleDir).filter((f) => f.endsWith('.jpg')).sort().map((f) => readFileSync(join(styleDir, f)));
  let t = performance.now();
  const resized = await Promise.all(styles.map((s) => sharp(s).resize(SIZE, SIZE).raw().toBuffer()));
  for (const [i, f] of frames.entries()) {
    const bytes = await sharp(resized[i % resized.length], { raw: { width: SIZE, height: SIZE, channels: 3 } })
      .modulate({ brightness: 0.8 + 0.4 * (i / frames.length) }).jpeg({ quality: 90 }).toBuffer();
    await keyframe(p, f.frameId, bytes);
  }
  if (frames.length < qualityFrames(p.db, filmId).length) {
    // Capped run: drop the frames beyond the cap so the job scores exactly those.
    const keep = new Set(frames.map((f) => f.frameId));
    for (const f of qualityFrames(p.db, filmId)) if (!keep.has(f.frameId)) p.db.prepare('DELETE FROM frame WHERE id = ?').run(f.frameId);
  }
  console.log(`film: ${frames.length} frames, ${SIZE}×${SIZE} JPEG keyframes generated in ${(ms(t) / 1000).toFixed(1)} s`);

  const full = await score(p, filmId);
  console.log(`score all: ${(full.ms / 1000).toFixed(1)} s = ${(frames.length / (full.ms / 1000)).toFixed(1)} frames/s `
    + `(computed ${full.work.images} keyframes, ${full.work.texts} descriptions, ${full.work.pairs} pairs; includes converting both models on first use)`);
  const warm = await (async () => {
    p.db.prepare('DELETE FROM quality_embedding').run();
    p.db.prepare('DELETE FROM quality_lpips').run();
    return score(p, filmId);
  })();
  console.log(`score all, models cached: ${(warm.ms / 1000).toFixed(1)} s = ${(frames.length / (warm.ms / 1000)).toFixed(1)} frames/s`);

  const mid = frames[Math.floor(frames.length / 2)];
  await keyframe(p, mid.frameId, await sharp(styles[0]).resize(SIZE, SIZE).negate().jpeg({ quality: 90 }).toBuffer());
  const one = await score(p, filmId);
  console.log(`re-score after one keyframe changed: ${one.ms.toFixed(0)} ms (computed ${one.work.images} keyframe, ${one.work.pairs} pairs) `
    + `= ${(warm.ms / one.ms).toFixed(0)}× faster than scoring all`);
  const none = await score(p, filmId);
  console.log(`unchanged re-run: ${none.ms.toFixed(0)} ms (computed ${none.work.images + none.work.texts + none.work.pairs} items)`);
  p.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
