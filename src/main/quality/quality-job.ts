import { z } from 'zod';
import { QualityStartInput } from '../../shared/api/methods-quality';
import { AppError } from '../../shared/errors';
import { mutate } from '../db/mutation';
import type { JobContext, JobKind } from '../jobs/runner';
import { readStoredImage } from '../media/image-store';
import { scoreWith } from './film-quality';
import { decodeRgb, type RgbImage } from './preprocess';
import { filmExists, getEmbeddings, getLpips, pairKey, putEmbeddings, putLpips, putQualityScore, qualityFrames } from './repo';
import { BATCH, QualityScorer } from './scorer';
import { textKey } from './text-key';

/**
 * Job kind "quality.score" (gpu lane): scores a film's keyframes. Only what the caches lack under these models is
 * computed — CLIP embeddings of new keyframe images and descriptions, LPIPS of new adjacent pairs — in batches,
 * each written in one transaction with the checkpoint, so a stopped job resumes after its last batch and a
 * second run after one keyframe changed computes that image and its two pairs only. At the end the film's
 * summary (means, flagged frames) is stored for the export manifest.
 */

export const QUALITY_JOB = 'quality.score';

export const QualityJobParams = QualityStartInput.extend({
  /** Converted-model cache (default: qualityCacheDir()). */
  cacheDir: z.string().max(4096).optional(),
});
export type QualityJobParams = z.infer<typeof QualityJobParams>;

/** What a run computed (the rest came from the caches). */
export interface QualityWork { images: number; texts: number; pairs: number }

export interface QualityCheckpoint { work: QualityWork }

async function run(ctx: JobContext<QualityJobParams>): Promise<void> {
  const { db } = ctx.project;
  const { filmId } = ctx.params;
  if (!filmExists(db, filmId)) throw new AppError('not_found', `film ${filmId} does not exist`, { filmId });
  const work: QualityWork = (ctx.checkpoint as QualityCheckpoint | null)?.work ?? { images: 0, texts: 0, pairs: 0 };
  const scorer = await QualityScorer.open({
    clip: ctx.params.clip, lpips: ctx.params.lpips, lpipsSize: ctx.params.lpipsSize, cacheDir: ctx.params.cacheDir, provider: ctx.params.provider,
    warn: (m) => ctx.progress(0, m),
  });
  try {
    const clipHash = scorer.clip.hash;
    const lpipsKey = scorer.lpipsKey;
    const frames = qualityFrames(db, filmId);
    const shas = [...new Set(frames.flatMap((f) => (f.sha256 ? [f.sha256] : [])))];
    const texts = [...new Map(frames.map((f) => [textKey(f.description), f.description])).entries()];
    const pairs: [string, string][] = [];
    for (let i = 0; i + 1 < frames.length; i++) {
      const a = frames[i].sha256;
      const b = frames[i + 1].sha256;
      if (a && b && frames[i].subchapterId === frames[i + 1].subchapterId) pairs.push([a, b]);
    }
    const haveImages = getEmbeddings(db, clipHash, shas);
    const haveTexts = getEmbeddings(db, clipHash, texts.map(([k]) => k));
    const haveLpips = lpipsKey ? getLpips(db, lpipsKey, pairs) : new Map<string, number>();
    const missingImages = shas.filter((s) => !haveImages.has(s));
    const missingTexts = texts.filter(([k]) => !haveTexts.has(k));
    const missingPairs = lpipsKey ? [...new Map(pairs.filter(([a, b]) => !haveLpips.has(pairKey(a, b))).map((p) => [pairKey(...p), p])).values()] : [];
    const total = missingImages.length + missingTexts.length + missingPairs.length || 1;
    let done = 0;
    const step = (n: number, what: string) => {
      done += n;
      ctx.saveCheckpoint({ work } satisfies QualityCheckpoint);
      ctx.progress(done / total, what);
    };
    const decode = async (sha: string): Promise<RgbImage> => decodeRgb(readStoredImage(ctx.project, sha));

    for (let i = 0; i < missingTexts.length; i += BATCH) {
      if (ctx.signal.aborted) return;
      const batch = missingTexts.slice(i, i + BATCH);
      const embeds = await scorer.textEmbeddings(batch.map(([, t]) => t));
      mutate(db, () => {
        putEmbeddings(db, clipHash, batch.map(([k], j) => [k, embeds[j]]));
        work.texts += batch.length;
        step(batch.length, `descriptions ${Math.min(i + BATCH, missingTexts.length)}/${missingTexts.length}`);
      });
    }
    for (let i = 0; i < missingImages.length; i += BATCH) {
      if (ctx.signal.aborted) return;
      const batch = missingImages.slice(i, i + BATCH);
      const embeds = await scorer.imageEmbeddings(await Promise.all(batch.map(decode)));
      mutate(db, () => {
        putEmbeddings(db, clipHash, batch.map((s, j) => [s, embeds[j]]));
        work.images += batch.length;
        step(batch.length, `keyframes ${Math.min(i + BATCH, missingImages.length)}/${missingImages.length}`);
      });
    }
    // LPIPS inputs of the last few images stay around: adjacent pairs share an image.
    const tensors = new Map<string, Float32Array>();
    const tensorOf = async (sha: string): Promise<Float32Array> => {
      let t = tensors.get(sha);
      if (!t) {
        t = scorer.lpipsTensor(await decode(sha));
        tensors.set(sha, t);
        if (tensors.size > 4 * BATCH) tensors.delete(tensors.keys().next().value as string);
      }
      return t;
    };
    for (let i = 0; i < missingPairs.length && lpipsKey; i += BATCH) {
      if (ctx.signal.aborted) return;
      const batch = missingPairs.slice(i, i + BATCH);
      const inputs: [Float32Array, Float32Array][] = [];
      for (const [a, b] of batch) inputs.push([await tensorOf(a), await tensorOf(b)]);
      const distances = await scorer.lpipsDistances(inputs);
      mutate(db, () => {
        putLpips(db, lpipsKey, batch.map(([a, b], j) => ({ a, b, distance: distances[j] })));
        work.pairs += batch.length;
        step(batch.length, `pairs ${Math.min(i + BATCH, missingPairs.length)}/${missingPairs.length}`);
      });
    }

    const quality = scoreWith(db, filmId, clipHash, lpipsKey, new Date().toISOString());
    mutate({ db, events: ctx.events }, (m) => {
      putQualityScore(m.db, filmId, clipHash, lpipsKey, {
        film: quality.film,
        paper: quality.paper,
        chapters: quality.chapters.map(({ subchapters: _s, ...c }) => c),
        flaggedFrameIds: quality.frames.filter((f) => f.flags.length).map((f) => f.frameId),
        work,
      });
      m.touch(filmId, { type: 'film', ids: [filmId] });
    });
    ctx.progress(1, `scored: ${work.images} keyframe(s), ${work.texts} description(s), ${work.pairs} pair(s) computed; the rest cached`);
  } finally {
    await scorer.close();
  }
}

export const qualityJobKind: JobKind<QualityJobParams> = { kind: QUALITY_JOB, lane: 'gpu', params: QualityJobParams, run };
