import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionPipeline } from '../../src/main/diffusion/pipeline/stable-diffusion';
import { loadModel } from '../../src/main/onnx/model-io';
import { externalDataEntry, isExternal, tensorBytes } from '../../src/main/onnx/tensor';
import { folderConfigs, InlineStore, readUnetConfig, writeRandomSdFolder } from '../../src/main/onnx/synthetic/index';
import { lookupTokenEmbeddings, prepareTextEncoderForEmbeds } from '../../src/main/onnx/text-encoder-embeds';
import { buildTiGradModel } from '../../src/main/onnx/ti-grad';
import { tinySd15Dir } from '../support/paths';

const templateDir = join(tinySd15Dir, 'pipeline');
const configs = folderConfigs(templateDir);
const work = mkdtempSync(join(tmpdir(), 'synthetic-sd-'));
const modelDir = join(work, 'tiny');
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(() => {
  writeRandomSdFolder(modelDir, { configs, templateDir, seed: 7 });
});

const isFiniteArray = (a: ArrayLike<number>) => Array.prototype.every.call(a, (v: number) => Number.isFinite(v));

describe('a generated tiny SD 1.x folder in use', () => {
  it('loads as an SD 1.x diffusers-script folder and renders an image with finite values', async () => {
    const pipe = await DiffusionPipeline.load(modelDir, { threads: 1 });
    try {
      expect(pipe.model.info.family).toBe('sd1');
      expect(pipe.model.info.layout).toBe('diffusers-script');
      expect(pipe.model.info.vaeScaleFactor).toBe(2);
      expect(pipe.model.info.defaultSize).toBe(64);
      const result = await pipe.generate({ prompt: 'a lighthouse at dusk', steps: 3, scheduler: 'euler', seed: 3 });
      expect(result.latentShape).toEqual([1, 4, 32, 32]);
      expect(isFiniteArray(result.latents)).toBe(true);
      expect(isFiniteArray(result.rgb[0])).toBe(true);
      expect(result.images[0].subarray(1, 4).toString()).toBe('PNG');
      // The deterministic latent_parameters encoder path (img2img / training).
      const image = { data: new Float32Array(3 * 64 * 64).map((_, i) => (i % 64) / 64), width: 64, height: 64 };
      const encoded = await pipe.encodeImage(image);
      expect(encoded.dims).toEqual([1, 4, 32, 32]);
      expect(isFiniteArray(encoded.latents)).toBe(true);
    } finally {
      await pipe.release();
    }
  });

  it('the TI gradient builder accepts it; the gradient is finite and matches a central difference', async () => {
    const cacheDir = join(work, 'cache');
    const built = await buildTiGradModel(modelDir, { height: 64, width: 64, cacheDir });
    expect(built.family).toBe('sd1');
    expect(built.inputs.map((i) => i.name)).toEqual(['inputs_embeds', 'sample', 'timestep', 'target']);
    const enc = await prepareTextEncoderForEmbeds(join(modelDir, 'text_encoder/model.onnx'), cacheDir);
    expect(enc.inputIdsName).toBe('input_ids'); // pooling still reads the ids, as with the fixture's export
    const ids = [49406, 320, 1674, 530, 3086, 1844, 49407, ...new Array(70).fill(49407)];
    const embeds = lookupTokenEmbeddings(enc.tokenEmbedding, enc.width, ids);
    const latent = built.latentShape;
    const n = latent.reduce((a, b) => a * b, 1);
    const sample = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7));
    const target = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 1.3));
    const session = await ort.InferenceSession.create(built.modelPath);
    const run = async (e: Float32Array) =>
      session.run({
        inputs_embeds: new ort.Tensor('float32', e, [1, 77, enc.width]),
        sample: new ort.Tensor('float32', sample, latent),
        timestep: new ort.Tensor('float32', Float32Array.of(500), [1]),
        target: new ort.Tensor('float32', target, latent),
      });
    const out = await run(embeds);
    const grad = out.grad_inputs_embeds.data as Float32Array;
    expect(isFiniteArray(grad)).toBe(true);
    // The coordinate of the placeholder-like token (position 4) with the largest gradient.
    let k = 4 * enc.width;
    for (let j = 4 * enc.width; j < 5 * enc.width; j++) if (Math.abs(grad[j]) > Math.abs(grad[k])) k = j;
    expect(Math.abs(grad[k])).toBeGreaterThan(0);
    const h = 1e-3;
    const plus = Float32Array.from(embeds);
    const minus = Float32Array.from(embeds);
    plus[k] += h;
    minus[k] -= h;
    const lossOf = async (e: Float32Array) => Number((await run(e)).loss.data[0]);
    const fd = ((await lossOf(plus)) - (await lossOf(minus))) / (2 * h);
    expect(Math.abs(fd - grad[k])).toBeLessThan(0.02 * Math.abs(grad[k]));
    await session.release();
  });
});

