import { readFileSync } from 'node:fs';
import { AppError } from '../../../shared/errors';
import { writeFileAtomic } from '../../util/atomic-write';
import type { StyleEmbedding } from '../embedding';
import { decodeDiffusers, encodeDiffusers } from './diffusers';
import { decodeDreamframePt, isDreamframePtTensors } from './dreamframe-pt';
import { decodeOurs, encodeOurs, isOursFile } from './ours';
import { looksLikeSafetensors, readSafetensors, type FloatTensor } from './safetensors';
import { decodeSdxlComfy, encodeSdxlComfy, isSdxlComfyTensors } from './sdxl-comfy';
import { looksLikeZip, readTorchZip } from './torch-zip';

/** Formats we can write. */
export type EmbeddingExportFormat = 'ours' | 'diffusers' | 'sdxl-comfy';
export const EXPORT_FORMATS: EmbeddingExportFormat[] = ['ours', 'diffusers', 'sdxl-comfy'];

/** Layouts we recognise when reading (the DreamFrame `{emb, emb2}` layout is import-only). */
export type EmbeddingLayout = EmbeddingExportFormat | 'dreamframe-pt';

export interface LoadedEmbedding {
  embedding: StyleEmbedding;
  layout: EmbeddingLayout;
  container: 'safetensors' | 'torch-zip';
}

export interface ReadOptions {
  /** Keyword to use (overrides the file's, needed when the file carries none). */
  keyword?: string;
}

function fromTensorDict(tensors: Map<string, FloatTensor>, source: string): { embedding: StyleEmbedding; layout: EmbeddingLayout } {
  if (isSdxlComfyTensors(tensors)) return { embedding: decodeSdxlComfy(tensors, source), layout: 'sdxl-comfy' };
  if (isDreamframePtTensors(tensors)) return { embedding: decodeDreamframePt(tensors, source), layout: 'dreamframe-pt' };
  if (tensors.size === 1) return { embedding: decodeDiffusers(tensors, source), layout: 'diffusers' };
  throw new AppError(
    'style.embedding_file_unrecognised',
    `${source}: tensors ${[...tensors.keys()].join(', ') || '(none)'} match no known embedding layout ` +
      '(ours, diffusers {token}, SDXL {clip_l, clip_g}, DreamFrame {emb, emb2})',
  );
}

/** Reads embedding file bytes of any supported format; `source` names the file in errors. */
export function readEmbeddingBytes(bytes: Uint8Array, source: string, options: ReadOptions = {}): LoadedEmbedding {
  let result: LoadedEmbedding;
  if (looksLikeZip(bytes)) {
    const { tensors } = readTorchZip(bytes, source);
    result = { ...fromTensorDict(tensors, source), container: 'torch-zip' };
  } else if (looksLikeSafetensors(bytes)) {
    const file = readSafetensors(bytes, source);
    result = isOursFile(file)
      ? { embedding: decodeOurs(file, source), layout: 'ours', container: 'safetensors' }
      : { ...fromTensorDict(file.tensors, source), container: 'safetensors' };
  } else {
    throw new AppError('style.embedding_file_unrecognised', `${source}: neither a safetensors file nor a torch .pt zip`);
  }
  if (options.keyword) result.embedding.keyword = options.keyword;
  return result;
}

export function readEmbeddingFile(path: string, options: ReadOptions = {}): LoadedEmbedding {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new AppError('style.embedding_file_unreadable', `cannot read ${path}: ${(err as Error).message}`);
  }
  return readEmbeddingBytes(bytes, path, options);
}

export function encodeEmbedding(embedding: StyleEmbedding, format: EmbeddingExportFormat): Uint8Array {
  if (format === 'ours') return encodeOurs(embedding);
  if (format === 'diffusers') return encodeDiffusers(embedding);
  if (format === 'sdxl-comfy') return encodeSdxlComfy(embedding);
  throw new AppError('style.format_unknown', `unknown embedding format "${String(format)}"; use ${EXPORT_FORMATS.join(', ')}`);
}

/** Writes an embedding atomically in the given format. */
export function writeEmbeddingFile(path: string, embedding: StyleEmbedding, format: EmbeddingExportFormat): void {
  writeFileAtomic(path, encodeEmbedding(embedding, format));
}
