import { dirname, resolve } from 'node:path';
import { AppError } from '../../../shared/errors';
import { builtinConfigs, builtinPipelineFlags, type BuiltinConfigName, type FamilyConfigs } from './builtin-configs';
import { bundledTokenizers, FAMILY_ENCODERS, positiveInt, readConfigDir } from './config-dir';
import { architectureFacts, detectFamily, MODEL_UNSUPPORTED, nonStandardShapes, refuseUnsupported, TEXT_PREFIXES, UNET_PREFIX, type ShapeIndex } from './detect';
import { sourceIdentity } from './hash';
import type { ComponentName, ModelFamily, ModelSource, OpenOptions, TensorRef } from './types';
import { mapHfClip, mapOpenClip } from './map-text';
import { mapUnet } from './map-unet';
import { mapVae } from './map-vae';
import { choosePrediction } from './prediction';
import { fileSource, type TensorSource } from './refs';
import { closeAll, SafetensorsFile } from './safetensors-file';
import { openVaeOverride } from './vae-file';

/** A single-file LDM checkpoint (A1111 / ComfyUI / model-sharing-site layout) opened as diffusers components. */

const VAE_PREFIX = 'first_stage_model.';

export function shapeIndex(file: SafetensorsFile): ShapeIndex {
  return {
    has: (k) => file.entries.has(k),
    keys: () => file.entries.keys(),
    shape: (k) => file.entries.get(k)?.shape,
  };
}

/** The tensors under `prefix`, keyed without it. */
export function under(file: SafetensorsFile, prefix: string): Map<string, TensorSource> {
  const out = new Map<string, TensorSource>();
  for (const [k, e] of file.entries) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), fileSource(file, e));
  return out;
}

function refusePickle(path: string): void {
  if (/\.(ckpt|pt|pth|bin|pkl)$/i.test(path)) {
    throw new AppError(MODEL_UNSUPPORTED, `${path}: pickled single-file checkpoints are not imported (they can carry code); use the model's .safetensors file`, { file: path });
  }
}

