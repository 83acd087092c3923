import { attrFloat, attrInt, attrInts, getAttr } from './graph';
import { bytesToData, numel, tensorValue, type TensorValue } from './tensor';
import { DataType, type NodeProto } from './types';

/**
 * A small interpreter for the shape/index ops that exporters leave behind (Shape → Gather → Unsqueeze →
 * Concat → Reshape …). Only ops whose results are exact in JS are here, so folding never changes numerics.
 * Returns undefined when the op is not covered.
 */
export function evalConstNode(n: NodeProto, ins: (TensorValue | undefined)[], opset: number): TensorValue[] | undefined {
  const f = EVAL[n.opType];
  if (!f) return undefined;
  return f(n, ins, opset);
}

type Evaluator = (n: NodeProto, ins: (TensorValue | undefined)[], opset: number) => TensorValue[] | undefined;

export function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

export function broadcastDims(a: readonly number[], b: readonly number[]): number[] | undefined {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Reads element `flat` of the broadcast output from a tensor of dims `src`. */
function broadcastIndex(flat: number, outDims: number[], outStrides: number[], src: readonly number[], srcStrides: number[]): number {
  let idx = 0;
  const off = outDims.length - src.length;
  for (let i = 0; i < outDims.length; i++) {
    const c = Math.floor(flat / outStrides[i]) % outDims[i];
    if (i >= off && src[i - off] !== 1) idx += c * srcStrides[i - off];
  }
  return idx;
}

export function normalizeFloat(dtype: number, v: number): number {
  if (dtype === DataType.FLOAT) return Math.fround(v);
  if (dtype === DataType.BOOL) return v ? 1 : 0;
  if (dtype === DataType.INT32 || dtype === DataType.INT64 || dtype === DataType.INT8 || dtype === DataType.UINT8) return Math.trunc(v);
  return v;
}

function make(dtype: number, dims: number[], values: ArrayLike<number>): TensorValue {
  const data = Array.from(values, (v) => normalizeFloat(dtype, v));
  return { dtype, dims, data: typedFor(dtype, data) };
}

function typedFor(dtype: number, data: number[]): TensorValue['data'] {
  switch (dtype) {
    case DataType.FLOAT:
      return Float32Array.from(data);
    case DataType.DOUBLE:
      return Float64Array.from(data);
    case DataType.INT32:
      return Int32Array.from(data);
    case DataType.BOOL:
    case DataType.UINT8:
      return Uint8Array.from(data);
    default:
      return data;
  }
}

function elementwise(ins: (TensorValue | undefined)[], outType: number | undefined, op: (...v: number[]) => number): TensorValue[] | undefined {
  if (ins.some((t) => !t)) return undefined;
  const ts = ins as TensorValue[];
  let dims: number[] | undefined = [];
  for (const t of ts) {
    dims = broadcastDims(dims, t.dims);
    if (!dims) return undefined;
  }
  const os = strides(dims);
  const ss = ts.map((t) => strides(t.dims));
  const n = numel(dims);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = op(...ts.map((t, k) => t.data[broadcastIndex(i, dims!, os, t.dims, ss[k])]));
  return [make(outType ?? ts[0].dtype, dims, out)];
}

const isIntType = (t: number) => t === DataType.INT32 || t === DataType.INT64 || t === DataType.INT8 || t === DataType.UINT8;

function axesFrom(n: NodeProto, ins: (TensorValue | undefined)[], inputIndex: number): number[] | undefined | null {
  const a = attrInts(n, 'axes');
  if (a) return a;
  if (ins.length > inputIndex && n.input[inputIndex]) {
    const t = ins[inputIndex];
    return t ? Array.from(t.data as ArrayLike<number>) : null;
  }
  return undefined;
}

const norm = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

function gatherEval(data: TensorValue, indices: TensorValue, axisIn: number): TensorValue {
  const axis = norm(axisIn, data.dims.length);
  const outer = data.dims.slice(0, axis);
  const inner = data.dims.slice(axis + 1);
  const outDims = [...outer, ...indices.dims, ...inner];
  const innerN = numel(inner);
  const outerN = numel(outer);
  const ax = data.dims[axis];
  const out: number[] = [];
  for (let o = 0; o < outerN; o++)
    for (let k = 0; k < indices.data.length; k++) {
      let id = Number(indices.data[k]);
      if (id < 0) id += ax;
      const base = (o * ax + id) * innerN;
      for (let j = 0; j < innerN; j++) out.push(data.data[base + j]);
    }
  return make(data.dtype, outDims, out);
}

export function sliceParams(
  dims: readonly number[],
  starts: number[],
  ends: number[],
  axes: number[] | undefined,
  steps: number[] | undefined,
): { start: number[]; step: number[]; count: number[] } {
  const r = dims.length;
  const start = new Array<number>(r).fill(0);
  const step = new Array<number>(r).fill(1);
  const count = [...dims];
  const ax = axes ?? starts.map((_, i) => i);
  ax.forEach((a0, i) => {
    const a = norm(a0, r);
    const d = dims[a];
    const st = steps?.[i] ?? 1;
    let s = starts[i];
    let e = ends[i];
    if (st > 0) {
      s = s < 0 ? Math.max(0, s + d) : Math.min(s, d);
      e = e < 0 ? Math.max(0, e + d) : Math.min(e, d);
      count[a] = Math.max(0, Math.ceil((e - s) / st));
    } else {
      s = s < 0 ? Math.max(-1, s + d) : Math.min(s, d - 1);
      e = e < 0 ? Math.max(-1, e + d) : Math.min(e, d - 1);
      count[a] = Math.max(0, Math.ceil((e - s) / st));
    }
    start[a] = s;
    step[a] = st;
  });
  return { start, step, count };
}

function sliceEval(x: TensorValue, p: { start: number[]; step: number[]; count: number[] }): TensorValue {
  const outN = numel(p.count);
  const os = strides(p.count);
  const xs = strides(x.dims);
  const out = new Array<number>(outN);
  for (let i = 0; i < outN; i++) {
    let src = 0;
    for (let a = 0; a < p.count.length; a++) {
      const c = Math.floor(i / os[a]) % p.count[a];
      src += (p.start[a] + c * p.step[a]) * xs[a];
    }
    out[i] = x.data[src];
  }
  return make(x.dtype, p.count, out);
}

export function reshapeDims(inDims: readonly number[], target: number[], allowzero: boolean): number[] {
  const out = target.map((d, i) => (d === 0 && !allowzero ? inDims[i] : d));
  const neg = out.indexOf(-1);
  if (neg >= 0) {
    const known = out.reduce((p, d, i) => (i === neg ? p : p * d), 1);
    out[neg] = known === 0 ? 0 : numel(inDims) / known;
  }
  return out;
}

export function transposeEval(x: TensorValue, perm: number[]): TensorValue {
  const outDims = perm.map((p) => x.dims[p]);
  const xs = strides(x.dims);
  const os = strides(outDims);
  const n = numel(outDims);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let a = 0; a < outDims.length; a++) src += (Math.floor(i / os[a]) % outDims[a]) * xs[perm[a]];
    out[i] = x.data[src];
  }
  return make(x.dtype, outDims, out);
}

