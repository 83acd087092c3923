import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { loadModel, saveModel } from '../../src/main/onnx/model-io';
import { makeStatic } from '../../src/main/onnx/shapes';
import { tinySd15Dir, tinySdxlDir } from '../support/paths';
import { maxAbsDiff, readCaseJson, readCaseTensor } from './fixtures';

const work = mkdtempSync(join(tmpdir(), 'onnx-shapes-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function ortTensor(dir: string, t: any): ort.Tensor {
  const data = readCaseTensor(dir, t);
  const type = data instanceof BigInt64Array ? 'int64' : data instanceof Int32Array ? 'int32' : 'float32';
  return new ort.Tensor(type, data as any, t.shape);
}

describe('static shapes and shape-subgraph folding', () => {
  it('tiny-sd15 UNet at batch 1, 32×32: every tensor gets a shape, Shape/Gather/Concat math folds away, outputs match the reference', async () => {
    const m = loadModel(join(tinySd15Dir, 'pipeline/unet/model.onnx'));
    const before = m.proto.graph.node.length;
    const a = makeStatic(m, { sample: [1, 4, 32, 32], timestep: [1], encoder_hidden_states: [1, 77, 32] });
    const g = m.proto.graph;
    expect(g.node.length).toBeLessThan(before / 2);
    expect(g.node.filter((n) => n.opType === 'Shape' || n.opType === 'Constant').length).toBe(0);
    for (const n of g.node) for (const o of n.output) expect(a.info.get(o)?.dims, `${n.opType} ${o}`).toBeDefined();
    expect(a.info.get('out_sample')?.dims).toEqual([1, 4, 32, 32]);

    const file = join(work, 'sd15-unet-static.onnx');
    saveModel(m, file);
    const s = await ort.InferenceSession.create(file);
    const c = readCaseJson(tinySd15Dir, 'unet.json').cases[0];
    const y = await s.run({ sample: ortTensor(tinySd15Dir, c.sample), timestep: ortTensor(tinySd15Dir, c.timestep), encoder_hidden_states: ortTensor(tinySd15Dir, c.encoder_hidden_states) });
    expect(maxAbsDiff(y.out_sample.data as Float32Array, readCaseTensor(tinySd15Dir, c.out_sample) as Float32Array)).toBeLessThan(1e-4);
  });

  it('tiny-sdxl UNet with batch 2 and non-square 16×24 latents', async () => {
    const m = loadModel(join(tinySdxlDir, 'pipeline/unet/model.onnx'));
    const c = readCaseJson(tinySdxlDir, 'unet.json').cases[3];
    const a = makeStatic(m, {
      sample: c.sample.shape,
      timestep: c.timestep.shape,
      encoder_hidden_states: c.encoder_hidden_states.shape,
      text_embeds: c.text_embeds.shape,
      time_ids: c.time_ids.shape,
    });
    expect(a.info.get('out_sample')?.dims).toEqual(c.out_sample.shape);
    for (const n of m.proto.graph.node) for (const o of n.output) expect(a.info.get(o)?.dims).toBeDefined();
    const file = join(work, 'sdxl-unet-static.onnx');
    saveModel(m, file);
    const s = await ort.InferenceSession.create(file);
    const feeds: Record<string, ort.Tensor> = {};
    for (const k of ['sample', 'timestep', 'encoder_hidden_states', 'text_embeds', 'time_ids']) feeds[k] = ortTensor(tinySdxlDir, c[k]);
    const y = await s.run(feeds);
    expect(maxAbsDiff(y.out_sample.data as Float32Array, readCaseTensor(tinySdxlDir, c.out_sample) as Float32Array)).toBeLessThan(1e-4);
  });

  it('pins free dimensions by dim_param name and folds the text encoder\'s mask and position math', () => {
    const m = loadModel(join(tinySd15Dir, 'pipeline/text_encoder/model.onnx'));
    const a = makeStatic(m, {}, { batch: 3, sequence: 77 });
    expect(a.info.get('last_hidden_state')?.dims).toEqual([3, 77, 32]);
    expect(a.info.get('pooler_output')?.dims).toEqual([3, 32]);
    const ops = new Set(m.proto.graph.node.map((n) => n.opType));
    for (const folded of ['Shape', 'Range', 'Trilu', 'ConstantOfShape', 'Constant']) expect(ops.has(folded), folded).toBe(false);
  });

  it('rejects pinning an input to the wrong rank', () => {
    const m = loadModel(join(tinySd15Dir, 'pipeline/text_encoder/model.onnx'));
    expect(() => makeStatic(m, { input_ids: [77] })).toThrow(/input_ids/);
  });
});
