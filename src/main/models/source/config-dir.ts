import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../../shared/errors';
import { resourcesDir } from '../../util/resources';
import type { ModelFamily } from './types';

/** Reading diffusers config folders (`--config DIR`, or a diffusers model folder) and the bundled tokenizers. */

export type Json = Record<string, unknown>;

export function readJsonFile(path: string, what: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new AppError('model.config_missing', `${path}: missing (${what})`, { file: path });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AppError('model.config_invalid', `${path}: not valid JSON (${(err as Error).message})`, { file: path });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new AppError('model.config_invalid', `${path}: not a JSON object`, { file: path });
  return value as Json;
}

export const optionalJson = (path: string, what: string): Json | undefined => (existsSync(path) ? readJsonFile(path, what) : undefined);

/** Which text encoders each family has. */
export const FAMILY_ENCODERS: Record<ModelFamily, ('text_encoder' | 'text_encoder_2')[]> = {
  sd1: ['text_encoder'],
  sd2: ['text_encoder'],
  sdxl: ['text_encoder', 'text_encoder_2'],
  'sdxl-refiner': ['text_encoder_2'],
};

export interface DirConfigs {
  unet: Json;
  vae: Json;
  text_encoder?: Json;
  text_encoder_2?: Json;
  scheduler?: Json;
  modelIndex?: Json;
  tokenizer?: string;
  tokenizer_2?: string;
}

/** The configs a `family` model needs from a diffusers-style folder; missing required files are named. */
export function readConfigDir(dir: string, family: ModelFamily): DirConfigs {
  const out: DirConfigs = {
    unet: readJsonFile(join(dir, 'unet', 'config.json'), 'the UNet config'),
    vae: readJsonFile(join(dir, 'vae', 'config.json'), 'the VAE config'),
    scheduler: optionalJson(join(dir, 'scheduler', 'scheduler_config.json'), 'the scheduler config'),
    modelIndex: optionalJson(join(dir, 'model_index.json'), 'the pipeline index'),
  };
  for (const enc of FAMILY_ENCODERS[family]) out[enc] = readJsonFile(join(dir, enc, 'config.json'), `the ${enc} config a ${family} model needs`);
  for (const tok of ['tokenizer', 'tokenizer_2'] as const) {
    if (existsSync(join(dir, tok, 'vocab.json')) && existsSync(join(dir, tok, 'merges.txt'))) out[tok] = join(dir, tok);
  }
  return out;
}

/** The bundled CLIP tokenizer folders (resources/tokenizers/README.md): SD 2.x and the OpenCLIP encoders pad with "!". */
export function bundledTokenizers(family: ModelFamily): { tokenizer?: string; tokenizer_2?: string } {
  const root = join(resourcesDir(), 'tokenizers');
  const eot = join(root, 'clip');
  const bang = join(root, 'clip-pad-bang');
  switch (family) {
    case 'sd1':
      return { tokenizer: eot };
    case 'sd2':
      return { tokenizer: bang };
    case 'sdxl':
      return { tokenizer: eot, tokenizer_2: bang };
    case 'sdxl-refiner':
      return { tokenizer_2: bang };
  }
}

export function positiveInt(config: Json, key: string, label: string, fallback?: number): number {
  const v = config[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new AppError('model.config_invalid', `${label}: "${key}" = ${JSON.stringify(config[key])} is not a positive integer`, { config: label, key });
  }
  return v;
}
