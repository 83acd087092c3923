import { z } from 'zod';
import { Id } from './entities';

/**
 * Rendering keyframes: per-film render settings, render jobs for a frame / subchapter / chapter /
 * film, the renders (variants) of a frame and the choice of its keyframe.
 */

export const SCHEDULERS = ['euler', 'euler-a', 'ddim', 'pndm', 'dpmpp-2m', 'lms'] as const;

/** The fields of a film's render settings, without their defaults (a patch names only what it changes). */
const renderSettingFields = {
  /** Model folder (diffusers-style ONNX pipeline); '' = not chosen yet. */
  model: z.string().max(4096),
  /** SDXL refiner folder; null = base only. */
  refiner: z.string().max(4096).nullable(),
  refinerStart: z.number().gt(0).lt(1),
  scheduler: z.enum(SCHEDULERS),
  steps: z.number().int().min(1).max(500),
  guidance: z.number().min(0).max(50),
  /** null = the model's native size (unet sample_size × VAE factor: 512 SD 1.5, 768 SD 2.x 768-v, 1024 SDXL), resolved at render time. */
  width: z.number().int().min(8).max(4096).nullable(),
  height: z.number().int().min(8).max(4096).nullable(),
  negativePrompt: z.string().max(8000).nullable(),
  /** Learned style embedding file; null = none. */
  embedding: z.string().max(4096).nullable(),
  /** Frame i of the film renders with seed baseSeed + i (the release used 20). */
  baseSeed: z.number().int().min(0).max(2 ** 32 - 1),
  /** Images per frame; variant 0 becomes the keyframe. */
  variants: z.number().int().min(1).max(16),
};

/** Defaults are the DreamFrame release's keyframe settings (method doc §7), except the size: the model's own. */
export const RenderSettings = z.object({
  model: renderSettingFields.model.default(''),
  refiner: renderSettingFields.refiner.default(null),
  refinerStart: renderSettingFields.refinerStart.default(0.75),
  scheduler: renderSettingFields.scheduler.default('euler'),
  steps: renderSettingFields.steps.default(40),
  guidance: renderSettingFields.guidance.default(5),
  width: renderSettingFields.width.default(null),
  height: renderSettingFields.height.default(null),
  negativePrompt: renderSettingFields.negativePrompt.default(null),
  embedding: renderSettingFields.embedding.default(null),
  baseSeed: renderSettingFields.baseSeed.default(20),
  variants: renderSettingFields.variants.default(1),
}).strict();
export type RenderSettings = z.infer<typeof RenderSettings>;

/**
 * A change to the settings: only the fields it names (RenderSettings.partial() would fill the others with
 * their defaults, and a patch of one field would reset the rest).
 */
export const RenderSettingsPatch = z.object(renderSettingFields).partial().strict();
export type RenderSettingsPatch = z.infer<typeof RenderSettingsPatch>;

/** Where a render size comes from: the film's settings, or the model's native size (the setting is unset). */
export const SizeSource = z.enum(['film', 'model']);
export type SizeSource = z.infer<typeof SizeSource>;

/** The size a render job would use now, and where each value comes from (for the settings form). */
export const ResolvedRenderSize = z.object({
  /** null when unset and the model's native size is unknown (no model chosen, or its configs unreadable). */
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  widthSource: SizeSource,
  heightSource: SizeSource,
  /** unet sample_size × VAE factor of the chosen model; null when unknown. */
  nativeSize: z.number().int().nullable(),
  /** Why nativeSize is unknown; null when known. */
  note: z.string().nullable(),
});
export type ResolvedRenderSize = z.infer<typeof ResolvedRenderSize>;

/** What render.getSettings / setSettings return: the stored settings plus the resolved size. */
export const RenderSettingsView = RenderSettings.extend({ resolved: ResolvedRenderSize });
export type RenderSettingsView = z.infer<typeof RenderSettingsView>;

/** The stored settings of a view (what render.setSettings takes back). */
export function storedRenderSettings(view: RenderSettingsView): RenderSettings {
  const { resolved: _resolved, ...settings } = view;
  return settings;
}

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
  'render.getSettings': { input: z.object({ filmId: Id }).strict(), output: RenderSettingsView },
  /** width/height null return to the model's native size. */
  'render.setSettings': {
    input: z.object({ filmId: Id, settings: RenderSettingsPatch }).strict(),
    output: RenderSettingsView,
  },
  /** Queues a render job; `seed` (single frame only) replaces the seed policy for a re-render. */
  'render.start': {
    input: z.object({
      filmId: Id,
      scope: RenderScope,
      seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
      /**
       * Images for each frame in this job instead of the film's `variants` setting (single frame only): with `seed`,
       * a re-render with N new seeds (seed + v × 100003); variant 0 becomes the keyframe, the others stay to compare.
       */
      variants: renderSettingFields.variants.optional(),
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
