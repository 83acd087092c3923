import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFolder, type LoadedModel } from '../../src/main/diffusion/loader/model-folder';
import { openModelSession } from '../../src/main/diffusion/runtime/session';
import { idsTensor } from '../../src/main/diffusion/runtime/tensors';
import { VaeEncoderModel } from '../../src/main/diffusion/runtime/vae';
import { tinySd15Dir, tinySdxlDir } from '../support/paths';
import { absMax, f32, ints, maxAbsDiff, readCase } from './fixture-io';

const ATOL = 1e-4; // single-model outputs (fixture READMEs)

describe('tiny-sd15 (diffusers-script layout, opset 14)', () => {
  const cases = join(tinySd15Dir, 'cases');
  let model: LoadedModel;
  beforeAll(async () => {
    model = await loadModelFolder(join(tinySd15Dir, 'pipeline'), { threads: 1 });
  });
  afterAll(() => model?.release());

  it('is identified as SD 1.x with sizes from the configs', () => {
    expect(model.provider).toBe('cpu');
    expect(model.info).toMatchObject({
      family: 'sd1',
      layout: 'diffusers-script',
      predictionType: 'epsilon',
      vaeScaleFactor: 2,
      latentChannels: 4,
      scalingFactor: 0.18215,
      defaultSize: 64,
      defaultScheduler: 'pndm',
      forceZerosForEmptyPrompt: false,
    });
    expect(model.textEncoder!.idsType).toBe('int32');
    expect(model.unet.timestep).toEqual({ type: 'float32', scalar: false });
  });

  it('text encoder hidden states and pooled output', async () => {
    const c = readCase(cases, 'text_encoder.json');
    const ids = ints(cases, c.input_ids);
    expect([model.tokenizer!.encode(c.prompts[0]), model.tokenizer!.encode(c.prompts[1])].flat()).toEqual(ids);
    const enc = await model.textEncoder!.encode([ids.slice(0, 77), ids.slice(77)]);
    expect(maxAbsDiff(enc.lastHidden, f32(cases, c.last_hidden_state))).toBeLessThan(ATOL);
    expect(maxAbsDiff(enc.pooled!, f32(cases, c.pooler_output))).toBeLessThan(ATOL);
  });

  it('UNet noise prediction on every case (batch, per-item and broadcast timesteps, non-square)', async () => {
    for (const c of readCase(cases, 'unet.json').cases) {
      const sample = f32(cases, c.sample);
      const out = new Float32Array(sample.length);
      await model.unet.predict(
        {
          sample,
          sampleDims: c.sample.shape,
          timestep: Array.from(f32(cases, c.timestep)),
          encoderHiddenStates: f32(cases, c.encoder_hidden_states),
          ehsDims: c.encoder_hidden_states.shape,
        },
        out,
      );
      expect(maxAbsDiff(out, f32(cases, c.out_sample)), c.name).toBeLessThan(ATOL);
    }
  });

  it('VAE decode on both cases', async () => {
    for (const c of readCase(cases, 'vae.json').decode_cases) {
      const dec = await model.vaeDecoder.decode(f32(cases, c.latent_sample), c.latent_sample.shape);
      expect(dec.dims).toEqual(c.sample.shape);
      expect(maxAbsDiff(dec.data, f32(cases, c.sample)), c.name).toBeLessThan(ATOL);
    }
  });

  it('VAE encode, deterministic latent_parameters variant: mean, clamped logvar, sample with eps', async () => {
    const enc = new VaeEncoderModel(await openModelSession(join(tinySd15Dir, 'variants/vae_encoder_latent_parameters/model.onnx'), 'cpu', { threads: 1 }));
    expect(enc.kind).toBe('latent_parameters');
    for (const c of readCase(cases, 'vae.json').encode_cases) {
      const r = await enc.encode(f32(cases, c.sample), c.sample.shape);
      expect(maxAbsDiff(r.mean, f32(cases, c.mean))).toBeLessThan(ATOL);
      expect(maxAbsDiff(r.logvar!, f32(cases, c.logvar))).toBeLessThan(ATOL);
      const eps = f32(cases, c.eps);
      const sampled = r.mean.map((m, i) => m + Math.exp(0.5 * r.logvar![i]) * eps[i]);
      expect(maxAbsDiff(sampled, f32(cases, c.latent_sample_with_eps))).toBeLessThan(ATOL);
    }
    await enc.s.session.release();
  });

  it('VAE encode, stochastic latent_sample export: z = (sample − mean)/std is standard normal', async () => {
    const enc = await model.vaeEncoder();
    expect(enc.kind).toBe('latent_sample');
    const c = readCase(cases, 'vae.json').encode_cases[0];
    const r = await enc.encode(f32(cases, c.sample), c.sample.shape);
    const mean = f32(cases, c.mean);
    const std = f32(cases, c.std);
    const z = r.mean.map((v, i) => (v - mean[i]) / std[i]);
    const mu = z.reduce((a, b) => a + b, 0) / z.length;
    const sd = Math.sqrt(z.reduce((a, b) => a + (b - mu) ** 2, 0) / z.length);
    expect(Math.abs(mu)).toBeLessThan(0.05);
    expect(Math.abs(sd - 1)).toBeLessThan(0.05);
    expect(absMax(z)).toBeLessThan(6);
  });
});

