import { AppError } from '../../shared/errors';
import { broadcastDims, evalConstNode, reshapeDims, sliceParams } from './const-eval';
import { attrInt, attrInts, attrString, getAttr, indexGraph, makeValueInfo, nodeLabel, opsetVersion, pruneGraph, topologicalSort, valueInfoShape } from './graph';
import { makeTensor, numel, tensorValue, type TensorValue } from './tensor';
import { DataType, type NodeProto, type OnnxModel } from './types';

/** Element type and (when known) concrete dims of one tensor. */
export interface TensorInfo {
  dtype: number;
  dims?: number[];
}

export interface ShapeAnalysis {
  info: Map<string, TensorInfo>;
  /** Values known at build time (small initializers, Constant nodes, folded shape math). */
  consts: Map<string, TensorValue>;
}

export interface InferOptions {
  /** Largest tensor (elements) that is evaluated/kept as a build-time constant. */
  maxConstElements?: number;
}

const DEFAULT_MAX_CONST = 1 << 16;

/**
 * Walks the graph in topological order and infers every tensor's element type and dims, evaluating the
 * shape-only subgraphs on the way (Reshape targets, Slice bounds, Expand shapes need their values).
 */
export function inferShapes(model: OnnxModel, options: InferOptions = {}): ShapeAnalysis {
  const g = model.proto.graph;
  const maxConst = options.maxConstElements ?? DEFAULT_MAX_CONST;
  const opset = opsetVersion(model.proto);
  const info = new Map<string, TensorInfo>();
  const consts = new Map<string, TensorValue>();
  for (const t of g.initializer) {
    const dims = t.dims.map(Number);
    info.set(t.name ?? '', { dtype: t.dataType ?? 0, dims });
    if (numel(dims) <= maxConst) {
      try {
        consts.set(t.name ?? '', tensorValue(t, model.baseDir));
      } catch {
        // data types the evaluator does not read (fp16, strings) stay non-constant
      }
    }
  }
  for (const v of g.input) {
    if (info.has(v.name)) continue;
    const s = valueInfoShape(v);
    const dims = s.dims && s.dims.every((d) => typeof d === 'number' && d >= 0) ? (s.dims as number[]) : undefined;
    info.set(v.name, { dtype: s.elemType, dims });
  }
  topologicalSort(g);
  for (const n of g.node) {
    const ins = n.input.map((i) => (i ? info.get(i) : undefined));
    const cins = n.input.map((i) => (i ? consts.get(i) : undefined));
    let outs: (TensorInfo | undefined)[];
    try {
      outs = inferNode(n, ins, cins, opset);
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('onnx_shape_inference', `shape inference failed at ${nodeLabel(n)}: ${(err as Error).message}`, { node: n.name });
    }
    n.output.forEach((o, k) => {
      if (o && outs[k]) info.set(o, outs[k]!);
    });
    // Evaluate when every input is known and the outputs are small.
    const allInputsConst = n.input.every((i, k) => !i || cins[k]) || n.opType === 'Shape' || n.opType === 'Size';
    const smallOutputs = outs.every((t) => t?.dims && numel(t.dims) <= maxConst);
    if (!allInputsConst || !smallOutputs || n.opType === 'Constant' && !outs[0]) continue;
    let values: TensorValue[] | undefined;
    if (n.opType === 'Shape') {
      const d = ins[0]?.dims;
      if (d) {
        const r = d.length;
        let start = attrInt(n, 'start', 0);
        let end = attrInt(n, 'end', r);
        start = Math.max(0, Math.min(r, start < 0 ? start + r : start));
        end = Math.max(0, Math.min(r, end < 0 ? end + r : end));
        const dims = d.slice(start, Math.max(start, end));
        values = [{ dtype: DataType.INT64, dims: [dims.length], data: dims }];
      }
    } else if (n.opType === 'Size') {
      const d = ins[0]?.dims;
      if (d) values = [{ dtype: DataType.INT64, dims: [], data: [numel(d)] }];
    } else {
      values = evalConstNode(n, cins, opset);
    }
    values?.forEach((v, k) => {
      if (n.output[k]) {
        consts.set(n.output[k], v);
        info.set(n.output[k], { dtype: v.dtype, dims: v.dims });
      }
    });
  }
  return { info, consts };
}

