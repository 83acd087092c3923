import { z } from 'zod';
import { Id, Job } from './entities';

/**
 * Style immobilization per film: the film's style images (imported or generated), the textual-inversion
 * training job with its loss curve and previews, and the learned embeddings (one can be active for rendering).
 */

export const StyleImageInfo = z.object({
  id: Id,
  sha256: z.string(),
  /** Media key for the API's media route: `asset/<sha256>`. */
  mediaKey: z.string(),
  source: z.enum(['generated', 'imported']),
  position: z.number().int(),
  included: z.boolean(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
});
export type StyleImageInfo = z.infer<typeof StyleImageInfo>;

export const EmbeddingInfo = z.object({
  id: Id,
  /** Absolute path of the embedding file (our safetensors format). */
  file: z.string(),
  family: z.string(),
  steps: z.number().int(),
  loss: z.number().nullable(),
  active: z.boolean(),
  createdAt: z.string(),
});
export type EmbeddingInfo = z.infer<typeof EmbeddingInfo>;

/** Training settings; defaults are the DreamFrame release's (method doc §6). */
export const StyleLearnSettings = z.object({
  steps: z.number().int().min(1).max(100_000).optional(),
  /** `rate:endStep, …` (A1111 syntax); default the release schedule. */
  lrSchedule: z.string().max(2000).optional(),
  accumulation: z.number().int().min(1).max(256).default(2),
  batchSize: z.number().int().min(1).max(64).default(1),
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(46),
  /** 'random' or an existing single-token word whose row starts the vector. */
  init: z.string().min(1).max(100).default('random'),
  /** Prompt templates with `{}` for the keyword; default the release's 20. */
  templates: z.array(z.string().max(1000)).min(1).max(1000).optional(),
  previewEvery: z.number().int().min(0).max(100_000).default(0),
  previewSteps: z.number().int().min(1).max(200).default(20),
  checkpointEvery: z.number().int().min(1).max(100_000).default(50),
  /** Training resolution in pixels (square); default the model's native size. */
  size: z.number().int().min(8).max(4096).optional(),
  /** ONNX Runtime execution provider; 'cpu' is bit-reproducible across resumes, 'auto' takes an accelerator when present. */
  provider: z.enum(['cpu', 'auto', 'cuda', 'dml', 'coreml', 'webgpu']).default('cpu'),
  /** ORT intra-op threads; fixed counts keep CPU runs bit-reproducible across resumes. */
  threads: z.number().int().min(1).max(256).optional(),
}).strict();
export type StyleLearnSettings = z.infer<typeof StyleLearnSettings>;

export const LossPoint = z.object({ step: z.number().int(), loss: z.number() });

export const StyleJobInfo = z.object({
  job: Job,
  losses: z.array(LossPoint),
  previews: z.array(z.object({ step: z.number().int(), sha256: z.string(), mediaKey: z.string() })),
  totalSteps: z.number().int().nullable(),
  embeddingId: Id.nullable(),
});
export type StyleJobInfo = z.infer<typeof StyleJobInfo>;

export const StyleState = z.object({
  filmId: Id,
  styleId: Id.nullable(),
  keyword: z.string(),
  description: z.string(),
  images: z.array(StyleImageInfo),
  /** Settings of the last training started from this film (the form's initial values). */
  settings: z.record(z.string(), z.unknown()),
  embeddings: z.array(EmbeddingInfo),
  activeEmbeddingId: Id.nullable(),
  latestJob: StyleJobInfo.nullable(),
});
export type StyleState = z.infer<typeof StyleState>;

const FilmRef = z.object({ filmId: Id }).strict();

export const styleMethods = {
  'style.get': { input: FilmRef, output: StyleState },
  'style.importImages': {
    input: z.object({ filmId: Id, folder: z.string().min(1).max(4096) }).strict(),
    output: z.object({ added: z.number().int(), skipped: z.number().int(), images: z.array(StyleImageInfo) }),
  },
  'style.generateImages': {
    input: z.object({
      filmId: Id,
      modelDir: z.string().min(1).max(4096),
      count: z.number().int().min(1).max(200).default(10),
      seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
      steps: z.number().int().min(1).max(200).default(30),
      width: z.number().int().min(8).max(4096).optional(),
      height: z.number().int().min(8).max(4096).optional(),
    }).strict(),
    output: z.object({ jobId: Id }),
  },
  'style.setImageIncluded': {
    input: z.object({ imageId: Id, included: z.boolean() }).strict(),
    output: StyleImageInfo,
  },
  'style.learn': {
    input: z.object({ filmId: Id, modelDir: z.string().min(1).max(4096), settings: StyleLearnSettings.prefault({}) }).strict(),
    output: z.object({ jobId: Id }),
  },
  'style.useEmbedding': {
    input: z.object({ filmId: Id, embeddingId: Id.nullable() }).strict(),
    output: z.object({ activeEmbeddingId: Id.nullable(), renderEmbedding: z.string().nullable() }),
  },
  'style.importEmbedding': {
    input: z.object({ filmId: Id, file: z.string().min(1).max(4096) }).strict(),
    output: EmbeddingInfo,
  },
} as const;
