import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AppError } from '../../../shared/errors';
import { writeFileAtomic } from '../../util/atomic-write';
import { encodeModel, saveModel } from '../model-io';
import type { ModelProto } from '../types';
import { GraphBuilder, parameterCount } from './builder';
import { buildClipTextModel } from './clip-text';
import type { SdConfigs } from './presets';
import { buildUnet } from './unet';
import { buildVaeDecoder, buildVaeEncoder } from './vae';
import { ExternalFileStore, InlineStore, ShapeOnlyStore, type WeightStore } from './weights';

/** The ONNX models of a diffusers-script SD 1.x folder, each a subfolder with model.onnx. */
export const SD_MODELS = ['text_encoder', 'unet', 'vae_encoder', 'vae_decoder'] as const;
export type SdModelName = (typeof SD_MODELS)[number];

/** What `--only` selects: the VAE is one model split in two files. */
export const SD_PARTS = ['text_encoder', 'unet', 'vae'] as const;
export type SdPart = (typeof SD_PARTS)[number];

const PART_MODELS: Record<SdPart, SdModelName[]> = { text_encoder: ['text_encoder'], unet: ['unet'], vae: ['vae_encoder', 'vae_decoder'] };

const PROTOBUF_LIMIT = 2 ** 31 - 1;

/** Builds one model's graph with its parameters going to `store`. */
export function buildSdModel(name: SdModelName, configs: SdConfigs, store: WeightStore): ModelProto {
  const b = new GraphBuilder(store);
  switch (name) {
    case 'unet':
      return buildUnet(b, configs.unet, 'unet config');
    case 'text_encoder':
      return buildClipTextModel(b, configs.textEncoder, 'text_encoder config');
    case 'vae_encoder':
      return buildVaeEncoder(b, configs.vae, 'vae config');
    case 'vae_decoder':
      return buildVaeDecoder(b, configs.vae, 'vae config');
  }
}

/** Parameter count of one model from its graph, without making any weights. */
export function countSdParameters(name: SdModelName, configs: SdConfigs): number {
  return parameterCount(buildSdModel(name, configs, new ShapeOnlyStore()));
}

export interface WrittenModel {
  name: SdModelName;
  parameters: number;
  /** Bytes of model.onnx plus its external data. */
  bytes: number;
  files: string[];
  seconds: number;
}

export interface RandomSdOptions {
  configs: SdConfigs;
  /** An SD 1.x diffusers-script folder whose tokenizer/ and scheduler/ are copied (the real CLIP vocabulary). */
  templateDir: string;
  seed?: number;
  /** Which parts to generate (default all). */
  only?: SdPart[];
  /** Called after each model is written. */
  onModel?: (m: WrittenModel) => void;
}

/**
 * Writes a complete SD 1.x model folder with random weights in the diffusers conversion script's layout:
 * model_index.json, scheduler/, tokenizer/, text_encoder/, unet/ (weights always in unet/weights.pb, as the script
 * does), vae_encoder/ (deterministic `latent_parameters` output), vae_decoder/, each with config.json.
 * Built in `<outDir>.tmp` and renamed into place at the end, so `outDir` is either absent or complete; an existing
 * `outDir` is refused.
 */
