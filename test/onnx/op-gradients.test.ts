import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { inferShapes } from '../../src/main/onnx/shapes';
import { tensorValue } from '../../src/main/onnx/tensor';
import { buildGradientGraph, buildOpModel, DataType, lossAt, makeNode, makeTensor, rng, sessionFor, type OpCase } from './grad-harness';

/**
 * Each case wraps one op as loss = Σ Y·R (R random), differentiates it with our rules and compares the analytic
 * gradient of every differentiated input against central finite differences of the same ORT model.
 */
async function checkOp(c: OpCase, seed = 7) {
  const { model, feeds, wrt } = buildOpModel(c, seed);
  const g = model.proto.graph;
  const info = inferShapes(model).info;
  const r = rng(seed + 100);
  const partial: string[] = [];
  g.node[0].output.forEach((y, i) => {
    const { dims, dtype } = info.get(y)!;
    const n = dims!.reduce((a, b) => a * b, 1);
    g.initializer.push(makeTensor(`R${i}`, dtype, dims!, Array.from({ length: n }, () => r() * 2 - 1)));
    g.node.push(makeNode('Mul', [y, `R${i}`], [`yr${i}`], `mul${i}`));
    g.node.push(makeNode('ReduceSum', [`yr${i}`], [`s${i}`], `sum${i}`, { keepdims: 0 }));
    partial.push(`s${i}`);
  });
  g.node.push(makeNode('Sum', partial, ['loss'], 'loss_sum'));
  const report = buildGradientGraph(model, { wrt, loss: 'loss' });
  const s = await sessionFor(model);
  const out = await s.run(feeds);
  const f64 = c.dtype === 'float64';
  const eps = f64 ? 1e-6 : 3e-3;
  for (const w of wrt) {
    const grad = out[`grad_${w}`].data as Float32Array | Float64Array;
    const base = feeds[w].data as Float32Array | Float64Array;
    expect(grad.length).toBe(base.length);
    const picks = base.length <= 24 ? [...base.keys()] : Array.from({ length: 24 }, () => Math.floor(r() * base.length));
    let scale = 0;
    for (const v of grad) scale = Math.max(scale, Math.abs(v));
    for (const i of picks) {
      const orig = base[i];
      const plus = base.slice() as typeof base;
      plus[i] = orig + eps;
      const minus = base.slice() as typeof base;
      minus[i] = orig - eps;
      const lp = await lossAt(s, { ...feeds, [w]: new ort.Tensor(c.dtype, plus, feeds[w].dims) });
      const lm = await lossAt(s, { ...feeds, [w]: new ort.Tensor(c.dtype, minus, feeds[w].dims) });
      const fd = (lp - lm) / (2 * eps);
      const tol = f64 ? 1e-6 + 1e-5 * Math.abs(fd) : 2e-3 * Math.max(1, scale) + 1e-2 * Math.abs(fd);
      expect(Math.abs(grad[i] - fd), `${c.op} d/d${w}[${i}]: analytic ${grad[i]} vs finite difference ${fd}`).toBeLessThanOrEqual(tol);
    }
  }
  return report;
}

const W = (name: string, dims: number[], extra: object = {}) => ({ name, dims, wrt: true, ...extra });
const K = (name: string, dims: number[], extra: object = {}) => ({ name, dims, ...extra });
const I64 = (name: string, data: number[], dims = [data.length]) => ({ name, dims, data, dtype: DataType.INT64 });
const d64 = 'float64' as const;
const f32 = 'float32' as const;