export async function openSingleFile(input: string, opts: OpenOptions): Promise<ModelSource> {
  const path = resolve(input);
  refusePickle(path);
  const file = await SafetensorsFile.open(path);
  const opened: SafetensorsFile[] = [file];
  try {
    const index = shapeIndex(file);
    refuseUnsupported(index, path);
    const notes: string[] = [];
    let family: ModelFamily;
    if (opts.family) {
      family = opts.family;
      let detected: ModelFamily | undefined;
      try {
        detected = detectFamily(index, path);
      } catch {
        detected = undefined;
      }
      if (detected && detected !== family) notes.push(`--family ${family} overrides the detected family ${detected}`);
    } else {
      family = detectFamily(index, path);
      notes.push(`family ${family}, detected from the tensor names`);
    }

    // Configs: --config, else the family's published configs when the shapes are the standard ones.
    let configs: FamilyConfigs;
    let modelIndex: Record<string, unknown>;
    let tokenizerDirs = bundledTokenizers(family);
    const early = choosePrediction(opts.prediction, path, undefined);
    if (opts.config) {
      const dir = readConfigDir(resolve(opts.config), family);
      configs = { unet: dir.unet, vae: dir.vae, text_encoder: dir.text_encoder, text_encoder_2: dir.text_encoder_2, scheduler: dir.scheduler ?? builtinConfigs(builtinName(family, early.prediction)).scheduler };
      if (!dir.scheduler) notes.push(`${opts.config} has no scheduler/scheduler_config.json: using the standard ${family} scheduler config`);
      modelIndex = pipelineFlags(dir.modelIndex) ?? builtinPipelineFlags(builtinName(family, early.prediction));
      tokenizerDirs = { ...tokenizerDirs, ...(dir.tokenizer ? { tokenizer: dir.tokenizer } : {}), ...(dir.tokenizer_2 ? { tokenizer_2: dir.tokenizer_2 } : {}) };
      for (const enc of ['text_encoder', 'text_encoder_2'] as const) if (!FAMILY_ENCODERS[family].includes(enc)) delete configs[enc];
    } else {
      const differences = nonStandardShapes(family, architectureFacts(index));
      if (differences.length > 0) {
        throw new AppError(
          'model.config_needed',
          `${path}: not the standard ${family} architecture (${differences.join('; ')}); pass --config with a diffusers folder holding its configs`,
          { file: path, family, differences },
        );
      }
      const name = builtinName(family, early.prediction);
      configs = builtinConfigs(name);
      modelIndex = builtinPipelineFlags(name);
      if (family === 'sd2') notes.push(`SD 2.x built-in config ${name === 'sd2-v' ? '768-v' : '512-base'}`);
    }
    const choice = choosePrediction(opts.prediction, path, configs.scheduler);
    if (choice.note) notes.push(choice.note);
    configs.scheduler = { ...configs.scheduler, prediction_type: choice.prediction };

    const components: Partial<Record<ComponentName, Map<string, TensorRef>>> = {};
    const used = new Set<string>();
    const take = (prefix: string): Map<string, TensorSource> => {
      const m = under(file, prefix);
      for (const k of m.keys()) used.add(prefix + k);
      return m;
    };

    components.unet = mapUnet(take(UNET_PREFIX), {
      layersPerBlock: positiveInt(configs.unet, 'layers_per_block', 'unet config', 2),
      useLinearProjection: configs.unet.use_linear_projection === true,
      file: path,
    });
    const vaeKeys = take(VAE_PREFIX);
    if (vaeKeys.size > 0) {
      const vae = mapVae(vaeKeys, path);
      components.vae = vae.tensors;
    }
    const prefixes = TEXT_PREFIXES[family] as Partial<Record<'text_encoder' | 'text_encoder_2', string>>;
    for (const enc of FAMILY_ENCODERS[family]) {
      const prefix = prefixes[enc] as string;
      const keys = take(prefix);
      if (keys.size === 0) throw new AppError(MODEL_UNSUPPORTED, `${path}: no "${prefix}*" tensors: the ${family} ${enc} is missing from this checkpoint`, { file: path, family });
      const config = configs[enc];
      if (!config) throw new AppError('model.config_missing', `${path}: no ${enc} config for a ${family} model`, { file: path });
      const textOpts = {
        numHiddenLayers: positiveInt(config, 'num_hidden_layers', `${enc} config`),
        hiddenSize: positiveInt(config, 'hidden_size', `${enc} config`),
        withProjection: enc === 'text_encoder_2',
        file: path,
        prefix,
      };
      const mapped = prefix.endsWith('.transformer.') ? mapHfClip(keys, textOpts) : mapOpenClip(keys, textOpts);
      components[enc] = mapped.tensors;
      notes.push(...mapped.notes);
    }

    const sourceFiles = [path];
    if (opts.vae) {
      components.vae = await openVaeOverride(opts.vae, opened, sourceFiles, notes);
    } else if (!components.vae) {
      throw new AppError(MODEL_UNSUPPORTED, `${path}: no "${VAE_PREFIX}*" tensors: the VAE is missing; pass --vae with a VAE file`, { file: path });
    }

    const leftover = [...file.entries.keys()].filter((k) => !used.has(k));
    if (leftover.length > 0) {
      const groups = [...new Set(leftover.map((k) => k.split('.')[0]))];
      notes.push(`${leftover.length} tensor(s) not part of the ${family} pipeline ignored (${groups.slice(0, 4).join(', ')}${groups.length > 4 ? ', …' : ''})`);
    }

    return {
      family,
      prediction: choice.prediction,
      notes,
      configs,
      modelIndex,
      tokenizerDirs,
      components,
      ...(await sourceIdentity(sourceFiles, dirname(path), opts.skipHash)),
      close: () => closeAll(opened),
    };
  } catch (err) {
    await closeAll(opened);
    throw err;
  }
}

function builtinName(family: ModelFamily, prediction: 'epsilon' | 'v_prediction'): BuiltinConfigName {
  if (family === 'sd1') return 'sd15';
  if (family === 'sd2') return prediction === 'v_prediction' ? 'sd2-v' : 'sd2-base';
  return family;
}

/** The pipeline flags of a model_index.json (everything that is not a component entry or private). */
export function pipelineFlags(index: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!index) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(index)) if (!k.startsWith('_') && !Array.isArray(v)) out[k] = v;
  return out;
}
