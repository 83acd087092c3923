import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFolder } from '../../src/main/diffusion/loader/model-folder';
import { makeInt32TimestepVariant, makeTimeIdsWidthVariant } from '../support/model-variants/broken';
import { tinySd15Dir, tinySdxlDir } from '../support/paths';

/**
 * Variants that onnxruntime runs but a pipeline cannot feed correctly (beyond test/diffusion/loader-errors.test.ts):
 * each is refused at load with diffusion.unexpected_inputs naming the UNet file. (A refiner folder holding the base
 * UNet is in variants-sdxl-refiner.test.ts.) fp16 models are not among them: onnxruntime-node's CPU provider ran
 * every standard op we tried in float16 (it inserts casts where it has no float16 kernel), so what fails there are
 * the GPU-only com.microsoft fusions, which loader-errors.test.ts covers.
 */

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'dreamframe-broken-'));
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

async function loadError(dir: string): Promise<{ code: string; message: string }> {
  try {
    const model = await loadModelFolder(dir, { threads: 1 });
    await model.release();
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error(`expected loading ${dir} to fail`);
}

describe('UNet variants the loader must refuse', () => {
  it('an int32 timestep: onnxruntime accepts the model, the loader names the file and the type', async () => {
    const dir = makeInt32TimestepVariant(tinySd15Dir, join(root, 'int32-timestep'));
    const file = join(dir, 'unet/model.onnx');
    const session = await ort.InferenceSession.create(file); // a valid model as far as onnxruntime is concerned
    await session.release();
    const err = await loadError(dir);
    expect(err.code).toBe('diffusion.unexpected_inputs');
    expect(err.message).toContain(file);
    expect(err.message).toContain('int32');
  });

  for (const width of [4, 3]) {
    it(`an SDXL UNet taking ${width} time ids per row (neither base 6 nor refiner 5) is refused, not fed a cut row`, async () => {
      const dir = makeTimeIdsWidthVariant(tinySdxlDir, join(root, `time-ids-${width}`), width);
      const file = join(dir, 'unet/model.onnx');
      const session = await ort.InferenceSession.create(file);
      expect(session.inputMetadata.find((m) => m.name === 'time_ids')).toMatchObject({ shape: [expect.anything(), width] });
      await session.release();
      const err = await loadError(dir);
      expect(err.code).toBe('diffusion.unexpected_inputs');
      expect(err.message).toContain(file);
      expect(err.message).toContain(`time_ids has ${width} values per row`);
    });
  }
});
