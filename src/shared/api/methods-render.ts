import { z } from 'zod';
import { Id } from './entities';

/**
 * Rendering keyframes: per-film render settings, render jobs for a frame / subchapter / chapter /
 * film, the renders (variants) of a frame and the choice of its keyframe.
 */

export const SCHEDULERS = ['euler', 'euler-a', 'ddim', 'pndm', 'dpmpp-2m', 'lms'] as const;

/** Defaults are the DreamFrame release's keyframe settings (method doc §7). */
export const RenderSettings = z.object({
  /** Model folder (diffusers-style ONNX pipeline); '' = not chosen yet. */
  model: z.string().max(4096).default(''),
  /** SDXL refiner folder; null = base only. */
  refiner: z.string().max(4096).nullable().default(null),
  refinerStart: z.number().gt(0).lt(1).default(0.75),
  scheduler: z.enum(SCHEDULERS).default('euler'),
  steps: z.number().int().min(1).max(500).default(40),
  guidance: z.number().min(0).max(50).default(5),
  width: z.number().int().min(8).max(4096).default(1024),
  height: z.number().int().min(8).max(4096).default(1024),
  negativePrompt: z.string().max(8000).nullable().default(null),
  /** Learned style embedding file; null = none. */
  embedding: z.string().max(4096).nullable().default(null),
  /** Frame i of the film renders with seed baseSeed + i (the release used 20). */
  baseSeed: z.number().int().min(0).max(2 ** 32 - 1).default(20),
  /** Images per frame; variant 0 becomes the keyframe. */
  variants: z.number().int().min(1).max(16).default(1),
}).strict();
export type RenderSettings = z.infer<typeof RenderSettings>;

export const RenderScope = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('film') }).strict(),
  z.object({ kind: z.literal('chapter'), chapterId: Id }).strict(),
  z.object({ kind: z.literal('subchapter'), subchapterId: Id }).strict(),
  z.object({ kind: z.literal('frames'), frameIds: z.array(Id).min(1).max(100_000) }).strict(),
]);
export type RenderScope = z.infer<typeof RenderScope>;

export const RenderInfo = z.object({
  id: Id,
  frameId: Id,
  variant: z.number().int(),
  status: z.enum(['queued', 'running', 'done', 'failed']),
  seed: z.number().int(),
  model: z.string(),
  prompt: z.string(),
  isKeyframe: z.boolean(),
  assetSha256: z.string().nullable(),
  error: z.string().nullable(),
  jobId: Id.nullable(),
  createdAt: z.string(),
});
export type RenderInfo = z.infer<typeof RenderInfo>;

const JobRef = z.object({ jobId: Id });

export const renderMethods = {
  'render.getSettings': { input: z.object({ filmId: Id }).strict(), output: RenderSettings },
  'render.setSettings': {
    input: z.object({ filmId: Id, settings: RenderSettings.partial() }).strict(),
    output: RenderSettings,
  },
  /** Queues a render job; `seed` (single frame only) replaces the seed policy for a re-render. */
  'render.start': {
    input: z.object({
      filmId: Id,
      scope: RenderScope,
      seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
      /** Skip frames whose keyframe is rendered and not stale. */
      onlyMissing: z.boolean().default(false),
    }).strict(),
    output: JobRef,
  },
  'render.prompt': {
    input: z.object({ frameId: Id }).strict(),
    output: z.object({ prompt: z.string(), negativePrompt: z.string(), seed: z.number().int() }),
  },
  'render.list': { input: z.object({ frameId: Id }).strict(), output: z.array(RenderInfo) },
  'render.chooseKeyframe': { input: z.object({ renderId: Id }).strict(), output: RenderInfo },
} as const;
