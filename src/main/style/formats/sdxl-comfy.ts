import { AppError } from '../../../shared/errors';
import { makeVectors, type StyleEmbedding } from '../embedding';
import { writeSafetensors, type FloatTensor } from './safetensors';

/**
 * The SDXL embedding layout read by A1111 and ComfyUI (`comfy/sdxl_clip.py`) and written by kohya and the
 * diffusers SDXL scripts: `clip_l` [rows, 768] for CLIP-L (text_encoder) and `clip_g` [rows, 1280] for
 * OpenCLIP bigG (text_encoder_2). The file carries no keyword: the tools use the file name as the trigger word.
 */

export function encodeSdxlComfy(embedding: StyleEmbedding): Uint8Array {
  if (embedding.vectors.length !== 2) {
    throw new AppError(
      'style.format_unsuitable',
      'the sdxl-comfy format needs two vector blocks (clip_l and clip_g), but this is a single-encoder embedding; use the diffusers format',
    );
  }
  const [l, g] = embedding.vectors;
  const tensors = new Map<string, FloatTensor>([
    ['clip_g', { shape: [g.rows, g.width], data: g.data }],
    ['clip_l', { shape: [l.rows, l.width], data: l.data }],
  ]);
  return writeSafetensors(tensors);
}

export function isSdxlComfyTensors(tensors: Map<string, FloatTensor>): boolean {
  return tensors.has('clip_l') && tensors.has('clip_g');
}

export function decodeSdxlComfy(tensors: Map<string, FloatTensor>, source: string): StyleEmbedding {
  const l = tensors.get('clip_l');
  const g = tensors.get('clip_g');
  if (!l || !g) throw new AppError('style.embedding_file_invalid', `${source}: needs both clip_l and clip_g tensors`);
  const vectors = [makeVectors(l.data, l.shape, `${source} tensor clip_l`), makeVectors(g.data, g.shape, `${source} tensor clip_g`)];
  if (vectors[0].rows !== vectors[1].rows) {
    throw new AppError('style.embedding_file_invalid', `${source}: clip_l has ${vectors[0].rows} rows but clip_g ${vectors[1].rows}`);
  }
  return { vectors, family: 'sdxl', keyword: null };
}
