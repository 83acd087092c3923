import { AppError } from '../../../shared/errors';
import { familyFromWidths, makeVectors, type ModelFamily, type StyleEmbedding } from '../embedding';
import { writeSafetensors, type FloatTensor, type SafetensorsFile } from './safetensors';

/**
 * Our own embedding file: safetensors with one float32 [rows, width] tensor per text encoder, named after the
 * pipeline component it belongs to (`text_encoder`, `text_encoder_2`), and metadata saying what it is:
 * format tag, version, model family, keyword, training steps and final loss.
 */

export const OURS_FORMAT_TAG = 'dreamframe-style-embedding';
const ENCODER_KEYS = ['text_encoder', 'text_encoder_2'] as const;
const FAMILIES: ModelFamily[] = ['sd1', 'sd2', 'sdxl'];

export function isOursFile(file: SafetensorsFile): boolean {
  return file.metadata.format === OURS_FORMAT_TAG;
}

export function encodeOurs(embedding: StyleEmbedding): Uint8Array {
  if (embedding.vectors.length < 1 || embedding.vectors.length > 2) {
    throw new AppError('style.embedding_invalid', `an embedding has 1 or 2 vector blocks, not ${embedding.vectors.length}`);
  }
  const tensors = new Map<string, FloatTensor>();
  embedding.vectors.forEach((v, i) => tensors.set(ENCODER_KEYS[i], { shape: [v.rows, v.width], data: v.data }));
  const metadata: Record<string, string> = { format: OURS_FORMAT_TAG, version: '1' };
  if (embedding.family) metadata.family = embedding.family;
  if (embedding.keyword) metadata.keyword = embedding.keyword;
  if (embedding.steps !== undefined) metadata.steps = String(embedding.steps);
  if (embedding.loss !== undefined) metadata.loss = String(embedding.loss);
  return writeSafetensors(tensors, metadata);
}

export function decodeOurs(file: SafetensorsFile, source: string): StyleEmbedding {
  const { metadata } = file;
  if (metadata.version !== '1') {
    throw new AppError('style.embedding_file_invalid', `${source}: unsupported ${OURS_FORMAT_TAG} version ${metadata.version}`);
  }
  const vectors = [];
  for (const key of ENCODER_KEYS) {
    const t = file.tensors.get(key);
    if (t) vectors.push(makeVectors(t.data, t.shape, `${source} tensor ${key}`));
  }
  if (vectors.length === 0 || (vectors.length === 1 && !file.tensors.has('text_encoder'))) {
    throw new AppError('style.embedding_file_invalid', `${source}: no text_encoder tensor`);
  }
  let family: ModelFamily | null = null;
  if (metadata.family !== undefined) {
    if (!FAMILIES.includes(metadata.family as ModelFamily)) {
      throw new AppError('style.embedding_file_invalid', `${source}: unknown model family "${metadata.family}"`);
    }
    family = metadata.family as ModelFamily;
  } else {
    family = familyFromWidths(vectors.map((v) => v.width));
  }
  if (family && (family === 'sdxl') !== (vectors.length === 2)) {
    throw new AppError('style.embedding_file_invalid', `${source}: family ${family} does not fit ${vectors.length} vector block(s)`);
  }
  const embedding: StyleEmbedding = { vectors, family, keyword: metadata.keyword || null };
  if (metadata.steps !== undefined) embedding.steps = Number(metadata.steps);
  if (metadata.loss !== undefined) embedding.loss = Number(metadata.loss);
  return embedding;
}