describe('per-op gradients vs central finite differences', () => {
  const cases: [string, OpCase][] = [
    ['Add with broadcasting both ways', { op: 'Add', inputs: [W('a', [2, 3, 4]), W('b', [3, 1])], dtype: d64 }],
    ['Sub with a lower-rank first operand', { op: 'Sub', inputs: [W('a', [4]), W('b', [2, 3, 4])], dtype: d64 }],
    ['Mul with broadcasting on middle axes', { op: 'Mul', inputs: [W('a', [2, 1, 4]), W('b', [3, 1])], dtype: d64 }],
    ['Div with two live inputs', { op: 'Div', inputs: [W('a', [2, 3]), W('b', [2, 3], { range: [0.5, 2] })], dtype: d64 }],
    ['Pow with constant exponent 2', { op: 'Pow', inputs: [W('a', [3, 4]), K('p', [], { data: [2] })], dtype: d64 }],
    ['Pow with constant exponent 0.5 and live exponent', { op: 'Pow', inputs: [W('a', [3, 4], { range: [0.5, 2] }), W('p', [4], { range: [0.3, 1.7] })], dtype: d64 }],
    ['Sqrt', { op: 'Sqrt', inputs: [W('a', [3, 5], { range: [0.2, 2] })], dtype: d64 }],
    ['Erf', { op: 'Erf', inputs: [W('a', [3, 5], { range: [-2, 2] })], dtype: f32 }],
    ['Sigmoid', { op: 'Sigmoid', inputs: [W('a', [3, 5], { range: [-3, 3] })], dtype: d64 }],
    ['Tanh', { op: 'Tanh', inputs: [W('a', [3, 5], { range: [-2, 2] })], dtype: d64 }],
    ['Exp', { op: 'Exp', inputs: [W('a', [7])], dtype: d64 }],
    ['Sin', { op: 'Sin', inputs: [W('a', [7])], dtype: d64 }],
    ['Cos', { op: 'Cos', inputs: [W('a', [7])], dtype: d64 }],
    ['Neg', { op: 'Neg', inputs: [W('a', [7])], dtype: d64 }],
    ['Softmax on the last axis', { op: 'Softmax', inputs: [W('a', [2, 3, 5], { range: [-2, 2] })], attrs: { axis: -1 }, dtype: d64 }],
    ['Softmax on axis 1', { op: 'Softmax', inputs: [W('a', [2, 3, 5], { range: [-2, 2] })], attrs: { axis: 1 }, dtype: d64 }],
    ['MatMul attention-shaped batched (scores)', { op: 'MatMul', inputs: [W('q', [2, 4, 5, 3]), W('k', [2, 4, 3, 5])], dtype: d64 }],
    ['MatMul activations × 2-D weight (batch broadcast)', { op: 'MatMul', inputs: [W('x', [2, 5, 3]), W('w', [3, 4])], dtype: d64 }],
    ['MatMul batch-broadcast [1,h] × [b,h]', { op: 'MatMul', inputs: [W('x', [1, 3, 4, 2]), W('w', [2, 1, 2, 5])], dtype: d64 }],
    ['MatMul with a 1-D operand', { op: 'MatMul', inputs: [W('x', [4]), W('w', [2, 4, 3])], dtype: d64 }],
    ['Gemm transB with broadcast bias', { op: 'Gemm', inputs: [W('a', [3, 4]), W('b', [5, 4]), W('c', [5])], attrs: { transB: 1, alpha: { float: 0.7 }, beta: { float: 1.3 } }, dtype: d64 }],
    ['Gemm transA', { op: 'Gemm', inputs: [W('a', [4, 3]), W('b', [4, 5]), W('c', [3, 1])], attrs: { transA: 1 }, dtype: d64 }],
    ['Conv 3×3 stride 2 on odd 7×7 input', { op: 'Conv', inputs: [W('x', [1, 2, 7, 7]), K('w', [3, 2, 3, 3]), K('b', [3])], attrs: { strides: [2, 2], pads: [1, 1, 1, 1], kernel_shape: [3, 3] }, dtype: f32 }],
    ['Conv 3×3 stride 2 on even 8×6 input, no padding', { op: 'Conv', inputs: [W('x', [2, 2, 8, 6]), K('w', [4, 2, 3, 3])], attrs: { strides: [2, 2], kernel_shape: [3, 3] }, dtype: f32 }],
    ['Conv 1×1 grouped with bias gradient', { op: 'Conv', inputs: [W('x', [1, 4, 5, 3]), K('w', [6, 2, 1, 1]), W('b', [6])], attrs: { group: 2 }, dtype: f32 }],
    ['InstanceNormalization (GroupNorm core) with scale and bias', { op: 'InstanceNormalization', inputs: [W('x', [2, 3, 5, 4]), W('s', [3], { range: [0.5, 1.5] }), W('bias', [3])], attrs: { epsilon: { float: 1e-5 } }, dtype: f32 }],
    ['LayerNormalization over the last axis', { op: 'LayerNormalization', inputs: [W('x', [2, 3, 6]), W('s', [6], { range: [0.5, 1.5] }), W('bias', [6])], attrs: { axis: -1 }, dtype: d64 }],
    ['LayerNormalization over the last two axes', { op: 'LayerNormalization', inputs: [W('x', [2, 3, 4]), K('s', [3, 4], { range: [0.5, 1.5] })], attrs: { axis: 1 }, dtype: d64 }],
    ['ReduceMean, negative axis, keepdims 0 (opset 17 attribute)', { op: 'ReduceMean', inputs: [W('x', [2, 3, 4])], attrs: { axes: [-1], keepdims: 0 }, dtype: d64, opset: 17 }],
    ['ReduceMean with axes input (opset 18)', { op: 'ReduceMean', inputs: [W('x', [2, 3, 4]), I64('ax', [0, -1])], attrs: { keepdims: 1 }, dtype: d64, opset: 18 }],
    ['ReduceSum with axes input', { op: 'ReduceSum', inputs: [W('x', [2, 3, 4]), I64('ax', [1])], attrs: { keepdims: 0 }, dtype: d64 }],
    ['Reshape', { op: 'Reshape', inputs: [W('x', [2, 3, 4]), I64('s', [4, -1])], dtype: d64 }],
    ['Transpose', { op: 'Transpose', inputs: [W('x', [2, 3, 4])], attrs: { perm: [2, 0, 1] }, dtype: d64 }],
    ['Concat on a negative axis', { op: 'Concat', inputs: [W('a', [2, 3]), W('b', [2, 2]), K('c', [2, 1])], attrs: { axis: -1 }, dtype: d64 }],
    ['Slice step 1 with negative axis and bounds', { op: 'Slice', inputs: [W('x', [3, 6]), I64('st', [1]), I64('en', [-1]), I64('ax', [-1])], dtype: d64 }],
    ['Slice with step 2 on two axes', { op: 'Slice', inputs: [W('x', [5, 6]), I64('st', [0, 5]), I64('en', [5, 0]), I64('ax', [0, 1]), I64('sp', [2, -2])], dtype: d64 }],
    ['Split into GEGLU halves (sizes input)', { op: 'Split', inputs: [W('x', [2, 3, 8]), I64('sz', [4, 4])], attrs: { axis: -1 }, dtype: d64, outputs: 2 }],
    ['Split with num_outputs (opset 18)', { op: 'Split', inputs: [W('x', [2, 6])], attrs: { axis: 1, num_outputs: 3 }, dtype: d64, opset: 18, outputs: 3 }],
    ['Gather axis 0 with repeated and negative ids', { op: 'Gather', inputs: [W('x', [5, 3]), I64('i', [1, 4, 1, -1, 0, 1], [2, 3])], dtype: d64 }],
    ['Gather axis 1 with a scalar index', { op: 'Gather', inputs: [W('x', [2, 4, 3]), I64('i', [2], [])], attrs: { axis: 1 }, dtype: d64 }],
    ['Unsqueeze', { op: 'Unsqueeze', inputs: [W('x', [2, 3]), I64('ax', [0, -1])], dtype: d64 }],
    ['Squeeze', { op: 'Squeeze', inputs: [W('x', [2, 1, 3, 1]), I64('ax', [1, -1])], dtype: d64 }],
    ['Flatten', { op: 'Flatten', inputs: [W('x', [2, 3, 4])], attrs: { axis: 2 }, dtype: d64 }],
    ['Expand', { op: 'Expand', inputs: [W('x', [3, 1]), I64('s', [2, 3, 4])], dtype: d64 }],
    ['Where with broadcast branches', { op: 'Where', inputs: [K('c', [2, 3], { dtype: DataType.BOOL, data: [1, 0, 1, 0, 0, 1] }), W('a', [2, 3]), W('b', [3])], dtype: d64 }],
    ['Cast float → double', { op: 'Cast', inputs: [W('x', [2, 3])], attrs: { to: DataType.DOUBLE }, dtype: f32 }],
    ['Resize nearest ×2 (asymmetric, floor)', { op: 'Resize', inputs: [W('x', [1, 2, 3, 5]), '', K('sc', [4], { data: [1, 1, 2, 2] })], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, dtype: f32 }],
    ['Pad constant (then stride-2 conv in VAE)', { op: 'Pad', inputs: [W('x', [1, 2, 3, 4]), I64('p', [0, 0, 0, 1, 0, 0, 1, 2])], dtype: d64 }],
    ['Pad with a negative pad (crop)', { op: 'Pad', inputs: [W('x', [2, 5]), I64('p', [0, -1, 1, 2])], dtype: d64 }],
    ['Pad with an axes input (opset 18)', { op: 'Pad', inputs: [W('x', [2, 3, 4]), I64('p', [1, 0, 2, 1]), '', I64('ax', [-1, 1])], dtype: d64, opset: 18 }],
    ['ReduceSum keepdims 1 over two axes (opset 18)', { op: 'ReduceSum', inputs: [W('x', [2, 3, 4]), I64('ax', [0, 2])], dtype: d64, opset: 18 }],
    ['Resize nearest ×2 at opset 18 (half_pixel, round_prefer_floor)', { op: 'Resize', inputs: [W('x', [1, 2, 3, 3]), '', K('sc', [4], { data: [1, 1, 2, 2] })], attrs: { mode: 'nearest' }, dtype: f32, opset: 18 }],
    ['Trilu (causal mask shape)', { op: 'Trilu', inputs: [W('x', [2, 4, 4])], attrs: { upper: 0 }, dtype: d64 }],
  ];
  for (const [title, c] of cases) it(title, async () => void (await checkOp(c)));

  it('fans gradients in when a tensor feeds several nodes, and skips nodes off the path', async () => {
    const { model, feeds, wrt } = buildOpModel({ op: 'Mul', inputs: [W('a', [3]), K('k', [3])], dtype: d64 }, 3);
    const g = model.proto.graph;
    // loss = Σ (a·k) + Σ a² + Σ sin(k)  (the last term does not depend on a)
    g.node.push(makeNode('Mul', ['a', 'a'], ['sq'], 'square'));
    g.node.push(makeNode('Sin', ['k'], ['sk'], 'sin_k'));
    g.node.push(makeNode('Sum', ['y0', 'sq', 'sk'], ['t'], 'total'));
    g.node.push(makeNode('ReduceSum', ['t'], ['loss'], 'reduce', { keepdims: 0 }));
    const report = buildGradientGraph(model, { wrt, loss: 'loss' });
    expect(report.differentiatedNodes).toBe(4); // ReduceSum, Sum, Mul(a,k), Mul(a,a) — not Sin
    const s = await sessionFor(model);
    const out = await s.run(feeds);
    const a = feeds.a.data as Float64Array;
    const kv = tensorValue(g.initializer.find((t) => t.name === 'k')!, '.').data as Float64Array;
    const grad = out.grad_a.data as Float64Array;
    for (let i = 0; i < 3; i++) expect(grad[i]).toBeCloseTo(kv[i] + 2 * a[i], 12);
  });

  it('names the op type and node of an op without a rule', async () => {
    const { model, wrt } = buildOpModel({ op: 'Softplus', inputs: [W('a', [2, 3])], dtype: d64 }, 1);
    const g = model.proto.graph;
    g.node.push(makeNode('ReduceSum', ['y0'], ['loss'], 'reduce', { keepdims: 0 }));
    expect(() => buildGradientGraph(model, { wrt, loss: 'loss' })).toThrow(/Softplus node "op_under_test"/);
  });
});
