import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { main } from '../../src/main/cli/main';
import { lookupTokenEmbeddings, prepareTextEncoderForEmbeds } from '../../src/main/onnx/text-encoder-embeds';
import { tinySd15Dir } from '../support/paths';
import { captureStdout } from '../support/capture-stdout';
import { readCaseJson, readCaseTensor } from './fixtures';
import { rng } from './grad-harness';

const work = mkdtempSync(join(tmpdir(), 'onnx-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('dreamframe build-ti-grad', () => {
  const stdout = captureStdout();

  it('writes a non-square (48×32 px) gradient model whose loss equals text encoder → UNet → MSE and whose gradient matches a directional difference', async () => {
    const file = join(work, 'ti.onnx');
    const code = await main(['build-ti-grad', '--model', join(tinySd15Dir, 'pipeline'), '--out', file, '--height', '32', '--width', '48', '--cache-dir', join(work, 'cache'), '--json']);
    expect(code).toBe(0);
    const result = JSON.parse(stdout.text());
    expect(result.modelPath).toBe(file);
    expect(existsSync(`${file}_data`)).toBe(true);
    expect(result.latentShape).toEqual([1, 4, 16, 24]);

    // Forward reference with the original models.
    const ids = readCaseTensor(tinySd15Dir, readCaseJson(tinySd15Dir, 'text_encoder.json').input_ids) as Int32Array;
    const prompt = ids.slice(0, 77);
    const enc = await prepareTextEncoderForEmbeds(join(tinySd15Dir, 'pipeline/text_encoder/model.onnx'), join(work, 'cache'));
    const embeds = lookupTokenEmbeddings(enc.tokenEmbedding, enc.width, prompt);
    const r = rng(5);
    const sample = Float32Array.from({ length: 4 * 16 * 24 }, () => r() * 2 - 1);
    const target = Float32Array.from({ length: 4 * 16 * 24 }, () => r() * 2 - 1);
    const te = await ort.InferenceSession.create(join(tinySd15Dir, 'pipeline/text_encoder/model.onnx'));
    const ehs = (await te.run({ input_ids: new ort.Tensor('int32', prompt, [1, 77]) })).last_hidden_state;
    const unet = await ort.InferenceSession.create(join(tinySd15Dir, 'pipeline/unet/model.onnx'));
    const timestep = new ort.Tensor('float32', Float32Array.of(321), [1]);
    const pred = (await unet.run({ sample: new ort.Tensor('float32', sample, [1, 4, 16, 24]), timestep, encoder_hidden_states: ehs })).out_sample.data as Float32Array;
    let mse = 0;
    for (let i = 0; i < pred.length; i++) mse += (pred[i] - target[i]) ** 2;
    mse /= pred.length;

    const s = await ort.InferenceSession.create(file);
    const feeds = (x: Float32Array) => ({
      inputs_embeds: new ort.Tensor('float32', x, [1, 77, enc.width]),
      sample: new ort.Tensor('float32', sample, [1, 4, 16, 24]),
      timestep,
      target: new ort.Tensor('float32', target, [1, 4, 16, 24]),
    });
    const res = await s.run(feeds(embeds));
    const loss = (res.loss.data as Float32Array)[0];
    expect(Math.abs(loss - mse)).toBeLessThanOrEqual(1e-5 * Math.max(1, mse));

    // (L(x + εg) − L(x − εg)) / 2ε ≈ |g|².
    const g = res.grad_inputs_embeds.data as Float32Array;
    let g2 = 0;
    for (const v of g) g2 += v * v;
    const eps = 0.003 / Math.sqrt(g2); // small step: the loss is visibly curved at 0.05
    const shifted = (sign: number) => Float32Array.from(embeds, (v, i) => v + sign * eps * g[i]);
    const lp = ((await s.run(feeds(shifted(1)))).loss.data as Float32Array)[0];
    const lm = ((await s.run(feeds(shifted(-1)))).loss.data as Float32Array)[0];
    expect(Math.abs((lp - lm) / (2 * eps) - g2)).toBeLessThanOrEqual(0.005 * g2);
  });

  it('reports a bad folder as a JSON error with exit code 1', async () => {
    expect(await main(['build-ti-grad', '--model', join(work, 'missing'), '--out', join(work, 'x.onnx'), '--json'])).toBe(1);
    expect(JSON.parse(stdout.text()).error.code).toBe('model_folder_incomplete');
  });
});
