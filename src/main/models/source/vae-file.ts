import { resolve } from 'node:path';
import { AppError } from '../../../shared/errors';
import type { TensorRef } from './types';
import { isLdmVae, mapVae } from './map-vae';
import { fileSource, type TensorSource } from './refs';
import { SafetensorsFile } from './safetensors-file';

/**
 * A separate VAE file (`--vae`): LDM layout, bare (vae-ft-mse-840000-ema-pruned) or under `first_stage_model.`,
 * or diffusers layout (sd-vae-ft-mse, sdxl-vae-fp16-fix).
 */
export async function openVaeFile(input: string): Promise<{ file: SafetensorsFile; tensors: Map<string, TensorRef>; layout: 'LDM' | 'diffusers' }> {
  const path = resolve(input);
  if (!/\.safetensors$/i.test(path)) {
    throw new AppError('model.unsupported', `${path}: --vae takes a .safetensors file (pickled .ckpt/.pt/.bin VAEs can carry code)`, { file: path });
  }
  const file = await SafetensorsFile.open(path);
  try {
    const keys = new Map<string, TensorSource>();
    const prefixed = [...file.entries.keys()].some((k) => k.startsWith('first_stage_model.'));
    for (const [k, e] of file.entries) {
      if (prefixed && !k.startsWith('first_stage_model.')) continue;
      keys.set(prefixed ? k.slice('first_stage_model.'.length) : k, fileSource(file, e));
    }
    if (![...keys.keys()].some((k) => k.startsWith('decoder.'))) {
      throw new AppError('model.unsupported', `${path}: no "decoder.*" tensors, so this is not a VAE (found ${[...file.entries.keys()].slice(0, 2).map((k) => `"${k}"`).join(', ')})`, { file: path });
    }
    const layout = isLdmVae(keys.keys()) ? 'LDM' : 'diffusers';
    return { file, tensors: mapVae(keys, path).tensors, layout };
  } catch (err) {
    await file.close();
    throw err;
  }
}

/**
 * `--vae` while opening a model: the VAE file's tensors, replacing the model's own. Its file joins `opened` (so it
 * is closed with the model's) and `sourceFiles` (so it counts in the source hash), and `notes` says where the VAE came from.
 */
export async function openVaeOverride(input: string, opened: SafetensorsFile[], sourceFiles: string[], notes: string[]): Promise<Map<string, TensorRef>> {
  const vae = await openVaeFile(input);
  opened.push(vae.file);
  sourceFiles.push(vae.file.path);
  notes.push(`VAE from ${vae.file.path} (${vae.layout} layout)`);
  return vae.tensors;
}
