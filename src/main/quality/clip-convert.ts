import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AppError } from '../../shared/errors';
import { saveModel } from '../onnx/model-io';
import type { RawConfig } from '../onnx/synthetic/configs';
import { decodeFloatTensorData, parseSafetensorsHeader, safetensorsHeaderLength, type FloatTensor } from '../style/formats/safetensors';
import { writeFileAtomic } from '../util/atomic-write';
import { buildClipTextProjectionModel, buildClipVisionModel } from './clip-graphs';
import { hashFiles } from './model-cache';
import { CheckpointStore } from './source-store';

/**
 * A Hugging Face CLIP folder (config.json + model.safetensors) converted to the optimum layout's two ONNX files
 * with our graph builders, once per content hash: <cache>/clip/<hash>/{text_model,vision_model}.onnx.
 * Built in a temporary sibling and renamed, so a crash never leaves a half-written entry.
 */

/** Bump when the generated graphs change, so stale conversions are not reused. */
const CONVERTER_VERSION = 'clip-convert-1';
const MODEL_INVALID = 'quality.model_invalid';

export interface ConvertedClip {
  hash: string;
  dir: string;
  textModel: string;
  visionModel: string;
}

export function readJsonFile(path: string): RawConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AppError('quality.model_missing', `${path}: cannot read (${(err as Error).message})`, { file: path });
  }
  try {
    return JSON.parse(text) as RawConfig;
  } catch (err) {
    throw new AppError('quality.model_invalid', `${path}: not JSON (${(err as Error).message})`, { file: path });
  }
}

/**
 * The float tensors of a safetensors file by key, decoded on first use. The header is checked by the format's
 * one parser (offsets tile the data, sizes match shapes); integer buffers such as CLIP's `position_ids` (I64)
 * pass the check but are refused if asked for: the metric graphs never read them.
 */
function safetensorsLookup(path: string): (key: string) => FloatTensor {
  const bytes = readFileSync(path);
  const dataStart = 8 + safetensorsHeaderLength(bytes.subarray(0, 8), bytes.length, path, MODEL_INVALID);
  const { entries } = parseSafetensorsHeader(bytes.subarray(8, dataStart), bytes.length - dataStart, path, MODEL_INVALID);
  const byName = new Map(entries.map((e) => [e.name, e]));
  return (key) => {
    const e = byName.get(key);
    if (!e) throw new AppError(MODEL_INVALID, `${path}: tensor "${key}" is missing`, { file: path, key });
    const data = decodeFloatTensorData(bytes.subarray(dataStart + e.begin, dataStart + e.end), e.dtype);
    if (!data) throw new AppError(MODEL_INVALID, `${path}: tensor "${key}" has dtype ${e.dtype}, expected a float type`, { file: path, key });
    return { shape: [...e.shape], data };
  };
}

export function convertHfClip(folder: string, cacheDir: string): ConvertedClip {
  const configPath = join(folder, 'config.json');
  const weightsPath = join(folder, 'model.safetensors');
  for (const f of [configPath, weightsPath]) {
    if (!existsSync(f)) throw new AppError('quality.model_missing', `${folder}: no ${f.split(/[\\/]/).pop()} (a Hugging Face CLIP folder needs config.json and model.safetensors)`, { file: f });
  }
  const hash = hashFiles([configPath, weightsPath], CONVERTER_VERSION);
  const dir = join(cacheDir, 'clip', hash);
  const result = { hash, dir, textModel: join(dir, 'text_model.onnx'), visionModel: join(dir, 'vision_model.onnx') };
  if (existsSync(result.textModel) && existsSync(result.visionModel)) return result;

  const config = readJsonFile(configPath);
  const textConfig = config.text_config as RawConfig | undefined;
  const visionConfig = config.vision_config as RawConfig | undefined;
  if (!textConfig || !visionConfig) throw new AppError('quality.model_invalid', `${configPath}: not a CLIPModel config (text_config and vision_config are required)`, { file: configPath });
  const projection = config.projection_dim;
  if (typeof projection !== 'number' || projection <= 0) throw new AppError('quality.model_invalid', `${configPath}: "projection_dim" = ${JSON.stringify(projection)}: expected a positive integer`, { file: configPath, key: 'projection_dim' });

  const store = new CheckpointStore(safetensorsLookup(weightsPath), weightsPath);
  const text = buildClipTextProjectionModel(store, textConfig, projection, `${configPath} text_config`);
  const vision = buildClipVisionModel(store, visionConfig, projection, `${configPath} vision_config`);

  const tmp = `${dir}.${randomBytes(4).toString('hex')}.tmp`;
  mkdirSync(tmp, { recursive: true });
  try {
    // Inline up to protobuf's limit; CLIP ViT-L's vision half (1.2 GB) still fits, bigger ones go external.
    saveModel({ proto: text, baseDir: tmp }, join(tmp, 'text_model.onnx'));
    saveModel({ proto: vision, baseDir: tmp }, join(tmp, 'vision_model.onnx'));
    writeFileAtomic(join(tmp, 'source.json'), `${JSON.stringify({ folder, converter: CONVERTER_VERSION }, null, 1)}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return result;
}
