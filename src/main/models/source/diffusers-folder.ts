import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AppError } from '../../../shared/errors';
import { readTorchZip } from '../../style/formats/torch-zip';
import { builtinConfigs, type BuiltinConfigName } from './builtin-configs';
import { bundledTokenizers, FAMILY_ENCODERS, readConfigDir, readJsonFile, type Json } from './config-dir';
import { MODEL_UNSUPPORTED } from './detect';
import { sourceIdentity } from './hash';
import type { ComponentName, ModelFamily, ModelSource, OpenOptions, TensorRef } from './types';
import { mapVae } from './map-vae';
import { choosePrediction } from './prediction';
import { fileSource, memorySource, plainRef, type TensorSource } from './refs';
import { closeAll, SafetensorsFile } from './safetensors-file';
import { pipelineFlags } from './single-file';
import { openVaeOverride } from './vae-file';

/**
 * A diffusers folder: `model_index.json` plus one folder per component with its `config.json` and weights —
 * `.safetensors` (read by offset; also sharded with a `.safetensors.index.json`) or, failing that, a torch `.bin`
 * read through the restricted pickle reader (never executes code; a .bin is read whole into memory).
 */

const WEIGHT_NAMES: Record<ComponentName, string> = {
  unet: 'diffusion_pytorch_model',
  vae: 'diffusion_pytorch_model',
  text_encoder: 'model',
  text_encoder_2: 'model',
};

const MAX_BIN_BYTES = 2 ** 31 - 1;

/** Tensors in diffusers component files that are buffers, not weights of the module. */
const BUFFERS = /(^|\.)position_ids$/;

interface ComponentFiles {
  kind: 'safetensors' | 'bin';
  files: string[];
}

function findWeights(dir: string, component: ComponentName): ComponentFiles {
  const base = join(dir, component);
  const stem = WEIGHT_NAMES[component];
  // Full precision first (what the folder's config describes), then the fp16 variant, then pickles.
  for (const variant of ['', '.fp16']) {
    const single = join(base, `${stem}${variant}.safetensors`);
    if (existsSync(single)) return { kind: 'safetensors', files: [single] };
    const indexFile = join(base, `${stem}.safetensors${variant ? `.index${variant}` : '.index'}.json`);
    const indexAlt = join(base, `${stem}${variant}.safetensors.index.json`);
    for (const idx of [indexFile, indexAlt]) {
      if (existsSync(idx)) {
        const map = readJsonFile(idx, 'a sharded weights index').weight_map;
        if (!map || typeof map !== 'object') throw new AppError('model.source_invalid', `${idx}: no weight_map`, { file: idx });
        return { kind: 'safetensors', files: [...new Set(Object.values(map as Record<string, string>))].map((f) => join(base, f)) };
      }
    }
  }
  for (const name of [`${stem}.bin`, `pytorch_model.bin`, `${stem}.fp16.bin`, `pytorch_model.fp16.bin`]) {
    if (existsSync(join(base, name))) return { kind: 'bin', files: [join(base, name)] };
  }
  throw new AppError('model.source_invalid', `${base}: no weights (${stem}.safetensors, a sharded index, or ${stem}.bin)`, { folder: base });
}

async function loadComponent(dir: string, component: ComponentName, opened: SafetensorsFile[]): Promise<{ sources: Map<string, TensorSource>; files: string[] }> {
  const found = findWeights(dir, component);
  const sources = new Map<string, TensorSource>();
  for (const path of found.files) {
    if (found.kind === 'safetensors') {
      const file = await SafetensorsFile.open(path);
      opened.push(file);
      for (const [k, e] of file.entries) if (!BUFFERS.test(k)) sources.set(k, fileSource(file, e));
    } else {
      // The restricted pickle reader works on the whole file in memory, and Node reads at most 2 GiB at once.
      if (statSync(path).size >= MAX_BIN_BYTES) {
        throw new AppError('model.unsupported', `${path}: a .bin of ${statSync(path).size} bytes is too large to read whole; use the component's .safetensors weights`, { file: path });
      }
      const { tensors } = readTorchZip(readFileSync(path), path);
      for (const [k, t] of tensors) if (!BUFFERS.test(k)) sources.set(k, memorySource(path, k, t.shape, t.data));
    }
  }
  return { sources, files: found.files };
}

