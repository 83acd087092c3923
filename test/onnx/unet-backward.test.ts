import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildGradientGraph } from '../../src/main/onnx/autodiff';
import { encodeModel, loadModel, materializeExternalData } from '../../src/main/onnx/model-io';
import { makeStatic } from '../../src/main/onnx/shapes';
import { addMseLoss } from '../../src/main/onnx/surgery';
import { tinySd15Dir } from '../support/paths';
import { norm, readCaseJson, readCaseTensor } from './fixtures';

describe('UNet backward alone', () => {
  it('tiny-sd15: d loss / d encoder_hidden_states (full [1,77,32] tensor) and a per-timestep loss weight', async () => {
    const ti = readCaseJson(tinySd15Dir, 'textual_inversion.json');
    const c = ti.cases[0];
    const m = loadModel(join(tinySd15Dir, 'pipeline/unet/model.onnx'));
    materializeExternalData(m);
    addMseLoss(m, 'out_sample', { targetInput: 'target', weightInput: 'loss_weight' });
    makeStatic(m, { sample: [1, 4, 32, 32], timestep: [1], encoder_hidden_states: [1, 77, 32], target: [1, 4, 32, 32] });
    const report = buildGradientGraph(m, { wrt: ['encoder_hidden_states'], loss: 'loss' });
    // Only the cross-attention K/V branches (and what follows them) need a backward, not the whole UNet.
    expect(report.differentiatedNodes).toBeLessThan(report.forwardNodes);
    const s = await ort.InferenceSession.create(encodeModel(m.proto));
    const weight = 0.37;
    const out = await s.run({
      sample: new ort.Tensor('float32', readCaseTensor(tinySd15Dir, c.noisy_latents) as Float32Array, [1, 4, 32, 32]),
      timestep: new ort.Tensor('float32', Float32Array.of(c.t), [1]),
      encoder_hidden_states: new ort.Tensor('float32', readCaseTensor(tinySd15Dir, c.encoder_hidden_states) as Float32Array, [1, 77, 32]),
      target: new ort.Tensor('float32', readCaseTensor(tinySd15Dir, ti.noise) as Float32Array, [1, 4, 32, 32]),
      loss_weight: new ort.Tensor('float32', Float32Array.of(weight), [1]),
    });
    expect(Math.abs((out.loss.data as Float32Array)[0] - weight * c.loss_float64)).toBeLessThanOrEqual(1e-5);
    const got = out.grad_encoder_hidden_states.data as Float32Array;
    const ref = readCaseTensor(tinySd15Dir, c.grad_encoder_hidden_states) as Float32Array;
    const diff = Array.from(ref, (r, i) => got[i] - weight * r);
    expect(norm(diff) / (weight * norm(ref))).toBeLessThanOrEqual(1e-3);
  });
});
