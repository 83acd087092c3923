import { AppError } from '../../../shared/errors';
import { familyFromWidths, makeVectors, type StyleEmbedding } from '../embedding';
import { writeSafetensors, type FloatTensor } from './safetensors';

/**
 * diffusers' textual-inversion `learned_embeds.safetensors`: a single tensor named after the placeholder token,
 * [rows, width] (older files: [width]), with metadata `{"format": "pt"}`. It holds one text encoder's vectors,
 * so SDXL embeddings go to the `sdxl-comfy` format instead.
 */

export function encodeDiffusers(embedding: StyleEmbedding): Uint8Array {
  if (embedding.vectors.length !== 1) {
    throw new AppError(
      'style.format_unsuitable',
      'diffusers learned_embeds holds one text encoder\'s vectors, but this is a two-encoder (SDXL) embedding; use the sdxl-comfy format',
    );
  }
  if (!embedding.keyword) {
    throw new AppError('style.keyword_required', 'diffusers learned_embeds names its tensor after the token; give a keyword');
  }
  const v = embedding.vectors[0];
  const tensors = new Map<string, FloatTensor>([[embedding.keyword, { shape: [v.rows, v.width], data: v.data }]]);
  return writeSafetensors(tensors, { format: 'pt' });
}

/** Interprets a single-tensor dictionary `{token: [rows, width] | [width]}` (from safetensors or a torch .bin). */
export function decodeDiffusers(tensors: Map<string, FloatTensor>, source: string): StyleEmbedding {
  if (tensors.size !== 1) {
    throw new AppError(
      'style.embedding_file_invalid',
      `${source}: a diffusers embedding holds exactly one tensor, found ${tensors.size} (${[...tensors.keys()].join(', ')})`,
    );
  }
  const [[token, t]] = [...tensors];
  const vectors = [makeVectors(t.data, t.shape, `${source} tensor ${token}`)];
  // kohya's single-tensor files name the tensor `emb_params`, which is no keyword.
  return { vectors, family: familyFromWidths([vectors[0].width]), keyword: token === 'emb_params' ? null : token };
}