function detectFolderFamily(dir: string, index: Json, unet: Json): ModelFamily {
  const has = (c: string): boolean => existsSync(join(dir, c, 'config.json'));
  if (has('text_encoder_2')) return has('text_encoder') ? 'sdxl' : 'sdxl-refiner';
  if (!has('text_encoder')) throw new AppError(MODEL_UNSUPPORTED, `${dir}: no text_encoder/ or text_encoder_2/ folder`, { folder: dir, index: index._class_name });
  return unet.cross_attention_dim === 1024 ? 'sd2' : 'sd1';
}

export async function openDiffusersFolder(input: string, opts: OpenOptions): Promise<ModelSource> {
  const dir = resolve(input);
  const indexPath = join(dir, 'model_index.json');
  if (!existsSync(indexPath)) {
    throw new AppError(MODEL_UNSUPPORTED, `${dir}: a folder without model_index.json is not a diffusers model folder`, { folder: dir });
  }
  const modelIndexJson = readJsonFile(indexPath, 'the pipeline index');
  const unetConfig = readJsonFile(join(dir, 'unet', 'config.json'), 'the UNet config');
  const notes: string[] = [];
  const detected = detectFolderFamily(dir, modelIndexJson, unetConfig);
  const family = opts.family ?? detected;
  if (opts.family && opts.family !== detected) notes.push(`--family ${opts.family} overrides the detected family ${detected}`);
  if (unetConfig.in_channels !== undefined && unetConfig.in_channels !== 4) {
    const n = unetConfig.in_channels;
    const what = n === 9 ? 'an inpainting UNet (9 input channels)' : `a UNet with ${String(n)} input channels`;
    throw new AppError(MODEL_UNSUPPORTED, `${dir}: this is ${what}; only text-to-image UNets with 4 input channels are supported`, { folder: dir, inChannels: n });
  }

  const cfg = readConfigDir(opts.config ? resolve(opts.config) : dir, family);
  const early = choosePrediction(opts.prediction, undefined, cfg.scheduler);
  const fallbackName: BuiltinConfigName = family === 'sd1' ? 'sd15' : family === 'sd2' ? (early.prediction === 'v_prediction' ? 'sd2-v' : 'sd2-base') : family;
  const scheduler = cfg.scheduler ?? builtinConfigs(fallbackName).scheduler;
  if (!cfg.scheduler) notes.push(`no scheduler/scheduler_config.json: using the standard ${family} scheduler config`);
  const choice = choosePrediction(opts.prediction, undefined, scheduler);
  if (choice.note) notes.push(choice.note);

  const opened: SafetensorsFile[] = [];
  try {
    const components: Partial<Record<ComponentName, Map<string, TensorRef>>> = {};
    const sourceFiles: string[] = [];
    const wanted: ComponentName[] = ['unet', ...(opts.vae ? [] : (['vae'] as const)), ...FAMILY_ENCODERS[family]];
    for (const c of wanted) {
      const { sources, files } = await loadComponent(dir, c, opened);
      sourceFiles.push(...files);
      if (c === 'vae') {
        components.vae = mapVae(sources, files[0]).tensors;
      } else {
        const refs = new Map<string, TensorRef>();
        for (const [k, s] of sources) refs.set(k, plainRef(k, s));
        components[c] = refs;
      }
    }
    if (opts.vae) components.vae = await openVaeOverride(opts.vae, opened, sourceFiles, notes);
    const defaults = bundledTokenizers(family);
    const tokenizerDirs: ModelSource['tokenizerDirs'] = {};
    for (const t of ['tokenizer', 'tokenizer_2'] as const) {
      if (!defaults[t]) continue;
      tokenizerDirs[t] = cfg[t] ?? defaults[t];
      if (!cfg[t]) notes.push(`no ${t}/ with vocab.json and merges.txt: using the bundled CLIP tokenizer`);
    }
    return {
      family,
      prediction: choice.prediction,
      notes,
      configs: {
        unet: cfg.unet,
        vae: cfg.vae,
        ...(cfg.text_encoder ? { text_encoder: cfg.text_encoder } : {}),
        ...(cfg.text_encoder_2 ? { text_encoder_2: cfg.text_encoder_2 } : {}),
        scheduler: { ...scheduler, prediction_type: choice.prediction },
      },
      modelIndex: pipelineFlags(cfg.modelIndex ?? modelIndexJson) ?? {},
      tokenizerDirs,
      components,
      ...(await sourceIdentity(sourceFiles, opts.vae ? dirname(dir) : dir, opts.skipHash)),
      close: () => closeAll(opened),
    };
  } catch (err) {
    await closeAll(opened);
    throw err;
  }
}
