import { z } from 'zod';
import { Id } from './entities';

/**
 * The model library: Stable Diffusion models imported once into a per-user folder (outside projects),
 * listed with what a curator needs to pick one, and the import itself as a job with progress.
 */

export const MODEL_FAMILIES = ['sd1', 'sd2', 'sdxl', 'sdxl-refiner'] as const;
export const ModelFamily = z.enum(MODEL_FAMILIES);
export type ModelFamily = z.infer<typeof ModelFamily>;

export const LibraryModel = z.object({
  /** The model's folder name inside the library (stable; used to remove it). */
  id: z.string(),
  /** A readable name: the source file or folder name. */
  name: z.string(),
  /** Absolute path of the ONNX folder: what render and style settings store. */
  dir: z.string(),
  family: ModelFamily,
  prediction: z.enum(['epsilon', 'v_prediction']),
  nativeWidth: z.number().int(),
  nativeHeight: z.number().int(),
  dtype: z.enum(['float32', 'float16']),
  sizeOnDisk: z.number().int(),
  /** SHA-256 of the source (models/source: the file's own sha256, or a manifest of its files', --vae included). */
  sourceHash: z.string(),
  source: z.string(),
  /** The options it was imported with that change the result (a later import reuses it only when they match). */
  importOptions: z.object({
    fp16: z.boolean(),
    family: ModelFamily.nullable(),
    prediction: z.enum(['epsilon', 'v']).nullable(),
    config: z.string().nullable(),
  }),
  importedAt: z.string(),
});
export type LibraryModel = z.infer<typeof LibraryModel>;

export const ModelImportParams = z.object({
  /** A .safetensors single-file checkpoint or a diffusers folder. */
  source: z.string().min(1).max(4096),
  fp16: z.boolean().default(false),
  family: ModelFamily.optional(),
  prediction: z.enum(['epsilon', 'v']).optional(),
  /** A diffusers config folder for non-standard architectures. */
  config: z.string().min(1).max(4096).optional(),
  /** A separate VAE file (LDM or diffusers layout). */
  vae: z.string().min(1).max(4096).optional(),
}).strict();
export type ModelImportParams = z.infer<typeof ModelImportParams>;

export const modelMethods = {
  'models.list': {
    input: z.object({}).strict(),
    output: z.object({ dir: z.string(), models: z.array(LibraryModel), problems: z.array(z.string()) }),
  },
  /** Queues the import as a job (lane "import"); the new model appears in `models.list` when it finishes. */
  'models.import': { input: ModelImportParams, output: z.object({ jobId: Id }) },
  'models.remove': { input: z.object({ id: z.string().min(1).max(255) }).strict(), output: z.object({ removed: z.boolean() }) },
  /** Moves where the library lives (for new imports and listing); existing models stay where they are. */
  'models.setDir': { input: z.object({ dir: z.string().min(1).max(4096) }).strict(), output: z.object({ dir: z.string() }) },
} as const;
