import * as ort from 'onnxruntime-node';
import { buildGradientGraph } from '../../src/main/onnx/autodiff';
import { makeNode, makeValueInfo, type AttrValue } from '../../src/main/onnx/graph';
import { encodeModel } from '../../src/main/onnx/model-io';
import { makeTensor } from '../../src/main/onnx/tensor';
import { DataType, type ModelProto, type OnnxModel } from '../../src/main/onnx/types';

/** Deterministic pseudo-random numbers (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface OpInput {
  name: string;
  dims: number[];
  /** Differentiate with respect to it (a graph input); otherwise it becomes an initializer. */
  wrt?: boolean;
  data?: number[];
  dtype?: number;
  /** Draw values in [lo, hi). */
  range?: [number, number];
}

export interface OpCase {
  op: string;
  inputs: (OpInput | '')[];
  attrs?: Record<string, AttrValue | undefined>;
  dtype: 'float32' | 'float64';
  opset?: number;
  /** Extra forward nodes after the op, consuming `y` and producing `y2` (e.g. Split outputs recombined). */
  outputs?: number;
}

/** Builds `loss = Σ_i Σ(Y_i · R_i)` around one op, so d loss / d Y_i = R_i (random) and the check covers every output. */
export function buildOpModel(c: OpCase, seed = 1): { model: OnnxModel; feeds: Record<string, ort.Tensor>; wrt: string[] } {
  const r = rng(seed);
  const ft = c.dtype === 'float64' ? DataType.DOUBLE : DataType.FLOAT;
  const inputs = [];
  const inits = [];
  const feeds: Record<string, ort.Tensor> = {};
  const wrt: string[] = [];
  for (const inp of c.inputs) {
    if (inp === '') continue;
    const n = inp.dims.reduce((a, b) => a * b, 1);
    const [lo, hi] = inp.range ?? [-1, 1];
    const data = inp.data ?? Array.from({ length: n }, () => lo + (hi - lo) * r());
    const dtype = inp.dtype ?? ft;
    if (inp.wrt) {
      inputs.push(makeValueInfo(inp.name, dtype, inp.dims));
      feeds[inp.name] = new ort.Tensor(c.dtype, c.dtype === 'float64' ? Float64Array.from(data) : Float32Array.from(data), inp.dims);
      wrt.push(inp.name);
    } else inits.push(makeTensor(inp.name, dtype, inp.dims, data));
  }
  const outs = Array.from({ length: c.outputs ?? 1 }, (_, i) => `y${i}`);
  const nodes = [makeNode(c.op, c.inputs.map((i) => (i === '' ? '' : i.name)), outs, 'op_under_test', c.attrs ?? {})];
  // Output shapes come from shape inference inside buildGradientGraph; weights R need them, so use a two-step build.
  const model: OnnxModel = {
    baseDir: '.',
    proto: {
      irVersion: 8,
      opsetImport: [{ domain: '', version: c.opset ?? 17 }],
      graph: { node: nodes, initializer: inits, input: inputs, output: [], valueInfo: [], sparseInitializer: [], quantizationAnnotation: [], name: 'op' },
      metadataProps: [],
      trainingInfo: [],
      functions: [],
    } as ModelProto,
  };
  return { model, feeds, wrt };
}

export async function sessionFor(model: OnnxModel): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(encodeModel(model.proto));
}

export async function lossAt(s: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<number> {
  const out = await s.run(feeds, ['loss']);
  return Number((out.loss.data as Float32Array | Float64Array)[0]);
}

export { buildGradientGraph, makeNode, makeTensor, makeValueInfo, DataType };
