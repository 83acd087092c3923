import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeImportedFolder } from '../../../src/main/models/import/write-folder';
import { tinySd15Dir, tinySdxlDir } from '../../support/paths';
import { diffusersFolderSource } from './diffusers-adapter';
import { loadModel } from '../../../src/main/onnx/model-io';
import { DataType } from '../../../src/main/onnx/types';
import { checkSd15Folder, checkSdxlFolder, EXACT, FP16_COMPUTE } from './reference-checks';

const work = mkdtempSync(join(tmpdir(), 'df-import-graphs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('imported graphs filled from diffusers state dicts reproduce the fixtures', () => {
  it('tiny-sd15: text encoder, UNet cases, txt2img DDIM and Euler', async () => {
    const out = join(work, 'sd15');
    const info = await writeImportedFolder(diffusersFolderSource(join(tinySd15Dir, 'checkpoints/diffusers'), 'sd1'), out, { dtype: 'float32' });
    expect(info).toMatchObject({ family: 'sd1', nativeWidth: 64, nativeHeight: 64, dtype: 'float32', outDir: out });
    expect(info.parameters).toMatchObject({ unet: 1_427_012, text_encoder: 1_617_529 });
    expect(info.parameters.vae_encoder + info.parameters.vae_decoder).toBe(658_375);
    await checkSd15Folder(out, EXACT);
  }, 120_000);

  it('tiny-sdxl: both encoders (every hidden state), UNet cases with text_embeds/time_ids, txt2img Euler', async () => {
    const out = join(work, 'sdxl');
    const info = await writeImportedFolder(diffusersFolderSource(join(tinySdxlDir, 'checkpoints/diffusers'), 'sdxl'), out, { dtype: 'float32' });
    expect(info.parameters).toMatchObject({ unet: 1_360_740, text_encoder: 1_617_529, text_encoder_2: 1_635_872 });
    await checkSdxlFolder(out, EXACT);
  }, 120_000);

  it('--fp16 with upcast_attention (SD 2.1\'s config): attention scores in float32, outputs within float16 error', async () => {
    const source = diffusersFolderSource(join(tinySd15Dir, 'checkpoints/diffusers'), 'sd1');
    source.configs.unet = { ...source.configs.unet, upcast_attention: true };
    const out = join(work, 'sd15-upcast');
    await writeImportedFolder(source, out, { dtype: 'float16' });
    const g = loadModel(join(out, 'unet/model.onnx')).proto.graph;
    const producer = new Map(g.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
    const softmaxes = g.node.filter((n) => n.opType === 'Softmax');
    expect(softmaxes.length).toBeGreaterThan(0);
    for (const sm of softmaxes) {
      // Softmax ← Mul(scale) ← MatMul(q, kᵀ), all float32: the MatMul's inputs come through Casts to float32.
      const mul = producer.get(sm.input[0])!;
      expect(mul.opType).toBe('Mul');
      const matmul = producer.get(mul.input[0])!;
      expect(matmul.opType).toBe('MatMul');
      for (const input of matmul.input) {
        const cast = producer.get(input)!;
        expect([cast.opType, Number(cast.attribute[0].i)]).toEqual(['Cast', DataType.FLOAT]);
      }
    }
    await checkSd15Folder(out, FP16_COMPUTE);
  }, 120_000);
});
