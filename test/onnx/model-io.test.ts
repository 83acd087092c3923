import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { loadModel, saveModel } from '../../src/main/onnx/model-io';
import { tensorBytes } from '../../src/main/onnx/tensor';
import { topologicalSort } from '../../src/main/onnx/graph';
import { tinySd15Dir, tinySdxlDir } from '../support/paths';
import { readCaseJson, readCaseTensor } from './fixtures';

const work = mkdtempSync(join(tmpdir(), 'onnx-io-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('ONNX model load/save', () => {
  it('round-trips the tiny-sd15 UNet with external weights.pb bit-exactly', async () => {
    const src = join(tinySd15Dir, 'pipeline/unet/model.onnx');
    const original = loadModel(src);
    expect(original.proto.graph.initializer.some((t) => t.dataLocation === 1)).toBe(true);

    const out = join(work, 'sd15-unet/model.onnx');
    saveModel(original, out, { externalData: { location: 'weights.pb' } });
    const reloaded = loadModel(out);

    const a = original.proto.graph.initializer;
    const b = reloaded.proto.graph.initializer;
    expect(b.map((t) => t.name)).toEqual(a.map((t) => t.name));
    for (let i = 0; i < a.length; i++) {
      expect(Buffer.compare(Buffer.from(tensorBytes(a[i], original.baseDir)), Buffer.from(tensorBytes(b[i], reloaded.baseDir)))).toBe(0);
      expect(b[i].dims).toEqual(a[i].dims);
    }
    expect(reloaded.proto.graph.node.length).toBe(original.proto.graph.node.length);

    // Saving the reloaded model again gives byte-identical files.
    const again = join(work, 'sd15-unet-again/model.onnx');
    saveModel(reloaded, again, { externalData: { location: 'weights.pb' } });
    expect(Buffer.compare(readFileSync(again), readFileSync(out))).toBe(0);
    expect(Buffer.compare(readFileSync(join(work, 'sd15-unet-again/weights.pb')), readFileSync(join(work, 'sd15-unet/weights.pb')))).toBe(0);

    // onnxruntime runs the saved copy and gives the very same output as the original.
    const case1 = readCaseJson(tinySd15Dir, 'unet.json').cases[0];
    const feeds = {
      sample: new ort.Tensor('float32', readCaseTensor(tinySd15Dir, case1.sample) as Float32Array, case1.sample.shape),
      timestep: new ort.Tensor('float32', readCaseTensor(tinySd15Dir, case1.timestep) as Float32Array, case1.timestep.shape),
      encoder_hidden_states: new ort.Tensor('float32', readCaseTensor(tinySd15Dir, case1.encoder_hidden_states) as Float32Array, case1.encoder_hidden_states.shape),
    };
    const s1 = await ort.InferenceSession.create(src);
    const s2 = await ort.InferenceSession.create(out);
    const y1 = (await s1.run(feeds)).out_sample.data as Float32Array;
    const y2 = (await s2.run(feeds)).out_sample.data as Float32Array;
    expect(Buffer.compare(Buffer.from(y1.buffer), Buffer.from(y2.buffer))).toBe(0);
  });

  it('moves inline weights to a model.onnx_data side file and back inline', () => {
    const src = join(tinySdxlDir, 'pipeline/unet/model.onnx');
    const inline = loadModel(src);
    expect(inline.proto.graph.initializer.some((t) => t.dataLocation === 1)).toBe(false);
    const out = join(work, 'sdxl-unet/model.onnx');
    saveModel(inline, out, { externalData: { location: 'model.onnx_data' } });
    const external = loadModel(out);
    expect(external.proto.graph.initializer.filter((t) => t.dataLocation === 1).length).toBeGreaterThan(10);

    const back = join(work, 'sdxl-unet-inline/model.onnx');
    saveModel(external, back, { externalData: false });
    const reInline = loadModel(back);
    for (let i = 0; i < inline.proto.graph.initializer.length; i++) {
      const x = tensorBytes(inline.proto.graph.initializer[i], inline.baseDir);
      const y = tensorBytes(reInline.proto.graph.initializer[i], reInline.baseDir);
      expect(Buffer.compare(Buffer.from(x), Buffer.from(y))).toBe(0);
    }
  });

  it('orders nodes topologically after they are shuffled', () => {
    const m = loadModel(join(tinySd15Dir, 'pipeline/text_encoder/model.onnx'));
    const g = m.proto.graph;
    const names = new Set(g.node.map((n) => n.output[0]));
    g.node.reverse();
    topologicalSort(g);
    const seen = new Set<string>([...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name ?? '')]);
    for (const n of g.node) {
      for (const i of n.input) if (i) expect(seen.has(i) || !names.has(i)).toBe(true);
      for (const o of n.output) seen.add(o);
    }
  });
});
