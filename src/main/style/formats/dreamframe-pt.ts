import { AppError } from '../../../shared/errors';
import { familyFromWidths, makeVectors, type StyleEmbedding } from '../embedding';
import type { FloatTensor } from './safetensors';

/**
 * The DreamFrame release's `Embeddings/<keyword>.pt`: a torch.save zip of `{"emb": bf16[768], "emb2": bf16[1280]}`,
 * the CLIP-L row and the OpenCLIP-bigG row (dreamframe-method.md §8). The file stores no keyword.
 * The container is read by torch-zip.ts; this module only interprets the dictionary.
 */

export function isDreamframePtTensors(tensors: Map<string, FloatTensor>): boolean {
  return tensors.has('emb') && (tensors.size === 1 || (tensors.size === 2 && tensors.has('emb2')));
}

export function decodeDreamframePt(tensors: Map<string, FloatTensor>, source: string): StyleEmbedding {
  const emb = tensors.get('emb');
  if (!emb) throw new AppError('style.embedding_file_invalid', `${source}: no "emb" tensor`);
  const vectors = [makeVectors(emb.data, emb.shape, `${source} tensor emb`)];
  const emb2 = tensors.get('emb2');
  if (emb2) vectors.push(makeVectors(emb2.data, emb2.shape, `${source} tensor emb2`));
  // Two rows mean the two SDXL encoders whatever their width (the tiny test pipelines are narrower).
  const family = vectors.length === 2 ? 'sdxl' : familyFromWidths(vectors.map((v) => v.width));
  return { vectors, family, keyword: null };
}
