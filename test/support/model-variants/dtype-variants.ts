import { statSync } from 'node:fs';
import { join } from 'node:path';
import { DataType } from '../../../src/main/onnx/types';
import { copyPipeline, rewriteModel } from './folders';
import { floatIoToHalf, retypeInput, roundWeightsToHalf, storeWeightsAsHalf } from './graph-edits';

/**
 * Copies of a fixture pipeline whose models take the dtype variations seen in real exports (sd-onnx-layouts.md §3):
 * fp16 inputs/outputs, fp16-stored weights, and a UNet timestep that is float16, int64 or a rank-0 scalar.
 * The computation inside stays the fixture's, so each variant's outputs can be predicted from the fixture's.
 */

export type TimestepForm = 'float16' | 'int64' | 'scalar-float32';

/** A copy of `fixtureDir`'s pipeline whose UNet takes its timestep as `form` (a Cast/Reshape in front of the original). */
export function makeTimestepVariant(fixtureDir: string, dest: string, form: TimestepForm): string {
  copyPipeline(fixtureDir, dest);
  rewriteModel(dest, 'unet', (model) => {
    if (form === 'float16') retypeInput(model, 'timestep', DataType.FLOAT16);
    else if (form === 'int64') retypeInput(model, 'timestep', DataType.INT64);
    else retypeInput(model, 'timestep', DataType.FLOAT, { scalar: true });
  });
  return dest;
}

export interface HalfVariantOptions {
  /** Components whose float inputs and outputs become float16 (default: all ONNX components of the folder). */
  halfIo?: string[];
  /** Components whose float32 weights are stored as float16 with a Cast after them. */
  halfWeights?: string[];
  /** Components whose weights are rounded to float16 values but stay float32 (the reference for halfWeights). */
  roundedWeights?: string[];
}

const ALL_COMPONENTS = ['text_encoder', 'text_encoder_2', 'unet', 'vae_encoder', 'vae_decoder'];

/** A copy of `fixtureDir`'s pipeline with fp16 I/O and/or fp16-stored weights on the chosen components. */
export function makeHalfVariant(fixtureDir: string, dest: string, opts: HalfVariantOptions = {}): string {
  copyPipeline(fixtureDir, dest);
  const present = ALL_COMPONENTS.filter((c) => existsModel(dest, c));
  const halfIo = opts.halfIo ?? present;
  for (const component of present) {
    const io = halfIo.includes(component);
    const weights = opts.halfWeights?.includes(component) ?? false;
    const rounded = opts.roundedWeights?.includes(component) ?? false;
    if (!io && !weights && !rounded) continue;
    rewriteModel(dest, component, (model) => {
      if (weights) storeWeightsAsHalf(model);
      if (rounded) roundWeightsToHalf(model);
      if (io) floatIoToHalf(model);
    });
  }
  return dest;
}

function existsModel(dir: string, component: string): boolean {
  try {
    return statSync(join(dir, component, 'model.onnx')).isFile();
  } catch {
    return false;
  }
}
