import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { indexGraph, valueInfoShape } from '../../src/main/onnx/graph';
import { NON_DIFFERENTIABLE, RULES } from '../../src/main/onnx/grad-rules';
import { encodeModel, loadModel } from '../../src/main/onnx/model-io';
import { buildSdModel, countSdParameters, folderConfigs, InlineStore, sd15Configs, SD_MODELS, type ParamInit, type SdModelName, type WeightStore } from '../../src/main/onnx/synthetic/index';
import { emptyTensor, isFloatType, numel, tensorBytes } from '../../src/main/onnx/tensor';
import type { ModelProto, OnnxModel, TensorProto } from '../../src/main/onnx/types';
import { DataType } from '../../src/main/onnx/types';
import { tinySd15Dir } from '../support/paths';
import { maxAbsDiff, readCaseJson, readCaseTensor } from './fixtures';

const pipelineDir = join(tinySd15Dir, 'pipeline');
const tinyConfigs = folderConfigs(pipelineDir);
const fixtureFile = (name: SdModelName) =>
  name === 'vae_encoder' ? join(tinySd15Dir, 'variants/vae_encoder_latent_parameters/model.onnx') : join(pipelineDir, name, 'model.onnx');

describe('parameter counts from the generated graphs (shape-only, no weights made)', () => {
  it('tiny preset = the tiny-sd15 README: UNet 1,427,012; AutoencoderKL 658,375; CLIPTextModel 1,617,529', () => {
    expect(countSdParameters('unet', tinyConfigs)).toBe(1_427_012);
    expect(countSdParameters('vae_encoder', tinyConfigs) + countSdParameters('vae_decoder', tinyConfigs)).toBe(658_375);
    expect(countSdParameters('text_encoder', tinyConfigs)).toBe(1_617_529);
  });

  it('sd15 preset = the published SD 1.5 sizes: UNet 859,520,964; CLIP ViT-L/14 text 123,060,480; VAE 83,653,863', () => {
    const sd15 = sd15Configs();
    expect(countSdParameters('unet', sd15)).toBe(859_520_964);
    expect(countSdParameters('text_encoder', sd15)).toBe(123_060_480);
    expect(countSdParameters('vae_encoder', sd15) + countSdParameters('vae_decoder', sd15)).toBe(83_653_863);
  });

  it('SD 2.1 configs (linear projections, per-block head counts, OpenCLIP-H gelu encoder) = the published 865,910,724 / 340,387,840', () => {
    // stabilityai/stable-diffusion-2-1 unet/ and text_encoder/ config.json, as overrides of SD 1.5's.
    const sd15 = sd15Configs();
    const sd21 = {
      ...sd15,
      unet: { ...sd15.unet, attention_head_dim: [5, 10, 20, 20], cross_attention_dim: 1024, use_linear_projection: true, upcast_attention: true, sample_size: 96 },
      textEncoder: { ...sd15.textEncoder, hidden_act: 'gelu', hidden_size: 1024, intermediate_size: 4096, num_attention_heads: 16, num_hidden_layers: 23, projection_dim: 512 },
    };
    expect(countSdParameters('unet', sd21)).toBe(865_910_724);
    expect(countSdParameters('text_encoder', sd21)).toBe(340_387_840);
  });

  it('full-size graphs stay far below the 2 GB protobuf limit once the weights are external', () => {
    const sd15 = sd15Configs();
    const unet = buildSdModel('unet', sd15, { add: (name, dims) => emptyTensor({ name, dims, dataType: DataType.FLOAT }), close() {} });
    expect(encodeModel(unet).byteLength).toBeLessThan(5e6);
  });
});

describe('SD 2.x-style options at tiny size', () => {
  it('use_linear_projection, per-block heads and a gelu text encoder run in ORT with finite outputs', async () => {
    const c = {
      ...tinyConfigs,
      unet: { ...tinyConfigs.unet, use_linear_projection: true, attention_head_dim: [2, 4] },
      textEncoder: { ...tinyConfigs.textEncoder, hidden_act: 'gelu' },
    };
    const te = await ort.InferenceSession.create(encodeModel(buildSdModel('text_encoder', c, new InlineStore(1))));
    const ids = new Int32Array(77).fill(49407);
    ids[0] = 49406;
    const hidden = (await te.run({ input_ids: new ort.Tensor('int32', ids, [1, 77]) })).last_hidden_state;
    const unet = await ort.InferenceSession.create(encodeModel(buildSdModel('unet', c, new InlineStore(1))));
    const out = await unet.run({
      sample: new ort.Tensor('float32', new Float32Array(4 * 8 * 8).map((_, i) => Math.sin(i)), [1, 4, 8, 8]),
      timestep: new ort.Tensor('float32', Float32Array.of(10), [1]),
      encoder_hidden_states: hidden,
    });
    const data = out.out_sample.data as Float32Array;
    expect(out.out_sample.dims).toEqual([1, 4, 8, 8]);
    expect(data.every(Number.isFinite)).toBe(true);
    expect(data.some((v) => v !== 0)).toBe(true);
    await Promise.all([te.release(), unet.release()]);
  });
});

