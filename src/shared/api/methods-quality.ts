import { z } from 'zod';
import { Id } from './entities';

/**
 * Dataset quality (docs/quality.md): the paper's two film metrics — CLIP-Score between adjacent frames and LPIPS
 * between adjacent frames (Table 5: 0.8304 and 0.5316 with the full method) — plus each keyframe's CLIPScore
 * against its description, their means per subchapter, chapter and film, and frames flagged as outliers.
 * Flags are advice for the curator, never a review state.
 */

/** The paper's Table 5, full method. */
export const PAPER_METRICS = { clipScore: 0.8304, lpips: 0.5316 } as const;

export const QualityFlagReason = z.enum(['low_description_score', 'lpips_jump', 'clip_jump']);
export type QualityFlagReason = z.infer<typeof QualityFlagReason>;

export const QualityFlag = z.object({
  reason: QualityFlagReason,
  /** The robust z-score that crossed the threshold (the weaker of the two neighbours for jumps). */
  z: z.number(),
  message: z.string(),
});
export type QualityFlag = z.infer<typeof QualityFlag>;

export const PairQuality = z.object({ clip: z.number(), lpips: z.number().nullable() });
export type PairQuality = z.infer<typeof PairQuality>;

export const FrameQuality = z.object({
  frameId: Id,
  chapterId: Id,
  subchapterId: Id,
  /** Position in the film (0-based, film order). */
  index: z.number().int(),
  /** The keyframe scored (null: the frame has no finished keyframe). */
  sha256: z.string().nullable(),
  /** CLIP cosine of the keyframe with the frame's description (no style prefix), and CLIPScore = 2.5·max(cos, 0). */
  textCosine: z.number().nullable(),
  descriptionClipScore: z.number().nullable(),
  /** The pairs with the previous / next frame of the same subchapter. */
  prev: PairQuality.nullable(),
  next: PairQuality.nullable(),
  flags: z.array(QualityFlag),
  reviewState: z.enum(['draft', 'approved', 'rejected']),
});
export type FrameQuality = z.infer<typeof FrameQuality>;

/** Means over a scope's frames and adjacent pairs (null where nothing was scored). */
export const QualityMeans = z.object({
  /** Mean CLIP image–image cosine of adjacent frames: the paper's CLIP-Score. */
  clipScore: z.number().nullable(),
  /** Mean LPIPS of adjacent frames: the paper's LPIPS. */
  lpips: z.number().nullable(),
  /** Mean CLIPScore of keyframes against their descriptions. */
  descriptionClipScore: z.number().nullable(),
  frames: z.number().int(),
  scoredFrames: z.number().int(),
  pairs: z.number().int(),
  flagged: z.number().int(),
});
export type QualityMeans = z.infer<typeof QualityMeans>;

export const ChapterQuality = QualityMeans.extend({
  chapterId: Id,
  position: z.number().int(),
  title: z.string(),
  subchapters: z.array(QualityMeans.extend({ subchapterId: Id })),
});
export type ChapterQuality = z.infer<typeof ChapterQuality>;

export const FilmQuality = z.object({
  filmId: Id,
  computedAt: z.string(),
  clipHash: z.string(),
  lpipsKey: z.string().nullable(),
  film: QualityMeans,
  paper: z.object({ clipScore: z.number(), lpips: z.number() }),
  chapters: z.array(ChapterQuality),
  frames: z.array(FrameQuality),
});
export type FilmQuality = z.infer<typeof FilmQuality>;

export const QualityStartInput = z.object({
  filmId: Id,
  /** CLIP: Hugging Face folder or optimum-layout ONNX export. */
  clip: z.string().min(1).max(4096),
  /** LPIPS: .onnx file or folder with the two .pth files; null = CLIP only. */
  lpips: z.string().min(1).max(4096).nullable().default(null),
  lpipsSize: z.number().int().min(32).max(4096).default(64),
  /** Execution provider of the metric models ('auto': accelerators first, CPU fallback). */
  provider: z.enum(['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu']).default('cpu'),
}).strict();

export const qualityMethods = {
  /** The film's last computed scores and flags (null: never scored). */
  'quality.film': { input: z.object({ filmId: Id }).strict(), output: FilmQuality.nullable() },
  /** Queues a `quality.score` job on the gpu lane (only changed keyframes are recomputed). */
  'quality.start': { input: QualityStartInput, output: z.object({ jobId: Id }) },
} as const;