/** Pins graph inputs to concrete shapes: by input name, and/or by dim_param name (e.g. { batch: 1 }). */
export function fixInputShapes(model: OnnxModel, byInput: Record<string, number[]> = {}, byDimParam: Record<string, number> = {}): void {
  const g = model.proto.graph;
  for (const v of g.input) {
    const s = valueInfoShape(v);
    let dims: (number | string)[] | undefined = byInput[v.name] ?? s.dims?.map((d) => (typeof d === 'string' && d in byDimParam ? byDimParam[d] : d));
    if (!dims) continue;
    if (byInput[v.name] && s.dims && s.dims.length !== dims.length) {
      throw new AppError('onnx_bad_input_shape', `input "${v.name}" has rank ${s.dims.length}; cannot pin it to [${dims.join(', ')}]`);
    }
    if (byInput[v.name] && s.dims) {
      s.dims.forEach((d, i) => {
        if (typeof d === 'number' && d !== (dims as number[])[i]) {
          throw new AppError('onnx_bad_input_shape', `input "${v.name}" dim ${i} is fixed at ${d}; cannot pin it to ${(dims as number[])[i]}`);
        }
      });
    }
    dims = dims.map((d) => d);
    const fixed = makeValueInfo(v.name, s.elemType, dims);
    v.type = fixed.type;
  }
}

/**
 * Replaces every node whose outputs are known build-time constants by initializers, then drops what became
 * unused. Graph inputs are kept (callers decide the interface). Returns the number of nodes removed.
 */
export function foldConstants(model: OnnxModel, options: InferOptions = {}): number {
  const g = model.proto.graph;
  const before = g.node.length;
  const { consts } = inferShapes(model, options);
  const initNames = new Set(g.initializer.map((t) => t.name ?? ''));
  const keep: NodeProto[] = [];
  for (const n of g.node) {
    const outs = n.output.filter((o) => o);
    if (outs.length > 0 && outs.every((o) => consts.has(o)) && n.opType !== 'Constant') {
      for (const o of outs) {
        if (initNames.has(o)) continue;
        const v = consts.get(o)!;
        g.initializer.push(makeTensor(o, v.dtype, v.dims, v.data as ArrayLike<number>));
        initNames.add(o);
      }
    } else if (n.opType === 'Constant' && consts.has(n.output[0])) {
      const v = consts.get(n.output[0])!;
      g.initializer.push(makeTensor(n.output[0], v.dtype, v.dims, v.data as ArrayLike<number>));
      initNames.add(n.output[0]);
    } else keep.push(n);
  }
  g.node = keep;
  pruneGraph(g, { keepInputs: true });
  return before - g.node.length;
}