/**
 * torch's exporter stores a parameter once per distinct value: every all-ones GroupNorm scale of one width becomes a
 * single initializer, CLIP's zero-initialised biases collapse into one, and so on. Apply the same deduplication to
 * ours (by shape and bytes) and the two multisets of initializer shapes must be equal.
 */
function dedupedShapes(model: OnnxModel): string[] {
  const seen = new Set<string>();
  const shapes: string[] = [];
  for (const t of model.proto.graph.initializer) {
    if (!isFloatType(t.dataType)) continue; // CLIP's int64 position_ids buffer is not a parameter
    const key = `${t.dims.join('x')}|${createHash('sha1').update(tensorBytes(t, model.baseDir)).digest('hex')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    shapes.push(JSON.stringify(t.dims.map(Number)));
  }
  return shapes.sort();
}

describe('generated tiny models have the fixture exports\' initializers, interface and op kinds', () => {
  for (const name of SD_MODELS) {
    it(`${name}: initializer shapes, inputs/outputs, opset/IR, differentiable standard ops`, () => {
      const fixture = loadModel(fixtureFile(name));
      const ours: OnnxModel = { proto: buildSdModel(name, tinyConfigs, new InlineStore(0)), baseDir: '.' };
      expect(dedupedShapes(ours)).toEqual(dedupedShapes(fixture));

      const io = (m: ModelProto) => [...m.graph.input, ...m.graph.output].map((v) => {
        const s = valueInfoShape(v);
        return { name: v.name, elemType: s.elemType, rank: s.dims?.length, fixed: s.dims?.filter((d) => typeof d === 'number') };
      });
      expect(io(ours.proto)).toEqual(io(fixture.proto));
      expect(ours.proto.irVersion).toBe(fixture.proto.irVersion);
      expect(ours.proto.opsetImport).toEqual([{ domain: '', version: 14 }]);

      // Only op kinds the torch export of the same model uses, each one the autodiff can handle.
      const fixtureOps = new Set(fixture.proto.graph.node.map((n) => n.opType));
      const ourOps = new Set(ours.proto.graph.node.map((n) => n.opType));
      expect([...ourOps].filter((op) => !fixtureOps.has(op))).toEqual([]);
      expect([...ourOps].filter((op) => op !== 'Constant' && !RULES[op] && !NON_DIFFERENTIABLE.has(op))).toEqual([]);
      expect(ours.proto.graph.node.every((n) => (n.domain ?? '') === '')).toBe(true);
    });
  }
});

/**
 * The fixture's parameters by our (state-dict) names. Named initializers map directly; linear weights the exporter
 * renamed (`onnx::MatMul_…`, stored [in, out]) are named after the MatMul node that reads them
 * (`/down_blocks.1/…/attn1/to_q/MatMul` → `down_blocks.1.….attn1.to_q.weight`), following Identity aliases.
 */
function fixtureParameters(model: OnnxModel): Map<string, TensorProto> {
  const g = model.proto.graph;
  const idx = indexGraph(g);
  const byName = new Map<string, TensorProto>();
  const resolve = (name: string): TensorProto | undefined => {
    let cur = name;
    for (let i = 0; i < 4; i++) {
      const t = idx.initializers.get(cur);
      if (t) return t;
      const p = idx.producer.get(cur);
      if (p?.opType !== 'Identity') return undefined;
      cur = p.input[0];
    }
    return undefined;
  };
  for (const t of g.initializer) byName.set(t.name!, t);
  for (const n of g.node) {
    if (n.opType === 'Identity' && resolve(n.input[0])) byName.set(n.output[0], resolve(n.input[0])!);
    if (n.opType === 'MatMul' && n.name && resolve(n.input[1])) {
      byName.set(`${n.name.replace(/^\//, '').split('/').slice(0, -1).join('.')}.weight`, resolve(n.input[1])!);
    }
  }
  return byName;
}

/** A WeightStore that takes every random parameter from the fixture (norm scales/shifts may be our constants). */
class FixtureWeights implements WeightStore {
  readonly missing: string[] = [];
  constructor(private readonly params: Map<string, TensorProto>, private readonly baseDir: string) {}
  add(name: string, dims: number[], init: ParamInit): TensorProto {
    const t = this.params.get(name);
    if (!t) {
      if (init.kind !== 'constant') this.missing.push(name);
      return new InlineStore(0).add(name, dims, init);
    }
    if (numel(t.dims) !== numel(dims)) this.missing.push(`${name} (fixture dims ${t.dims}, ours ${dims})`);
    return emptyTensor({ name, dataType: DataType.FLOAT, dims, rawData: new Uint8Array(tensorBytes(t, this.baseDir)) });
  }
  close(): void {}
}

async function runWithFixtureWeights(name: SdModelName, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  const fixture = loadModel(fixtureFile(name));
  const store = new FixtureWeights(fixtureParameters(fixture), fixture.baseDir);
  const proto = buildSdModel(name, tinyConfigs, store);
  expect(store.missing, 'random parameters not found in the fixture').toEqual([]);
  const session = await ort.InferenceSession.create(encodeModel(proto));
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

const f32 = (t: Float32Array | Float64Array | Int32Array | BigInt64Array) => t as Float32Array;

describe('with the fixture\'s weights, the generated graphs reproduce the reference library outputs', () => {
  it('UNet2DConditionModel: all four unet.json cases (batch 1/2, broadcast timestep, 16×24)', async () => {
    const list = readCaseJson(tinySd15Dir, 'unet.json').cases as any[];
    expect(list.length).toBe(4);
    for (const c of list) {
      const out = await runWithFixtureWeights('unet', {
        sample: new ort.Tensor('float32', f32(readCaseTensor(tinySd15Dir, c.sample)), c.sample.shape),
        timestep: new ort.Tensor('float32', f32(readCaseTensor(tinySd15Dir, c.timestep)), c.timestep.shape),
        encoder_hidden_states: new ort.Tensor('float32', f32(readCaseTensor(tinySd15Dir, c.encoder_hidden_states)), c.encoder_hidden_states.shape),
      });
      expect(maxAbsDiff(out.out_sample.data as Float32Array, f32(readCaseTensor(tinySd15Dir, c.out_sample)))).toBeLessThan(1e-4);
    }
  });

  it('CLIPTextModel: last_hidden_state and pooler_output of text_encoder.json', async () => {
    const c = readCaseJson(tinySd15Dir, 'text_encoder.json');
    const out = await runWithFixtureWeights('text_encoder', {
      input_ids: new ort.Tensor('int32', readCaseTensor(tinySd15Dir, c.input_ids) as Int32Array, c.input_ids.shape),
    });
    expect(maxAbsDiff(out.last_hidden_state.data as Float32Array, f32(readCaseTensor(tinySd15Dir, c.last_hidden_state)))).toBeLessThan(1e-4);
    expect(maxAbsDiff(out.pooler_output.data as Float32Array, f32(readCaseTensor(tinySd15Dir, c.pooler_output)))).toBeLessThan(1e-4);
  });

  it('AutoencoderKL: decoder d1/d2 and latent_parameters encoder e1/e2 of vae.json', async () => {
    const v = readCaseJson(tinySd15Dir, 'vae.json');
    const decodes = v.decode_cases as any[];
    const encodes = v.encode_cases as any[];
    expect([decodes.length, encodes.length]).toEqual([2, 2]);
    for (const c of decodes) {
      const out = await runWithFixtureWeights('vae_decoder', { latent_sample: new ort.Tensor('float32', f32(readCaseTensor(tinySd15Dir, c.latent_sample)), c.latent_sample.shape) });
      expect(maxAbsDiff(out.sample.data as Float32Array, f32(readCaseTensor(tinySd15Dir, c.sample)))).toBeLessThan(1e-4);
    }
    for (const c of encodes) {
      const out = await runWithFixtureWeights('vae_encoder', { sample: new ort.Tensor('float32', f32(readCaseTensor(tinySd15Dir, c.sample)), c.sample.shape) });
      expect(maxAbsDiff(out.latent_parameters.data as Float32Array, f32(readCaseTensor(tinySd15Dir, c.latent_parameters)))).toBeLessThan(1e-4);
    }
  });
});
