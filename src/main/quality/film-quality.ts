import type Database from 'better-sqlite3';
import { PAPER_METRICS, type FilmQuality, type FrameQuality, type QualityFlag, type QualityMeans } from '../../shared/api/methods-quality';
import { clipScore, cosine, mean } from './metrics';
import { DEFAULT_Z_THRESHOLD, robustZ } from './outliers';
import { getEmbeddings, getLpips, getQualityScore, pairKey, qualityFrames, type QualityFrameRow } from './repo';
import { textKey } from './text-key';

/**
 * A film's scores from the caches: per frame the description cosine / CLIPScore and the pairs with its
 * neighbours in the same subchapter, means per subchapter / chapter / film, and outlier flags (outliers.ts):
 *  - low_description_score: the description cosine's robust z < −T;
 *  - lpips_jump: LPIPS to both neighbours has z > T (the frame looks unlike the frames on either side);
 *  - clip_jump: CLIP similarity to both neighbours has z < −T.
 * A frame with one neighbour (first/last of its subchapter) gets no jump flag: one high pair cannot say which of
 * the two frames is the odd one. Everything is read fresh, so review states are current and a keyframe changed
 * since the last job shows as unscored until the job runs again.
 */

export interface FilmScoreInput {
  filmId: number;
  frames: QualityFrameRow[];
  images: Map<string, Float32Array>;
  texts: Map<string, Float32Array>;
  lpips: Map<string, number>;
  clipHash: string;
  lpipsKey: string | null;
  computedAt: string;
  threshold?: number;
}

function means(frames: FrameQuality[], pairs: { clip: number; lpips: number | null }[]): QualityMeans {
  return {
    clipScore: mean(pairs.map((p) => p.clip)),
    lpips: mean(pairs.map((p) => p.lpips)),
    descriptionClipScore: mean(frames.map((f) => f.descriptionClipScore)),
    frames: frames.length,
    scoredFrames: frames.filter((f) => f.textCosine !== null).length,
    pairs: pairs.length,
    flagged: frames.filter((f) => f.flags.length > 0).length,
  };
}

export function computeFilmQuality(input: FilmScoreInput): FilmQuality {
  const T = input.threshold ?? DEFAULT_Z_THRESHOLD;
  const { frames: rows } = input;
  const frames: FrameQuality[] = rows.map((r, index) => {
    const img = r.sha256 ? input.images.get(r.sha256) : undefined;
    const txt = input.texts.get(textKey(r.description));
    const cos = img && txt ? cosine(img, txt) : null;
    return {
      frameId: r.frameId, chapterId: r.chapterId, subchapterId: r.subchapterId, index, sha256: r.sha256,
      textCosine: cos, descriptionClipScore: cos === null ? null : clipScore(cos), prev: null, next: null, flags: [], reviewState: r.reviewState,
    };
  });
  // Pairs: adjacent frames of one subchapter, both with a scored keyframe.
  for (let i = 0; i + 1 < rows.length; i++) {
    const a = rows[i];
    const b = rows[i + 1];
    if (a.subchapterId !== b.subchapterId || !a.sha256 || !b.sha256) continue;
    const ea = input.images.get(a.sha256);
    const eb = input.images.get(b.sha256);
    if (!ea || !eb) continue;
    const pair = { clip: cosine(ea, eb), lpips: input.lpips.get(pairKey(a.sha256, b.sha256)) ?? null };
    frames[i].next = pair;
    frames[i + 1].prev = pair;
  }

  const textZ = robustZ(frames.flatMap((f) => (f.textCosine === null ? [] : [f.textCosine])));
  const pairs = frames.flatMap((f) => (f.next ? [f.next] : []));
  const lpipsZ = robustZ(pairs.flatMap((p) => (p.lpips === null ? [] : [p.lpips])));
  const clipZ = robustZ(pairs.map((p) => p.clip));
  for (const f of frames) {
    const flags: QualityFlag[] = [];
    if (f.textCosine !== null) {
      const z = textZ(f.textCosine);
      if (z < -T) flags.push({ reason: 'low_description_score', z, message: `keyframe matches its description far less than the film's frames do (CLIP cosine ${f.textCosine.toFixed(3)}, z ${z.toFixed(1)})` });
    }
    if (f.prev && f.next) {
      if (f.prev.lpips !== null && f.next.lpips !== null) {
        const z = Math.min(lpipsZ(f.prev.lpips), lpipsZ(f.next.lpips));
        if (z > T) flags.push({ reason: 'lpips_jump', z, message: `looks unlike both neighbours (LPIPS ${f.prev.lpips.toFixed(3)} / ${f.next.lpips.toFixed(3)}, z ≥ ${z.toFixed(1)})` });
      }
      const z = Math.max(clipZ(f.prev.clip), clipZ(f.next.clip));
      if (z < -T) flags.push({ reason: 'clip_jump', z, message: `semantically unlike both neighbours (CLIP ${f.prev.clip.toFixed(3)} / ${f.next.clip.toFixed(3)}, z ≤ ${z.toFixed(1)})` });
    }
    f.flags = flags;
  }

  const chapterIds = [...new Set(rows.map((r) => r.chapterId))];
  const chapters = chapterIds.map((chapterId) => {
    const inChapter = frames.filter((f) => f.chapterId === chapterId);
    const row = rows.find((r) => r.chapterId === chapterId)!;
    const subIds = [...new Set(inChapter.map((f) => f.subchapterId))];
    return {
      chapterId, position: row.chapterPosition, title: row.chapterTitle,
      ...means(inChapter, inChapter.flatMap((f) => (f.next ? [f.next] : []))),
      subchapters: subIds.map((subchapterId) => {
        const inSub = inChapter.filter((f) => f.subchapterId === subchapterId);
        return { subchapterId, ...means(inSub, inSub.flatMap((f) => (f.next ? [f.next] : []))) };
      }),
    };
  });
  return {
    filmId: input.filmId, computedAt: input.computedAt, clipHash: input.clipHash, lpipsKey: input.lpipsKey,
    film: means(frames, pairs), paper: { ...PAPER_METRICS }, chapters, frames,
  };
}

/** The film's scores under the models of its last `quality.score` job; null when it was never scored. */
export function filmQuality(db: Database.Database, filmId: number, threshold?: number): FilmQuality | null {
  const score = getQualityScore(db, filmId);
  if (!score) return null;
  return scoreWith(db, filmId, score.clipHash, score.lpipsKey, score.computedAt, threshold);
}

export function scoreWith(db: Database.Database, filmId: number, clipHash: string, lpipsKey: string | null, computedAt: string, threshold?: number): FilmQuality {
  const frames = qualityFrames(db, filmId);
  const shas = frames.flatMap((f) => (f.sha256 ? [f.sha256] : []));
  const images = getEmbeddings(db, clipHash, shas);
  const texts = getEmbeddings(db, clipHash, frames.map((f) => textKey(f.description)));
  const pairList: [string, string][] = [];
  for (let i = 0; i + 1 < frames.length; i++) {
    const a = frames[i].sha256;
    const b = frames[i + 1].sha256;
    if (a && b && frames[i].subchapterId === frames[i + 1].subchapterId) pairList.push([a, b]);
  }
  const lpips = lpipsKey ? getLpips(db, lpipsKey, pairList) : new Map<string, number>();
  return computeFilmQuality({ filmId, frames, images, texts, lpips, clipHash, lpipsKey, computedAt, threshold });
}