describe('writing folders', () => {
  it('is deterministic per seed, and a tensor depends only on the seed and its name (--only gives the same UNet)', () => {
    writeRandomSdFolder(join(work, 'same'), { configs, templateDir, seed: 7 });
    writeRandomSdFolder(join(work, 'other'), { configs, templateDir, seed: 8, only: ['text_encoder'] });
    writeRandomSdFolder(join(work, 'unet-only'), { configs, templateDir, seed: 7, only: ['unet'] });
    const bytes = (dir: string, file: string) => readFileSync(join(work, dir, file));
    expect(bytes('same', 'text_encoder/model.onnx').equals(bytes('tiny', 'text_encoder/model.onnx'))).toBe(true);
    expect(bytes('same', 'unet/weights.pb').equals(bytes('tiny', 'unet/weights.pb'))).toBe(true);
    expect(bytes('other', 'text_encoder/model.onnx').equals(bytes('tiny', 'text_encoder/model.onnx'))).toBe(false);
    expect(bytes('unet-only', 'unet/weights.pb').equals(bytes('tiny', 'unet/weights.pb'))).toBe(true);
    expect(existsSync(join(work, 'unet-only/text_encoder'))).toBe(false);
    expect(JSON.parse(bytes('unet-only', 'model_index.json').toString()).text_encoder).toEqual([null, null]);
  });

  it('streams UNet weights to unet/weights.pb at aligned offsets, with the same values the in-memory store makes', () => {
    const unet = loadModel(join(modelDir, 'unet/model.onnx'));
    const external = unet.proto.graph.initializer.filter(isExternal);
    expect(external.length).toBeGreaterThan(100);
    const inline = new InlineStore(7);
    for (const t of external) {
      expect(externalDataEntry(t, 'location')).toBe('weights.pb');
      const offset = Number(externalDataEntry(t, 'offset'));
      expect(offset % 64).toBe(0);
      const expected = inline.add(t.name!, t.dims.map(Number), { kind: 'normal', std: 1 }).rawData!;
      // Same stream → the stored values are a constant multiple (the std) of the unit-std values.
      const got = new Float32Array(Uint8Array.from(tensorBytes(t, unet.baseDir)).buffer);
      const unit = new Float32Array(expected.buffer);
      const ratio = got[0] / unit[0];
      expect(ratio).toBeGreaterThan(0);
      expect(Math.max(...Array.from(got.subarray(0, 64), (v, i) => Math.abs(v - ratio * unit[i])))).toBeLessThan(1e-6);
    }
    expect(unet.proto.graph.initializer.filter((t) => !isExternal(t)).every((t) => (t.rawData?.byteLength ?? 0) < 1024)).toBe(true);
  });

  it('refuses an existing folder, leaves no .tmp behind on failure, and names bad config fields', () => {
    expect(() => writeRandomSdFolder(modelDir, { configs, templateDir })).toThrow(/already exists/);
    const broken = { ...configs, vae: { ...configs.vae, block_out_channels: [32, 48] } };
    expect(() => writeRandomSdFolder(join(work, 'broken'), { configs: broken, templateDir, only: ['vae'] })).toThrow(
      /vae config: "block_out_channels" = 48: must be divisible by norm_num_groups \(32\)/,
    );
    expect(existsSync(join(work, 'broken'))).toBe(false);
    expect(existsSync(join(work, 'broken.tmp'))).toBe(false);
    expect(() => writeRandomSdFolder(join(work, 'x'), { configs, templateDir: work })).toThrow(/tokenizer is missing/);
    // SDXL's text_time is built (models/import); other addition embeddings are refused, and text_time needs its sizes.
    expect(() => readUnetConfig({ ...configs.unet, addition_embed_type: 'image' }, 'x/unet/config.json')).toThrow(
      /x\/unet\/config.json: "addition_embed_type" = "image": only the SDXL text_time/,
    );
    expect(() => readUnetConfig({ ...configs.unet, addition_embed_type: 'text_time' }, 'sdxl/unet/config.json')).toThrow(
      /sdxl\/unet\/config.json: "addition_time_embed_dim" = (null|undefined): expected a positive integer/,
    );
    expect(() => readUnetConfig({ ...configs.unet, down_block_types: ['DownBlock2D', 'SimpleCrossAttnDownBlock2D'] })).toThrow(/"SimpleCrossAttnDownBlock2D" is not one of/);
  });
});
