import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../shared/errors';
import { writeFileAtomic } from '../util/atomic-write';
import { fromHalf } from '../util/half-float';
import { hashModelFile } from './model-hash';
import { loadModel, saveModel } from './model-io';
import { tensorBytes } from './tensor';
import { cutAtTokenEmbedding } from './token-embedding-surgery';
import { DataType } from './types';

export interface TextEncoderForEmbeds {
  /** The cached copy of the encoder that takes `inputs_embeds` instead of looking ids up. */
  modelPath: string;
  /** Row-major [vocabSize, width] token-embedding matrix, for the lookup in JS. */
  tokenEmbedding: Float32Array;
  vocabSize: number;
  width: number;
  inputName: 'inputs_embeds';
  /**
   * The ids input the copy still needs (CLIP pools at argmax(input_ids), and SD 1.x's `pooler_output` /
   * SDXL's `text_embeds` are kept), or null when nothing reads the ids any more.
   */
  inputIdsName: string | null;
}

interface CacheMeta {
  vocabSize: number;
  width: number;
  inputIdsName: string | null;
}

// v2: fp16 token tables are accepted (the cached table is always float32).
const CACHE_VERSION = 'embeds-v2';

/** The token table as float32: fp16 exports (optimum --fp16, or fp16-stored weights) are widened once here. */
function tokenTableAsFloat32(bytes: Uint8Array, dataType: number | undefined, modelFile: string): Float32Array {
  if (dataType === DataType.FLOAT) return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  if (dataType === DataType.FLOAT16) {
    const half = new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return Float32Array.from(half, fromHalf);
  }
  throw new AppError('onnx_unsupported_dtype', `token embedding of ${modelFile} is data type ${dataType}, expected float32 or float16`, { modelFile, dataType });
}

/**
 * Writes (once per source-model hash) a copy of a CLIP text encoder whose token-embedding Gather output is
 * the new graph input `inputs_embeds` (float32, or float16 when the table is) [batch, sequence, width]; all original outputs are kept.
 * Returns the token table so callers can look rows up (and replace some with learned vectors) in JS.
 */
export async function prepareTextEncoderForEmbeds(modelFile: string, cacheDir: string): Promise<TextEncoderForEmbeds> {
  if (!existsSync(modelFile)) throw new AppError('onnx_model_missing', `text encoder model ${modelFile} does not exist`, { modelFile });
  const hash = hashModelFile(modelFile, CACHE_VERSION);
  const dir = join(cacheDir, 'text-encoder-embeds', hash.slice(0, 24));
  const modelPath = join(dir, 'model.onnx');
  const tablePath = join(dir, 'token_embedding.f32');
  const metaPath = join(dir, 'meta.json');
  if (existsSync(modelPath) && existsSync(tablePath) && existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as CacheMeta;
    const buf = readFileSync(tablePath);
    const tokenEmbedding = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    if (tokenEmbedding.length === meta.vocabSize * meta.width) {
      return { modelPath, tokenEmbedding, vocabSize: meta.vocabSize, width: meta.width, inputName: 'inputs_embeds', inputIdsName: meta.inputIdsName };
    }
  }
  const model = loadModel(modelFile);
  const cut = cutAtTokenEmbedding(model, 'inputs_embeds');
  const tokenEmbedding = tokenTableAsFloat32(tensorBytes(cut.table, model.baseDir), cut.table.dataType, modelFile);
  mkdirSync(dir, { recursive: true });
  saveModel(model, modelPath, { externalData: { location: 'model.onnx_data' } });
  writeFileAtomic(tablePath, new Uint8Array(tokenEmbedding.buffer));
  const meta: CacheMeta = { vocabSize: cut.vocabSize, width: cut.width, inputIdsName: cut.inputIdsName };
  writeFileAtomic(metaPath, JSON.stringify(meta));
  return { modelPath, tokenEmbedding, vocabSize: cut.vocabSize, width: cut.width, inputName: 'inputs_embeds', inputIdsName: cut.inputIdsName };
}

/** Looks ids up in the table: returns float32 [ids.length, width] row-major (the Gather the copy no longer does). */
export function lookupTokenEmbeddings(table: Float32Array, width: number, ids: ArrayLike<number | bigint>): Float32Array {
  const out = new Float32Array(ids.length * width);
  const rows = table.length / width;
  for (let i = 0; i < ids.length; i++) {
    const id = Number(ids[i]);
    if (!(id >= 0 && id < rows)) throw new AppError('onnx_token_id_out_of_range', `token id ${id} at position ${i} is outside the ${rows}-row embedding table`);
    out.set(table.subarray(id * width, (id + 1) * width), i * width);
  }
  return out;
}