const EVAL: Record<string, Evaluator> = {
  Identity: (_n, [x]) => (x ? [x] : undefined),
  Constant: (n) => {
    const t = getAttr(n, 'value');
    if (t?.t) return [tensorValue(t.t, '.')];
    const vf = getAttr(n, 'value_float');
    if (vf) return [make(DataType.FLOAT, [], [vf.f ?? 0])];
    const vfs = getAttr(n, 'value_floats');
    if (vfs) return [make(DataType.FLOAT, [vfs.floats.length], vfs.floats)];
    const vi = getAttr(n, 'value_int');
    if (vi) return [make(DataType.INT64, [], [Number(vi.i ?? 0)])];
    const vis = getAttr(n, 'value_ints');
    if (vis) return [make(DataType.INT64, [vis.ints.length], vis.ints.map(Number))];
    return undefined;
  },
  Gather: (n, [d, i]) => (d && i ? [gatherEval(d, i, attrInt(n, 'axis', 0))] : undefined),
  Unsqueeze: (n, ins) => {
    const x = ins[0];
    const axes = axesFrom(n, ins, 1);
    if (!x || !axes) return undefined;
    const r = x.dims.length + axes.length;
    const ax = new Set(axes.map((a) => norm(a, r)));
    const dims: number[] = [];
    let k = 0;
    for (let i = 0; i < r; i++) dims.push(ax.has(i) ? 1 : x.dims[k++]);
    return [{ ...x, dims }];
  },
  Squeeze: (n, ins) => {
    const x = ins[0];
    const axes = axesFrom(n, ins, 1);
    if (!x || axes === null) return undefined;
    const ax = axes ? new Set(axes.map((a) => norm(a, x.dims.length))) : undefined;
    return [{ ...x, dims: x.dims.filter((d, i) => (ax ? !ax.has(i) : d !== 1)) }];
  },
  Concat: (n, ins) => {
    if (ins.some((t) => !t)) return undefined;
    const ts = ins as TensorValue[];
    const axis = norm(attrInt(n, 'axis', 0), ts[0].dims.length);
    const outer = numel(ts[0].dims.slice(0, axis));
    const dims = [...ts[0].dims];
    dims[axis] = ts.reduce((s, t) => s + t.dims[axis], 0);
    const out: number[] = [];
    for (let o = 0; o < outer; o++)
      for (const t of ts) {
        const block = numel(t.dims.slice(axis));
        for (let j = 0; j < block; j++) out.push(t.data[o * block + j]);
      }
    return [make(ts[0].dtype, dims, out)];
  },
  Slice: (n, ins, opset) => {
    const x = ins[0];
    if (!x) return undefined;
    let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
    if (opset < 10) {
      starts = attrInts(n, 'starts') ?? [];
      ends = attrInts(n, 'ends') ?? [];
      axes = attrInts(n, 'axes');
    } else {
      if (!ins[1] || !ins[2]) return undefined;
      if (n.input[3] && !ins[3]) return undefined;
      if (n.input[4] && !ins[4]) return undefined;
      starts = Array.from(ins[1].data as ArrayLike<number>);
      ends = Array.from(ins[2].data as ArrayLike<number>);
      axes = ins[3] ? Array.from(ins[3].data as ArrayLike<number>) : undefined;
      steps = ins[4] ? Array.from(ins[4].data as ArrayLike<number>) : undefined;
    }
    return [sliceEval(x, sliceParams(x.dims, starts, ends, axes, steps))];
  },
  Cast: (n, [x]) => {
    if (!x) return undefined;
    const to = attrInt(n, 'to', DataType.FLOAT);
    if (![DataType.FLOAT, DataType.DOUBLE, DataType.INT32, DataType.INT64, DataType.BOOL, DataType.UINT8, DataType.INT8].includes(to as 1)) return undefined;
    return [make(to, x.dims, Array.from(x.data as ArrayLike<number>))];
  },
  Range: (_n, [s, l, d]) => {
    if (!s || !l || !d) return undefined;
    const start = Number(s.data[0]);
    const limit = Number(l.data[0]);
    const delta = Number(d.data[0]);
    const count = Math.max(0, Math.ceil((limit - start) / delta));
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(start + i * delta);
    return [make(s.dtype, [count], out)];
  },
  Add: (_n, ins) => elementwise(ins, undefined, (a, b) => a + b),
  Sub: (_n, ins) => elementwise(ins, undefined, (a, b) => a - b),
  Mul: (_n, ins) => elementwise(ins, undefined, (a, b) => a * b),
  Div: (_n, ins) => (ins[0] && isIntType(ins[0].dtype) ? elementwise(ins, undefined, (a, b) => Math.trunc(a / b)) : elementwise(ins, undefined, (a, b) => a / b)),
  Mod: (n, ins) =>
    attrInt(n, 'fmod', 0) ? elementwise(ins, undefined, (a, b) => a % b) : elementwise(ins, undefined, (a, b) => ((a % b) + b) % b),
  Min: (_n, ins) => elementwise(ins, undefined, Math.min),
  Max: (_n, ins) => elementwise(ins, undefined, Math.max),
  Neg: (_n, ins) => elementwise(ins, undefined, (a) => -a),
  Abs: (_n, ins) => elementwise(ins, undefined, Math.abs),
  Floor: (_n, ins) => elementwise(ins, undefined, Math.floor),
  Ceil: (_n, ins) => elementwise(ins, undefined, Math.ceil),
  Sqrt: (_n, ins) => elementwise(ins, undefined, Math.sqrt),
  Equal: (_n, ins) => elementwise(ins, DataType.BOOL, (a, b) => (a === b ? 1 : 0)),
  Less: (_n, ins) => elementwise(ins, DataType.BOOL, (a, b) => (a < b ? 1 : 0)),
  Greater: (_n, ins) => elementwise(ins, DataType.BOOL, (a, b) => (a > b ? 1 : 0)),
  LessOrEqual: (_n, ins) => elementwise(ins, DataType.BOOL, (a, b) => (a <= b ? 1 : 0)),
  GreaterOrEqual: (_n, ins) => elementwise(ins, DataType.BOOL, (a, b) => (a >= b ? 1 : 0)),
  And: (_n, ins) => elementwise(ins, DataType.BOOL, (a, b) => (a && b ? 1 : 0)),
  Or: (_n, ins) => elementwise(ins, DataType.BOOL, (a, b) => (a || b ? 1 : 0)),
  Not: (_n, ins) => elementwise(ins, DataType.BOOL, (a) => (a ? 0 : 1)),
  Where: (_n, [c, a, b]) => {
    if (!c || !a || !b) return undefined;
    const r = elementwise([c, a, b], a.dtype, (x, y, z) => (x ? y : z));
    return r;
  },
  ConstantOfShape: (n, [s]) => {
    if (!s) return undefined;
    const dims = Array.from(s.data as ArrayLike<number>);
    const v = getAttr(n, 'value')?.t;
    const value = v ? tensorValue(v, '.') : { dtype: DataType.FLOAT, dims: [1], data: [0] };
    return [make(value.dtype, dims, new Array<number>(numel(dims)).fill(Number(value.data[0])))];
  },
  Expand: (_n, [x, s]) => {
    if (!x || !s) return undefined;
    const target = { dtype: x.dtype, dims: Array.from(s.data as ArrayLike<number>), data: [0] as number[] };
    const dims = broadcastDims(x.dims, target.dims);
    if (!dims) return undefined;
    return elementwise([x, { ...target, dims, data: new Array<number>(numel(dims)).fill(0) }], x.dtype, (a) => a);
  },
  Reshape: (n, [x, s]) => {
    if (!x || !s) return undefined;
    return [{ ...x, dims: reshapeDims(x.dims, Array.from(s.data as ArrayLike<number>), attrInt(n, 'allowzero', 0) === 1) }];
  },
  Flatten: (n, [x]) => {
    if (!x) return undefined;
    const axis = norm(attrInt(n, 'axis', 1), x.dims.length);
    return [{ ...x, dims: [numel(x.dims.slice(0, axis)), numel(x.dims.slice(axis))] }];
  },
  Transpose: (n, [x]) => {
    if (!x) return undefined;
    const perm = attrInts(n, 'perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i);
    return [transposeEval(x, perm)];
  },
  ReduceProd: (n, ins) => {
    const x = ins[0];
    if (!x || attrInts(n, 'axes') || n.input[1]) return undefined;
    const p = Array.from(x.data as ArrayLike<number>).reduce((a, b) => a * b, 1);
    return [make(x.dtype, attrInt(n, 'keepdims', 1) ? x.dims.map(() => 1) : [], [p])];
  },
  Trilu: (n, [x, kT]) => {
    if (!x || (n.input[1] && !kT)) return undefined;
    const k = kT ? Number(kT.data[0]) : 0;
    const upper = attrInt(n, 'upper', 1) === 1;
    const r = x.dims.length;
    const rows = x.dims[r - 2];
    const cols = x.dims[r - 1];
    const out = Array.from(x.data as ArrayLike<number>, (v, i) => {
      const c = i % cols;
      const rr = Math.floor(i / cols) % rows;
      const keep = upper ? c - rr >= k : c - rr <= k;
      return keep ? v : 0;
    });
    return [make(x.dtype, x.dims, out)];
  },
};

export { bytesToData, attrFloat };
