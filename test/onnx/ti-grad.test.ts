import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { lookupTokenEmbeddings, prepareTextEncoderForEmbeds } from '../../src/main/onnx/text-encoder-embeds';
import { buildTiGradModel } from '../../src/main/onnx/ti-grad';
import { tinySd15Dir, tinySdxlDir } from '../support/paths';
import { norm, readCaseJson, readCaseTensor } from './fixtures';

const cacheDir = mkdtempSync(join(tmpdir(), 'onnx-ti-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

/** Token embeddings of the prompt with the placeholder id's row replaced by the learned vector. */
async function promptEmbeds(encoderFile: string, ids: ArrayLike<number | bigint>, placeholderId: number, placeholder: Float32Array) {
  const enc = await prepareTextEncoderForEmbeds(encoderFile, cacheDir);
  const safe = Array.from(ids, (v) => (Number(v) === placeholderId ? 0 : Number(v)));
  const embeds = lookupTokenEmbeddings(enc.tokenEmbedding, enc.width, safe);
  const positions = Array.from(ids, (v, i) => (Number(v) === placeholderId ? i : -1)).filter((i) => i >= 0);
  for (const p of positions) embeds.set(placeholder, p * enc.width);
  return { embeds, positions, width: enc.width };
}

/** d loss / d placeholder vector = sum of the gradient rows at the placeholder's positions. */
function rowGradient(grad: Float32Array, positions: number[], width: number): Float64Array {
  const out = new Float64Array(width);
  for (const p of positions) for (let j = 0; j < width; j++) out[j] += grad[p * width + j];
  return out;
}

function relErr(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  const d = Array.from(ref, (r, i) => a[i] - r);
  return norm(d) / norm(ref);
}

describe('textual-inversion gradient model vs the reference library', () => {
  it('tiny-sd15 (opset 14, diffusers-script layout): loss and d loss/d placeholder row at 4 timesteps', async () => {
    const ti = readCaseJson(tinySd15Dir, 'textual_inversion.json');
    const built = await buildTiGradModel(join(tinySd15Dir, 'pipeline'), { height: 64, width: 64, cacheDir });
    expect(built.family).toBe('sd1');
    expect(built.inputs.map((i) => i.name)).toEqual(['inputs_embeds', 'sample', 'timestep', 'target']);
    expect(built.outputs.map((o) => o.name)).toEqual(['loss', 'grad_inputs_embeds']);
    const ids = readCaseTensor(tinySd15Dir, ti.input_ids) as Int32Array;
    const { embeds, positions, width } = await promptEmbeds(
      join(tinySd15Dir, 'pipeline/text_encoder/model.onnx'),
      ids,
      ti.placeholder_token_id,
      readCaseTensor(tinySd15Dir, ti.placeholder_embedding_initial) as Float32Array,
    );
    expect(positions).toEqual([4]);
    const s = await ort.InferenceSession.create(built.modelPath);
    const noise = readCaseTensor(tinySd15Dir, ti.noise) as Float32Array;
    for (const c of ti.cases) {
      const out = await s.run({
        inputs_embeds: new ort.Tensor('float32', embeds, [1, 77, width]),
        sample: new ort.Tensor('float32', readCaseTensor(tinySd15Dir, c.noisy_latents) as Float32Array, [1, 4, 32, 32]),
        timestep: new ort.Tensor('float32', Float32Array.of(c.t), [1]),
        target: new ort.Tensor('float32', noise, [1, 4, 32, 32]),
      });
      const loss = (out.loss.data as Float32Array)[0];
      expect(Math.abs(loss - c.loss_float64), `loss at t=${c.t}`).toBeLessThanOrEqual(1e-3 * c.loss_float64);
      expect(Math.abs(loss - c.loss_float64)).toBeLessThanOrEqual(1e-5);
      const g = rowGradient(out.grad_inputs_embeds.data as Float32Array, positions, width);
      const ref = readCaseTensor(tinySd15Dir, c.grad_placeholder_row_float64) as Float64Array;
      expect(relErr(g, ref), `gradient at t=${c.t}`).toBeLessThanOrEqual(1e-3);
    }
  });

  it('tiny-sdxl (opset 17, optimum layout, two encoders, pooled text_embeds path): both placeholder rows at 3 timesteps', async () => {
    const ti = readCaseJson(tinySdxlDir, 'textual_inversion.json');
    const built = await buildTiGradModel(join(tinySdxlDir, 'pipeline'), { height: 64, width: 64, cacheDir });
    expect(built.family).toBe('sdxl');
    expect(built.outputs.map((o) => o.name)).toEqual(['loss', 'grad_inputs_embeds', 'grad_inputs_embeds_2']);
    const ids1 = readCaseTensor(tinySdxlDir, ti.input_ids) as BigInt64Array;
    const ids2 = readCaseTensor(tinySdxlDir, ti.input_ids_2) as BigInt64Array;
    const p = ti.placeholder_token_id;
    const e1 = await promptEmbeds(join(tinySdxlDir, 'pipeline/text_encoder/model.onnx'), ids1, p, readCaseTensor(tinySdxlDir, ti.placeholder_embedding_initial_1) as Float32Array);
    const e2 = await promptEmbeds(join(tinySdxlDir, 'pipeline/text_encoder_2/model.onnx'), ids2, p, readCaseTensor(tinySdxlDir, ti.placeholder_embedding_initial_2) as Float32Array);
    const s = await ort.InferenceSession.create(built.modelPath);
    const noise = readCaseTensor(tinySdxlDir, ti.noise) as Float32Array;
    for (const c of ti.cases) {
      const out = await s.run({
        inputs_embeds: new ort.Tensor('float32', e1.embeds, [1, 77, e1.width]),
        inputs_embeds_2: new ort.Tensor('float32', e2.embeds, [1, 77, e2.width]),
        input_ids_2: new ort.Tensor('int64', ids2, [1, 77]),
        sample: new ort.Tensor('float32', readCaseTensor(tinySdxlDir, c.noisy_latents) as Float32Array, [1, 4, 32, 32]),
        timestep: new ort.Tensor('int64', BigInt64Array.of(BigInt(c.t)), [1]),
        target: new ort.Tensor('float32', noise, [1, 4, 32, 32]),
        time_ids: new ort.Tensor('float32', readCaseTensor(tinySdxlDir, ti.time_ids) as Float32Array, [1, 6]),
      });
      const loss = (out.loss.data as Float32Array)[0];
      expect(Math.abs(loss - c.loss_float64), `loss at t=${c.t}`).toBeLessThanOrEqual(1e-5);
      const g1 = rowGradient(out.grad_inputs_embeds.data as Float32Array, e1.positions, e1.width);
      const g2 = rowGradient(out.grad_inputs_embeds_2.data as Float32Array, e2.positions, e2.width);
      expect(relErr(g1, readCaseTensor(tinySdxlDir, c.grad_placeholder_row_1_float64) as Float64Array), `row 1 at t=${c.t}`).toBeLessThanOrEqual(1e-3);
      expect(relErr(g2, readCaseTensor(tinySdxlDir, c.grad_placeholder_row_2_float64) as Float64Array), `row 2 at t=${c.t}`).toBeLessThanOrEqual(1e-3);
    }
  });
});