export function writeRandomSdFolder(outDirIn: string, opts: RandomSdOptions): { dir: string; models: WrittenModel[] } {
  const outDir = resolve(outDirIn);
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new AppError('synthetic_bad_seed', `seed must be a non-negative integer, got ${seed}`, { seed });
  if (existsSync(outDir)) throw new AppError('synthetic_output_exists', `${outDir} already exists; choose a new folder`, { path: outDir });
  const only = opts.only ?? [...SD_PARTS];
  for (const p of only) {
    if (!(SD_PARTS as readonly string[]).includes(p)) throw new AppError('synthetic_unknown_part', `unknown part "${p}" (expected ${SD_PARTS.join(', ')})`, { part: p });
  }
  const tokenizerDir = join(opts.templateDir, 'tokenizer');
  const schedulerFile = join(opts.templateDir, 'scheduler/scheduler_config.json');
  for (const p of [tokenizerDir, schedulerFile]) {
    if (!existsSync(p)) throw new AppError('synthetic_template_incomplete', `${p} is missing (the template folder must be an SD 1.x model folder)`, { path: p });
  }

  const tmp = `${outDir}.tmp`;
  rmSync(tmp, { recursive: true, force: true }); // left over from an interrupted run of ours
  mkdirSync(tmp, { recursive: true });
  try {
    mkdirSync(join(tmp, 'tokenizer'));
    for (const f of readdirSync(tokenizerDir)) copyFileSync(join(tokenizerDir, f), join(tmp, 'tokenizer', f));
    mkdirSync(join(tmp, 'scheduler'));
    copyFileSync(schedulerFile, join(tmp, 'scheduler/scheduler_config.json'));

    const models: WrittenModel[] = [];
    for (const part of only) {
      for (const name of PART_MODELS[part]) {
        const m = writeModel(tmp, name, opts.configs, seed);
        models.push({ ...m, files: m.files.map((f) => join(outDir, f.slice(tmp.length + 1))) });
        opts.onModel?.(models[models.length - 1]);
      }
    }
    const schedulerClass = String(JSON.parse(readFileSync(schedulerFile, 'utf8'))._class_name ?? 'PNDMScheduler');
    writeFileAtomic(join(tmp, 'model_index.json'), `${JSON.stringify(modelIndex(models.map((m) => m.name), schedulerClass), null, 1)}\n`);
    renameSync(tmp, outDir);
    return { dir: outDir, models };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

function writeModel(root: string, name: SdModelName, configs: SdConfigs, seed: number): WrittenModel {
  const started = performance.now();
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const modelPath = join(dir, 'model.onnx');
  const files = [modelPath];
  let proto: ModelProto;
  if (name === 'unet') {
    // Stream the weights to disk as they are made; the graph itself stays small.
    const store = new ExternalFileStore(seed, join(dir, 'weights.pb'), 'weights.pb');
    try {
      proto = buildSdModel(name, configs, store);
    } finally {
      store.close();
    }
    const bytes = encodeModel(proto);
    if (bytes.byteLength > PROTOBUF_LIMIT) throw new AppError('onnx_model_too_large', `${modelPath} would be ${bytes.byteLength} bytes`, { path: modelPath });
    writeFileAtomic(modelPath, bytes);
    files.push(join(dir, 'weights.pb'));
  } else {
    proto = buildSdModel(name, configs, new InlineStore(seed));
    saveModel({ proto, baseDir: dir }, modelPath, { externalData: false });
  }
  const config = name === 'unet' ? configs.unet : name === 'text_encoder' ? configs.textEncoder : configs.vae;
  writeFileAtomic(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  const parameters = parameterCount(proto);
  const bytes = files.reduce((s, f) => s + statSync(f).size, 0);
  return { name, parameters, bytes, files, seconds: (performance.now() - started) / 1000 };
}

/** model_index.json of the diffusers conversion script (OnnxStableDiffusionPipeline), listing what was written. */
function modelIndex(written: SdModelName[], schedulerClass: string): Record<string, unknown> {
  const onnx = (name: SdModelName) => (written.includes(name) ? ['diffusers', 'OnnxRuntimeModel'] : [null, null]);
  return {
    _class_name: 'OnnxStableDiffusionPipeline',
    _diffusers_version: '0.19.3',
    feature_extractor: [null, null],
    requires_safety_checker: false,
    safety_checker: [null, null],
    scheduler: ['diffusers', schedulerClass],
    text_encoder: onnx('text_encoder'),
    tokenizer: ['transformers', 'CLIPTokenizer'],
    unet: onnx('unet'),
    vae_decoder: onnx('vae_decoder'),
    vae_encoder: onnx('vae_encoder'),
  };
}