/** Records inferred shapes as value_info so other tools (and ORT) see them. */
export function annotateValueInfo(model: OnnxModel, analysis: ShapeAnalysis): void {
  const g = model.proto.graph;
  const declared = new Set([...g.input.map((v) => v.name), ...g.output.map((v) => v.name), ...g.initializer.map((t) => t.name ?? '')]);
  g.valueInfo = [];
  for (const n of g.node)
    for (const o of n.output) {
      const t = analysis.info.get(o);
      if (o && t?.dims && !declared.has(o)) g.valueInfo.push(makeValueInfo(o, t.dtype, t.dims));
    }
  for (const out of g.output) {
    const t = analysis.info.get(out.name);
    if (t?.dims) out.type = makeValueInfo(out.name, t.dtype, t.dims).type;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Per-op shape rules. Unknown ops give unknown shapes (only ops that need a shape for their gradient fail later).

type Ins = (TensorInfo | undefined)[];
type CIns = (TensorValue | undefined)[];

const same = (t?: TensorInfo): TensorInfo | undefined => (t ? { dtype: t.dtype, dims: t.dims } : undefined);
const nums = (v?: TensorValue) => (v ? Array.from(v.data as ArrayLike<number>) : undefined);
const normAxis = (a: number, r: number) => (a < 0 ? a + r : a);

function broadcastAll(ins: Ins): number[] | undefined {
  let dims: number[] | undefined = [];
  for (const t of ins) {
    if (!t?.dims || !dims) return undefined;
    dims = broadcastDims(dims, t.dims);
  }
  return dims;
}

function reduceAxes(n: NodeProto, ins: Ins, cins: CIns, opset: number): number[] | undefined | null {
  const a = attrInts(n, 'axes');
  if (a) return a;
  const axesAsInput = n.opType === 'ReduceSum' ? opset >= 13 : opset >= 18;
  if (axesAsInput && n.input[1]) return nums(cins[1]) ?? null;
  return undefined;
}

function convOutDims(n: NodeProto, x: number[], w: number[], transposed: boolean): number[] | undefined {
  const sp = x.length - 2;
  const kernel = attrInts(n, 'kernel_shape') ?? w.slice(2);
  const strides = attrInts(n, 'strides') ?? new Array(sp).fill(1);
  const dil = attrInts(n, 'dilations') ?? new Array(sp).fill(1);
  const pads = attrInts(n, 'pads') ?? new Array(2 * sp).fill(0);
  const autoPad = attrString(n, 'auto_pad', 'NOTSET');
  const group = attrInt(n, 'group', 1);
  const out: number[] = [x[0], transposed ? w[1] * group : w[0]];
  for (let i = 0; i < sp; i++) {
    const k = (kernel[i] - 1) * dil[i] + 1;
    if (transposed) {
      const op = attrInts(n, 'output_padding')?.[i] ?? 0;
      const os = attrInts(n, 'output_shape');
      if (os) out.push(os[os.length - sp + i]);
      else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') out.push(x[2 + i] * strides[i]);
      else out.push(strides[i] * (x[2 + i] - 1) + op + k - pads[i] - pads[i + sp]);
    } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') out.push(Math.ceil(x[2 + i] / strides[i]));
    else if (autoPad === 'VALID') out.push(Math.floor((x[2 + i] - k) / strides[i]) + 1);
    else out.push(Math.floor((x[2 + i] + pads[i] + pads[i + sp] - k) / strides[i]) + 1);
  }
  return out;
}

const UNARY_SAME = new Set([
  'Identity', 'Neg', 'Abs', 'Sqrt', 'Exp', 'Log', 'Erf', 'Sigmoid', 'Tanh', 'Relu', 'Sin', 'Cos', 'Softmax', 'LogSoftmax',
  'Floor', 'Ceil', 'Round', 'Reciprocal', 'Gelu', 'LeakyRelu', 'Elu', 'Softplus', 'HardSigmoid', 'Dropout', 'Trilu',
  'InstanceNormalization', 'Clip', 'Sign', 'Not', 'IsNaN', 'IsInf', 'CumSum', 'Mish', 'GroupNormalization',
]);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Mod', 'Max', 'Min', 'Sum', 'Mean', 'PRelu']);
const COMPARE = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor']);

export function inferNode(n: NodeProto, ins: Ins, cins: CIns, opset: number): (TensorInfo | undefined)[] {
  const op = n.opType;
  const x = ins[0];
  if (n.domain && n.domain !== 'ai.onnx') return [];
  if (UNARY_SAME.has(op)) {
    if (op === 'IsNaN' || op === 'IsInf') return [x ? { dtype: DataType.BOOL, dims: x.dims } : undefined];
    return [same(x)];
  }
  if (BINARY.has(op)) return [x ? { dtype: x.dtype, dims: broadcastAll(ins.filter((_, i) => n.input[i])) } : undefined];
  if (COMPARE.has(op)) return [{ dtype: DataType.BOOL, dims: broadcastAll(ins) }];
  switch (op) {
    case 'Constant': {
      const v = evalConstNodeSafe(n, opset);
      if (v) return [{ dtype: v.dtype, dims: v.dims }];
      const t = getAttr(n, 'value')?.t;
      return [t ? { dtype: t.dataType ?? 0, dims: t.dims.map(Number) } : undefined];
    }
    case 'Cast':
      return [{ dtype: attrInt(n, 'to', 0), dims: x?.dims }];
    case 'CastLike':
      return [{ dtype: ins[1]?.dtype ?? 0, dims: x?.dims }];
    case 'Shape': {
      if (!x?.dims) return [{ dtype: DataType.INT64, dims: undefined }];
      const r = x.dims.length;
      let s = attrInt(n, 'start', 0);
      let e = attrInt(n, 'end', r);
      s = Math.max(0, Math.min(r, s < 0 ? s + r : s));
      e = Math.max(0, Math.min(r, e < 0 ? e + r : e));
      return [{ dtype: DataType.INT64, dims: [Math.max(0, e - s)] }];
    }
    case 'Size':
      return [{ dtype: DataType.INT64, dims: [] }];
    case 'MatMul': {
      const a = x?.dims;
      const b = ins[1]?.dims;
      if (!a || !b || !x) return [x ? { dtype: x.dtype } : undefined];
      const a2 = a.length === 1 ? [1, a[0]] : a;
      const b2 = b.length === 1 ? [b[0], 1] : b;
      const batch = broadcastDims(a2.slice(0, -2), b2.slice(0, -2));
      if (!batch) throw new Error(`MatMul batch dims [${a}] and [${b}] do not broadcast`);
      const out = [...batch, ...(a.length === 1 ? [] : [a2[a2.length - 2]]), ...(b.length === 1 ? [] : [b2[b2.length - 1]])];
      return [{ dtype: x.dtype, dims: out }];
    }
    case 'Gemm': {
      const a = x?.dims;
      const b = ins[1]?.dims;
      if (!a || !b || !x) return [same(x)];
      const m = attrInt(n, 'transA', 0) ? a[1] : a[0];
      const nn = attrInt(n, 'transB', 0) ? b[0] : b[1];
      return [{ dtype: x.dtype, dims: [m, nn] }];
    }
    case 'Conv':
    case 'ConvTranspose': {
      if (!x?.dims || !ins[1]?.dims) return [x ? { dtype: x.dtype } : undefined];
      return [{ dtype: x.dtype, dims: convOutDims(n, x.dims, ins[1].dims, op === 'ConvTranspose') }];
    }
    case 'LayerNormalization': {
      if (!x) return [];
      const r = x.dims?.length;
      const axis = r !== undefined ? normAxis(attrInt(n, 'axis', -1), r) : undefined;
      const statDims = x.dims && axis !== undefined ? x.dims.map((d, i) => (i < axis ? d : 1)) : undefined;
      const stash = attrInt(n, 'stash_type', 1);
      return [same(x), { dtype: stash, dims: statDims }, { dtype: stash, dims: statDims }];
    }
    case 'ReduceMean':
    case 'ReduceSum':
    case 'ReduceMax':
    case 'ReduceMin':
    case 'ReduceProd':
    case 'ReduceL2':
    case 'ReduceSumSquare': {
      if (!x?.dims) return [x ? { dtype: x.dtype } : undefined];
      const axes = reduceAxes(n, ins, cins, opset);
      if (axes === null) return [{ dtype: x.dtype }];
      const keep = attrInt(n, 'keepdims', 1) === 1;
      const r = x.dims.length;
      const noop = attrInt(n, 'noop_with_empty_axes', 0) === 1;
      if ((!axes || axes.length === 0) && noop) return [same(x)];
      const set = new Set((axes && axes.length ? axes : x.dims.map((_, i) => i)).map((a) => normAxis(a, r)));
      const dims = keep ? x.dims.map((d, i) => (set.has(i) ? 1 : d)) : x.dims.filter((_, i) => !set.has(i));
      return [{ dtype: x.dtype, dims }];
    }
    case 'ArgMax':
    case 'ArgMin': {
      if (!x?.dims) return [{ dtype: DataType.INT64 }];
      const axis = normAxis(attrInt(n, 'axis', 0), x.dims.length);
      const keep = attrInt(n, 'keepdims', 1) === 1;
      return [{ dtype: DataType.INT64, dims: keep ? x.dims.map((d, i) => (i === axis ? 1 : d)) : x.dims.filter((_, i) => i !== axis) }];
    }
    case 'Reshape': {
      const target = nums(cins[1]);
      if (!x) return [];
      if (!target || !x.dims) return [{ dtype: x.dtype, dims: target && !target.includes(-1) && !target.includes(0) ? target : undefined }];
      return [{ dtype: x.dtype, dims: reshapeDims(x.dims, target, attrInt(n, 'allowzero', 0) === 1) }];
    }
    case 'Flatten': {
      if (!x?.dims) return [x ? { dtype: x.dtype } : undefined];
      const axis = normAxis(attrInt(n, 'axis', 1), x.dims.length);
      return [{ dtype: x.dtype, dims: [numel(x.dims.slice(0, axis)), numel(x.dims.slice(axis))] }];
    }
    case 'Transpose': {
      if (!x?.dims) return [x ? { dtype: x.dtype } : undefined];
      const perm = attrInts(n, 'perm') ?? x.dims.map((_, i) => x.dims!.length - 1 - i);
      return [{ dtype: x.dtype, dims: perm.map((p) => x.dims![p]) }];
    }
    case 'Unsqueeze': {
      if (!x?.dims) return [x ? { dtype: x.dtype } : undefined];
      const axes = attrInts(n, 'axes') ?? nums(cins[1]);
      if (!axes) return [{ dtype: x.dtype }];
      const r = x.dims.length + axes.length;
      const set = new Set(axes.map((a) => normAxis(a, r)));
      const dims: number[] = [];
      let k = 0;
      for (let i = 0; i < r; i++) dims.push(set.has(i) ? 1 : x.dims[k++]);
      return [{ dtype: x.dtype, dims }];
    }
    case 'Squeeze': {
      if (!x?.dims) return [x ? { dtype: x.dtype } : undefined];
      const axes = attrInts(n, 'axes') ?? (n.input[1] ? nums(cins[1]) : undefined);
      if (n.input[1] && !axes) return [{ dtype: x.dtype }];
      const set = axes ? new Set(axes.map((a) => normAxis(a, x.dims!.length))) : undefined;
      return [{ dtype: x.dtype, dims: x.dims.filter((d, i) => (set ? !set.has(i) : d !== 1)) }];
    }
    case 'Concat': {
      if (!x) return [];
      if (ins.some((t) => !t?.dims)) return [{ dtype: x.dtype }];
      const axis = normAxis(attrInt(n, 'axis', 0), x.dims!.length);
      const dims = [...x.dims!];
      dims[axis] = ins.reduce((s, t) => s + t!.dims![axis], 0);
      return [{ dtype: x.dtype, dims }];
    }
    case 'Split': {
      if (!x?.dims) return n.output.map(() => (x ? { dtype: x.dtype } : undefined));
      const axis = normAxis(attrInt(n, 'axis', 0), x.dims.length);
      const sizes = splitSizes(n, x.dims[axis], cins, opset);
      if (!sizes) return n.output.map(() => ({ dtype: x.dtype }));
      return sizes.map((s) => ({ dtype: x.dtype, dims: x.dims!.map((d, i) => (i === axis ? s : d)) }));
    }
    case 'Slice': {
      if (!x?.dims) return [x ? { dtype: x.dtype } : undefined];
      const p = sliceInputs(n, cins, opset);
      if (!p) return [{ dtype: x.dtype }];
      return [{ dtype: x.dtype, dims: sliceParams(x.dims, p.starts, p.ends, p.axes, p.steps).count }];
    }
    case 'Gather': {
      if (!x?.dims || !ins[1]?.dims) return [x ? { dtype: x.dtype } : undefined];
      const axis = normAxis(attrInt(n, 'axis', 0), x.dims.length);
      return [{ dtype: x.dtype, dims: [...x.dims.slice(0, axis), ...ins[1].dims, ...x.dims.slice(axis + 1)] }];
    }
    case 'GatherElements':
    case 'GatherND':
      return [{ dtype: x?.dtype ?? 0, dims: op === 'GatherElements' ? ins[1]?.dims : undefined }];
    case 'ScatterND':
    case 'ScatterElements':
      return [same(x)];
    case 'Expand': {
      const s = nums(cins[1]);
      if (!x) return [];
      if (!s || !x.dims) return [{ dtype: x.dtype }];
      return [{ dtype: x.dtype, dims: broadcastDims(x.dims, s) }];
    }
    case 'Tile': {
      const r = nums(cins[1]);
      if (!x?.dims || !r) return [x ? { dtype: x.dtype } : undefined];
      return [{ dtype: x.dtype, dims: x.dims.map((d, i) => d * r[i]) }];
    }
    case 'Where':
      return [{ dtype: ins[1]?.dtype ?? 0, dims: broadcastAll(ins) }];
    case 'ConstantOfShape': {
      const s = nums(cins[0]);
      const t = getAttr(n, 'value')?.t;
      return [{ dtype: t?.dataType ?? DataType.FLOAT, dims: s }];
    }
    case 'Range': {
      const [s, l, d] = [nums(cins[0]), nums(cins[1]), nums(cins[2])];
      const dims = s && l && d ? [Math.max(0, Math.ceil((l[0] - s[0]) / d[0]))] : undefined;
      return [{ dtype: x?.dtype ?? DataType.INT64, dims }];
    }
    case 'Resize': {
      if (!x?.dims) return [x ? { dtype: x.dtype } : undefined];
      const scales = n.input[2] ? nums(cins[2]) : undefined;
      const sizes = n.input[3] ? nums(cins[3]) : undefined;
      if (sizes && sizes.length) return [{ dtype: x.dtype, dims: sizes }];
      if (scales && scales.length) return [{ dtype: x.dtype, dims: x.dims.map((d, i) => Math.floor(d * scales[i])) }];
      return [{ dtype: x.dtype }];
    }
    case 'Pad': {
      if (!x?.dims) return [x ? { dtype: x.dtype } : undefined];
      const pads = padAmounts(n, x.dims.length, cins, opset);
      if (!pads) return [{ dtype: x.dtype }];
      const r = x.dims.length;
      return [{ dtype: x.dtype, dims: x.dims.map((d, i) => d + pads[i] + pads[i + r]) }];
    }
    case 'OneHot':
    case 'NonZero':
    case 'TopK':
      return n.output.map(() => undefined);
    default:
      return n.output.map(() => undefined);
  }
}

function evalConstNodeSafe(n: NodeProto, opset: number): TensorValue | undefined {
  try {
    return evalConstNode(n, [], opset)?.[0];
  } catch {
    return undefined;
  }
}

export function splitSizes(n: NodeProto, dim: number, cins: CIns, opset: number): number[] | undefined {
  const attr = attrInts(n, 'split');
  if (attr) return attr;
  if (opset >= 13 && n.input[1]) return nums(cins[1]);
  const parts = opset >= 18 ? attrInt(n, 'num_outputs', n.output.length) : n.output.length;
  const chunk = Math.ceil(dim / parts);
  return Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
}

export function sliceInputs(
  n: NodeProto,
  cins: CIns,
  opset: number,
): { starts: number[]; ends: number[]; axes?: number[]; steps?: number[] } | undefined {
  if (opset < 10) {
    const starts = attrInts(n, 'starts');
    const ends = attrInts(n, 'ends');
    return starts && ends ? { starts, ends, axes: attrInts(n, 'axes') } : undefined;
  }
  const starts = nums(cins[1]);
  const ends = nums(cins[2]);
  const axes = n.input[3] ? nums(cins[3]) : undefined;
  const steps = n.input[4] ? nums(cins[4]) : undefined;
  if (!starts || !ends || (n.input[3] && !axes) || (n.input[4] && !steps)) return undefined;
  return { starts, ends, axes, steps };
}

/** Pad amounts [begin_0.., end_0..] over all axes, or undefined when not constant. */
export function padAmounts(n: NodeProto, rank: number, cins: CIns, opset: number): number[] | undefined {
  let pads: number[] | undefined;
  if (opset < 11) pads = attrInts(n, 'pads');
  else pads = nums(cins[1]);
  if (!pads) return undefined;
  const axes = opset >= 18 && n.input[3] ? nums(cins[3]) : undefined;
  if (n.input[3] && !axes) return undefined;
  if (!axes) return pads;
  const full = new Array<number>(2 * rank).fill(0);
  axes.forEach((a0, i) => {
    const a = normAxis(a0, rank);
    full[a] = pads![i];
    full[a + rank] = pads![i + axes.length];
  });
  return full;
}

/** Pins inputs, folds shape math and annotates shapes: the static form the autodiff works on. */
export function makeStatic(
  model: OnnxModel,
  inputShapes: Record<string, number[]> = {},
  dimParams: Record<string, number> = {},
  options: InferOptions = {},
): ShapeAnalysis {
  fixInputShapes(model, inputShapes, dimParams);
  foldConstants(model, options);
  const analysis = inferShapes(model, options);
  annotateValueInfo(model, analysis);
  const idx = indexGraph(model.proto.graph);
  void idx;
  return analysis;
}

export { pruneGraph };
