import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importModel } from '../../../src/main/models/import/index';
import { loadModel } from '../../../src/main/onnx/model-io';
import { DataType } from '../../../src/main/onnx/types';
import { tinySd15Dir, tinySdxlDir } from '../../support/paths';
import { checkSd15Folder, checkSdxlFolder, EXACT, FP16_COMPUTE, FP16_WEIGHTS, type Tolerance } from './reference-checks';

const work = mkdtempSync(join(tmpdir(), 'df-import-forms-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const fixtures = [
  { name: 'tiny-sd15', dir: tinySd15Dir, family: 'sd1', check: checkSd15Folder },
  { name: 'tiny-sdxl', dir: tinySdxlDir, family: 'sdxl', check: checkSdxlFolder },
] as const;

describe.each(fixtures)('$name checkpoints convert and reproduce the fixture references', ({ name, dir, family, check }) => {
  const ckpt = join(dir, 'checkpoints');
  const forms: { form: string; input: string; config?: string; tol: Tolerance }[] = [
    { form: 'diffusers folder', input: join(ckpt, 'diffusers'), tol: EXACT },
    { form: 'float32 single file + --config', input: join(ckpt, `${name}.safetensors`), config: join(ckpt, 'config'), tol: EXACT },
    { form: 'float16 single file + --config', input: join(ckpt, `${name}-fp16.safetensors`), config: join(ckpt, 'config'), tol: FP16_WEIGHTS },
  ];
  it.each(forms)('$form', async ({ form, input, config, tol }) => {
    const out = join(work, `${name}-${form.replace(/\W+/g, '-')}`);
    const stages = new Set<string>();
    let last = { bytesDone: 0, bytesTotal: -1, tensorsDone: 0, tensorsTotal: -1 };
    const info = await importModel(input, out, { config, onProgress: (p) => { stages.add(p.stage); last = p; } });
    expect(info).toMatchObject({ family, prediction: 'epsilon', nativeWidth: 64, nativeHeight: 64, dtype: 'float32', outDir: out });
    expect(info.sourceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(info.sizeOnDisk).toBeGreaterThan(10e6);
    expect([...stages]).toEqual(expect.arrayContaining(['reading', 'graphs', 'unet', 'vae_decoder', 'finishing']));
    expect(last.tensorsDone).toBe(last.tensorsTotal);
    expect(last.bytesDone).toBe(last.bytesTotal);
    const index = JSON.parse(readFileSync(join(out, 'model_index.json'), 'utf8'));
    expect(index._class_name).toBe(family === 'sdxl' ? 'ORTStableDiffusionXLPipeline' : 'ORTStableDiffusionPipeline');
    await check(out, tol);
  }, 120_000);

  it('--fp16 writes float16 weights and I/O that load and render within float16 error', async () => {
    const out = join(work, `${name}-fp16-out`);
    const info = await importModel(join(ckpt, 'diffusers'), out, { fp16: true });
    expect(info.dtype).toBe('float16');
    const unet = loadModel(join(out, 'unet/model.onnx')).proto.graph;
    const types = Object.fromEntries(unet.input.map((i) => [i.name, i.type!.tensorType!.elemType]));
    expect(types.sample).toBe(DataType.FLOAT16);
    expect(types.timestep).toBe(family === 'sdxl' ? DataType.INT64 : DataType.FLOAT); // never rounded to float16
    expect(unet.initializer.every((t) => t.dataType === DataType.FLOAT16)).toBe(true);
    // Normalisations and softmax run in float32: their data input comes through a Cast to float32.
    const castsTo32 = new Set(unet.node.filter((n) => n.opType === 'Cast' && Number(n.attribute[0].i) === DataType.FLOAT).map((n) => n.output[0]));
    const kept = unet.node.filter((n) => ['InstanceNormalization', 'LayerNormalization', 'Softmax'].includes(n.opType));
    expect(kept.length).toBeGreaterThan(10);
    expect(kept.every((n) => castsTo32.has(n.input[0]))).toBe(true);
    // SDXL's VAE stays float32 (its config's force_upcast, as diffusers' SDXL pipelines upcast it); SD 1.x's is float16.
    const vae = loadModel(join(out, 'vae_decoder/model.onnx')).proto.graph;
    expect(vae.input[0].type!.tensorType!.elemType).toBe(family === 'sdxl' ? DataType.FLOAT : DataType.FLOAT16);
    await check(out, FP16_COMPUTE);
  }, 120_000);
});
