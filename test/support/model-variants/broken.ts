import { DataType } from '../../../src/main/onnx/types';
import { copyPipeline, rewriteModel } from './folders';
import { appendConstantColumns, retypeInput } from './graph-edits';

/**
 * Fixture copies whose UNet runs fine in onnxruntime but does not fit what a Stable Diffusion pipeline can feed:
 * the loader has to refuse them with an error naming the file, instead of feeding them something wrong.
 */

/** tiny-sd15 with an int32 timestep (no exporter writes one; our pipeline has no such conversion). */
export function makeInt32TimestepVariant(sd15FixtureDir: string, dest: string): string {
  copyPipeline(sd15FixtureDir, dest);
  rewriteModel(dest, 'unet', (model) => retypeInput(model, 'timestep', DataType.INT32));
  return dest;
}

/** tiny-sdxl whose UNet declares `width` time ids per row (the missing ones are constants inside). */
export function makeTimeIdsWidthVariant(sdxlFixtureDir: string, dest: string, width: number): string {
  copyPipeline(sdxlFixtureDir, dest);
  rewriteModel(dest, 'unet', (model) => appendConstantColumns(model, 'time_ids', new Array<number>(6 - width).fill(64)));
  return dest;
}
