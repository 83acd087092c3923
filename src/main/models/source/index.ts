import { statSync } from 'node:fs';
import { AppError } from '../../../shared/errors';
import { openDiffusersFolder } from './diffusers-folder';
import { openSingleFile } from './single-file';
import { MODEL_FAMILIES, type ModelSource, type OpenOptions } from './types';

/**
 * The input side of `dreamframe model import` (docs/models.md, "Inputs"): a single-file LDM checkpoint
 * (.safetensors) or a diffusers folder, opened as diffusers component state dicts of lazy tensors plus the
 * configs, tokenizers and prediction type the ONNX writer needs. Nothing is read beyond the headers until a
 * tensor's `read()` is called, and each read returns that tensor alone.
 */

export type { ComponentName, ModelFamily, ModelSource, OpenOptions, TensorRef } from './types';
export { MODEL_FAMILIES } from './types';

/** Opens a `.safetensors` single-file checkpoint or a diffusers folder (one with model_index.json). */
export async function openModelSource(input: string, opts: OpenOptions = {}): Promise<ModelSource> {
  if (opts.family !== undefined && !MODEL_FAMILIES.includes(opts.family)) {
    throw new AppError('model.bad_option', `--family "${opts.family}" is not one of ${MODEL_FAMILIES.join(', ')}`, { family: opts.family });
  }
  if (opts.prediction !== undefined && opts.prediction !== 'epsilon' && opts.prediction !== 'v') {
    throw new AppError('model.bad_option', `--prediction "${opts.prediction}" is not one of epsilon, v`, { prediction: opts.prediction });
  }
  let isDir: boolean;
  try {
    isDir = statSync(input).isDirectory();
  } catch {
    throw new AppError('model.source_not_found', `${input}: no such file or folder`, { file: input });
  }
  return isDir ? openDiffusersFolder(input, opts) : openSingleFile(input, opts);
}
