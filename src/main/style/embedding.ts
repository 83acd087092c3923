import { AppError } from '../../shared/errors';

/** Model families an embedding can belong to, decided by text-encoder widths. */
export type ModelFamily = 'sd1' | 'sd2' | 'sdxl';

export const FAMILY_LABEL: Record<ModelFamily, string> = { sd1: 'SD 1.x', sd2: 'SD 2.x', sdxl: 'SDXL' };

/** A [rows, width] block of learned token vectors for one text encoder (rows is 1 for our trainer). */
export interface EmbeddingVectors {
  rows: number;
  width: number;
  data: Float32Array;
}

/**
 * A style embedding in memory, independent of file format. `vectors` follows the pipeline's encoder order:
 * `[text_encoder]` for SD 1.x/2.x, `[text_encoder (CLIP-L), text_encoder_2 (OpenCLIP bigG)]` for SDXL.
 */
export interface StyleEmbedding {
  vectors: EmbeddingVectors[];
  /** Null when the widths are not a known family's (e.g. the tiny test pipelines) and nothing else says. */
  family: ModelFamily | null;
  /** The word whose token row the vectors replace; null when the file does not say. */
  keyword: string | null;
  steps?: number;
  loss?: number;
}

/** Family from text-encoder widths (as InvokeAI's probe does): 768 → SD 1.x, 1024 → SD 2.x, 768+1280 → SDXL. */
export function familyFromWidths(widths: number[]): ModelFamily | null {
  if (widths.length === 1 && widths[0] === 768) return 'sd1';
  if (widths.length === 1 && widths[0] === 1024) return 'sd2';
  if (widths.length === 2 && widths[0] === 768 && widths[1] === 1280) return 'sdxl';
  return null;
}

export function describeWidths(widths: number[]): string {
  const family = familyFromWidths(widths);
  return `${widths.join('+')}${family ? ` (${FAMILY_LABEL[family]})` : ''}`;
}

/** Wraps flat vectors (one [width] or [rows, width] per encoder) with validation. */
export function makeVectors(data: Float32Array, shape: number[], where: string): EmbeddingVectors {
  let rows: number;
  let width: number;
  if (shape.length === 1) [rows, width] = [1, shape[0]];
  else if (shape.length === 2) [rows, width] = [shape[0], shape[1]];
  else throw new AppError('style.embedding_invalid', `${where}: expected a [width] or [rows, width] tensor, got shape [${shape}]`);
  if (rows < 1 || width < 1 || rows * width !== data.length) {
    throw new AppError('style.embedding_invalid', `${where}: shape [${shape}] does not match ${data.length} values`);
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new AppError('style.embedding_invalid', `${where}: value ${i} is ${data[i]}`);
  }
  return { rows, width, data };
}

/**
 * Throws a clear `style.width_mismatch` error unless the embedding has one vector block per text encoder of
 * the target model with matching widths.
 */
export function checkEmbeddingFitsModel(embedding: StyleEmbedding, modelWidths: number[], modelName: string): void {
  const widths = embedding.vectors.map((v) => v.width);
  const same = widths.length === modelWidths.length && widths.every((w, i) => w === modelWidths[i]);
  if (same) return;
  throw new AppError(
    'style.width_mismatch',
    `The embedding${embedding.keyword ? ` "${embedding.keyword}"` : ''} has vector width ${describeWidths(widths)}, ` +
      `but the model ${modelName} has text-encoder width ${describeWidths(modelWidths)}; it was made for another model family.`,
    { embeddingWidths: widths, modelWidths },
  );
}