describe('tiny-sdxl (optimum layout, opset 17, int64 ids and timestep)', () => {
  const cases = join(tinySdxlDir, 'cases');
  let model: LoadedModel;
  beforeAll(async () => {
    model = await loadModelFolder(join(tinySdxlDir, 'pipeline'), { threads: 1 });
  });
  afterAll(() => model?.release());

  it('is identified as SDXL base', () => {
    expect(model.info).toMatchObject({ family: 'sdxl-base', layout: 'optimum', scalingFactor: 0.13025, vaeScaleFactor: 2, forceZerosForEmptyPrompt: true, defaultScheduler: 'euler' });
    expect(model.unet.timestep).toEqual({ type: 'int64', scalar: false });
    expect(model.unet.timeIdsLength).toBe(6);
    expect(model.textEncoder!.idsType).toBe('int64');
    expect(model.textEncoder!.penultimateName).toBe('hidden_states.4');
    expect(model.textEncoder2!.penultimateName).toBe('hidden_states.5');
    expect(model.textEncoder2!.pooledName).toBe('text_embeds');
  });

  it('both text encoders: every output', async () => {
    const c = readCase(cases, 'text_encoders.json');
    for (const [key, enc] of [['text_encoder', model.textEncoder!], ['text_encoder_2', model.textEncoder2!]] as const) {
      const ids = ints(cases, c[key].input_ids);
      const out = await enc.s.session.run({ input_ids: idsTensor('int64', [ids.slice(0, 77), ids.slice(77)]) });
      for (const [name, desc] of Object.entries<any>(c[key].outputs)) {
        expect(maxAbsDiff(out[name].data as Float32Array, f32(cases, desc)), `${key} ${name}`).toBeLessThan(ATOL);
      }
    }
  });

  it('UNet with text_embeds and time_ids on every case', async () => {
    for (const c of readCase(cases, 'unet.json').cases) {
      const sample = f32(cases, c.sample);
      const out = new Float32Array(sample.length);
      await model.unet.predict(
        {
          sample,
          sampleDims: c.sample.shape,
          timestep: ints(cases, c.timestep),
          encoderHiddenStates: f32(cases, c.encoder_hidden_states),
          ehsDims: c.encoder_hidden_states.shape,
          textEmbeds: f32(cases, c.text_embeds),
          timeIds: f32(cases, c.time_ids),
        },
        out,
      );
      expect(maxAbsDiff(out, f32(cases, c.out_sample)), c.name).toBeLessThan(ATOL);
    }
  });

  it('VAE decode and encode (latent_parameters export)', async () => {
    const vae = readCase(cases, 'vae.json');
    for (const c of vae.decode_cases) {
      const dec = await model.vaeDecoder.decode(f32(cases, c.latent_sample), c.latent_sample.shape);
      expect(maxAbsDiff(dec.data, f32(cases, c.sample)), c.name).toBeLessThan(ATOL);
    }
    const enc = await model.vaeEncoder();
    for (const c of vae.encode_cases) {
      const r = await enc.encode(f32(cases, c.sample), c.sample.shape);
      expect(maxAbsDiff(r.mean, f32(cases, c.mean))).toBeLessThan(ATOL);
      expect(maxAbsDiff(r.logvar!, f32(cases, c.logvar))).toBeLessThan(ATOL);
    }
  });
});
