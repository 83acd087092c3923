import { AppError } from '../../shared/errors';
import { strides, sliceParams } from './const-eval';
import type { Emitter } from './emitter';
import { attrFloat, attrInt, attrInts, attrString, nodeLabel } from './graph';
import { padAmounts, sliceInputs, splitSizes, type TensorInfo } from './shapes';
import { numel, type TensorValue } from './tensor';
import { DataType, type NodeProto } from './types';

/** What a gradient rule sees: the forward node, the gradients of its outputs and build-time shapes. */
export interface RuleContext {
  node: NodeProto;
  /** Gradient tensor for each output (undefined where no gradient reaches that output). */
  dY: (string | undefined)[];
  /** Which inputs need a gradient. */
  need: boolean[];
  e: Emitter;
  dims(name: string): number[];
  dtype(name: string): number;
  constant(name: string): TensorValue | undefined;
}

export interface GradRule {
  /** Input positions that can carry a gradient (default: all). */
  inputs?: number[];
  grad(c: RuleContext): (string | undefined)[];
}

const fail = (n: NodeProto, why: string): never => {
  throw new AppError('onnx_grad_unsupported', `cannot differentiate ${nodeLabel(n)}: ${why}`, { opType: n.opType, node: n.name });
};

const X = (c: RuleContext, i = 0) => c.node.input[i];
const Y = (c: RuleContext, i = 0) => c.node.output[i];
const T = (c: RuleContext) => c.dtype(Y(c));
const dy = (c: RuleContext) => c.dY[0]!;
const norm = (a: number, r: number) => (a < 0 ? a + r : a);

function unary(f: (c: RuleContext) => string): GradRule {
  return { inputs: [0], grad: (c) => [f(c)] };
}

/** d(Y = A op B) for broadcasting binary ops: f returns unreduced gradients, reduced here to each input's shape. */
function binary(f: (c: RuleContext, which: 0 | 1) => string): GradRule {
  return {
    inputs: [0, 1],
    grad: (c) =>
      [0, 1].map((i) => (c.need[i] ? c.e.reduceTo(f(c, i as 0 | 1), c.dims(Y(c)), c.dims(X(c, i))) : undefined)),
  };
}

function transposeLast2(c: RuleContext, x: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return c.e.op('Transpose', [x], { perm });
}

function convPads(n: NodeProto, xd: number[], yd: number[], wd: number[]): { pads: number[]; kernel: number[]; strides: number[]; dil: number[] } {
  const sp = xd.length - 2;
  const kernel = attrInts(n, 'kernel_shape') ?? wd.slice(2);
  const st = attrInts(n, 'strides') ?? new Array(sp).fill(1);
  const dil = attrInts(n, 'dilations') ?? new Array(sp).fill(1);
  const autoPad = attrString(n, 'auto_pad', 'NOTSET');
  let pads = attrInts(n, 'pads') ?? new Array(2 * sp).fill(0);
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array(2 * sp).fill(0);
    for (let i = 0; i < sp; i++) {
      const total = Math.max(0, (yd[2 + i] - 1) * st[i] + (kernel[i] - 1) * dil[i] + 1 - xd[2 + i]);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + sp] = total - pads[i];
    }
  } else if (autoPad === 'VALID') pads = new Array(2 * sp).fill(0);
  return { pads, kernel, strides: st, dil };
}

/** Mean/inverse-std recomputation shared by InstanceNormalization and LayerNormalization. */
function normalizeBackward(c: RuleContext, axes: number[], gamma: string | undefined, gammaDims: number[] | undefined, eps: number) {
  const { e } = c;
  const t = T(c);
  const x = X(c);
  const mu = e.reduceMean(x, axes, true);
  const xc = e.op('Sub', [x, mu]);
  const variance = e.reduceMean(e.op('Mul', [xc, xc]), axes, true);
  const r = e.op('Reciprocal', [e.op('Sqrt', [e.op('Add', [variance, e.scalar(eps, t)])])]);
  const xhat = e.op('Mul', [xc, r]);
  let g = dy(c);
  if (gamma) g = e.op('Mul', [g, gammaDims ? e.reshape(gamma, gammaDims) : gamma]);
  const mg = e.reduceMean(g, axes, true);
  const mgx = e.reduceMean(e.op('Mul', [g, xhat]), axes, true);
  const dx = e.op('Mul', [r, e.op('Sub', [e.op('Sub', [g, mg]), e.op('Mul', [xhat, mgx])])]);
  return { dx, xhat };
}

function reduceAxesOf(c: RuleContext, rank: number): number[] | undefined {
  const n = c.node;
  const a = attrInts(n, 'axes');
  if (a) return a.map((v) => norm(v, rank));
  const asInput = n.opType === 'ReduceSum' ? c.e.opset >= 13 : c.e.opset >= 18;
  if (asInput && n.input[1]) {
    const v = c.constant(n.input[1]);
    if (!v) fail(n, 'reduction axes are not a build-time constant');
    return Array.from(v!.data as ArrayLike<number>, (x) => norm(x, rank));
  }
  return undefined;
}

export const RULES: Record<string, GradRule> = {
  Identity: unary((c) => dy(c)),
  Dropout: unary((c) => dy(c)),
  Neg: unary((c) => c.e.op('Neg', [dy(c)])),
  Cast: unary((c) => c.e.op('Cast', [dy(c)], { to: c.dtype(X(c)) })),
  Sqrt: unary((c) => c.e.op('Div', [c.e.op('Mul', [dy(c), c.e.scalar(0.5, T(c))]), Y(c)])),
  Exp: unary((c) => c.e.op('Mul', [dy(c), Y(c)])),
  Log: unary((c) => c.e.op('Div', [dy(c), X(c)])),
  Reciprocal: unary((c) => c.e.op('Neg', [c.e.op('Mul', [dy(c), c.e.op('Mul', [Y(c), Y(c)])])])),
  Sin: unary((c) => c.e.op('Mul', [dy(c), c.e.op('Cos', [X(c)])])),
  Cos: unary((c) => c.e.op('Neg', [c.e.op('Mul', [dy(c), c.e.op('Sin', [X(c)])])])),
  Abs: unary((c) => c.e.op('Mul', [dy(c), c.e.op('Sign', [X(c)])])),
  Relu: unary((c) => c.e.op('Where', [c.e.op('Greater', [X(c), c.e.scalar(0, T(c))]), dy(c), c.e.scalar(0, T(c))])),
  Erf: unary((c) => {
    const { e } = c;
    const t = T(c);
    const x = X(c);
    const gauss = e.op('Exp', [e.op('Neg', [e.op('Mul', [x, x])])]);
    return e.op('Mul', [dy(c), e.op('Mul', [gauss, e.scalar(2 / Math.sqrt(Math.PI), t)])]);
  }),
  Sigmoid: unary((c) => c.e.op('Mul', [dy(c), c.e.op('Mul', [Y(c), c.e.op('Sub', [c.e.scalar(1, T(c)), Y(c)])])])),
  Tanh: unary((c) => c.e.op('Mul', [dy(c), c.e.op('Sub', [c.e.scalar(1, T(c)), c.e.op('Mul', [Y(c), Y(c)])])])),
  Softmax: unary((c) => {
    if (c.e.opset < 13) fail(c.node, 'Softmax before opset 13 flattens to 2-D; raise the opset first');
    const { e } = c;
    const rank = c.dims(X(c)).length;
    const axis = norm(attrInt(c.node, 'axis', -1), rank);
    const gy = e.op('Mul', [dy(c), Y(c)]);
    return e.op('Mul', [Y(c), e.op('Sub', [dy(c), e.reduceSum(gy, [axis], true)])]);
  }),
  Clip: {
    inputs: [0],
    grad: (c) => {
      const { e } = c;
      const t = T(c);
      let inside: string | undefined;
      if (c.node.input[1]) inside = e.op('GreaterOrEqual', [X(c), c.node.input[1]]);
      if (c.node.input[2]) {
        const le = e.op('LessOrEqual', [X(c), c.node.input[2]]);
        inside = inside ? e.op('And', [inside, le]) : le;
      }
      return [inside ? e.op('Where', [inside, dy(c), e.scalar(0, t)]) : dy(c)];
    },
  },
  Trilu: unary((c) => c.e.op('Trilu', c.node.input[1] ? [dy(c), c.node.input[1]] : [dy(c)], { upper: attrInt(c.node, 'upper', 1) })),

  Add: binary((c) => dy(c)),
  Sub: binary((c, i) => (i === 0 ? dy(c) : c.e.op('Neg', [dy(c)]))),
  Mul: binary((c, i) => c.e.op('Mul', [dy(c), X(c, 1 - i)])),
  Div: binary((c, i) =>
    i === 0 ? c.e.op('Div', [dy(c), X(c, 1)]) : c.e.op('Neg', [c.e.op('Div', [c.e.op('Mul', [dy(c), Y(c)]), X(c, 1)])]),
  ),
  Pow: binary((c, i) => {
    const { e } = c;
    const t = T(c);
    if (i === 1) return e.op('Mul', [e.op('Mul', [dy(c), Y(c)]), e.op('Log', [X(c)])]);
    const p = c.constant(X(c, 1));
    if (p && p.data.length === 1) {
      const pv = Number(p.data[0]);
      if (pv === 2) return e.op('Mul', [dy(c), e.op('Mul', [X(c), e.scalar(2, t)])]);
      if (pv === 1) return dy(c);
      return e.op('Mul', [dy(c), e.op('Mul', [e.op('Pow', [X(c), e.scalar(pv - 1, t)]), e.scalar(pv, t)])]);
    }
    const pT = c.dtype(X(c, 1)) === t ? X(c, 1) : e.op('Cast', [X(c, 1)], { to: t });
    return e.op('Mul', [dy(c), e.op('Mul', [pT, e.op('Pow', [X(c), e.op('Sub', [pT, e.scalar(1, t)])])])]);
  }),
  Sum: {
    grad: (c) => c.node.input.map((x, i) => (c.need[i] ? c.e.reduceTo(dy(c), c.dims(Y(c)), c.dims(x)) : undefined)),
  },
  Where: {
    inputs: [1, 2],
    grad: (c) => {
      const { e } = c;
      const zero = e.scalar(0, T(c));
      return [
        undefined,
        c.need[1] ? e.reduceTo(e.op('Where', [X(c, 0), dy(c), zero]), c.dims(Y(c)), c.dims(X(c, 1))) : undefined,
        c.need[2] ? e.reduceTo(e.op('Where', [X(c, 0), zero, dy(c)]), c.dims(Y(c)), c.dims(X(c, 2))) : undefined,
      ];
    },
  },

  MatMul: {
    grad: (c) => {
      const { e } = c;
      const ad = c.dims(X(c, 0));
      const bd = c.dims(X(c, 1));
      const yd = c.dims(Y(c));
      const a2 = ad.length === 1 ? [1, ad[0]] : ad;
      const b2 = bd.length === 1 ? [bd[0], 1] : bd;
      const batch = yd.slice(0, yd.length - (ad.length === 1 ? 0 : 1) - (bd.length === 1 ? 0 : 1));
      const m = a2[a2.length - 2];
      const k = a2[a2.length - 1];
      const nn = b2[b2.length - 1];
      const y2 = [...batch, m, nn];
      const g = ad.length === 1 || bd.length === 1 ? e.reshape(dy(c), y2) : dy(c);
      const A = ad.length === 1 ? e.reshape(X(c, 0), a2) : X(c, 0);
      const B = bd.length === 1 ? e.reshape(X(c, 1), b2) : X(c, 1);
      const out: (string | undefined)[] = [undefined, undefined];
      if (c.need[0]) {
        const raw = e.op('MatMul', [g, transposeLast2(c, B, b2.length)]);
        out[0] = e.reshape(e.reduceTo(raw, [...batch, m, k], a2), ad);
      }
      if (c.need[1]) {
        const raw = e.op('MatMul', [transposeLast2(c, A, a2.length), g]);
        out[1] = e.reshape(e.reduceTo(raw, [...batch, k, nn], b2), bd);
      }
      return out;
    },
  },
  Gemm: {
    grad: (c) => {
      const { e, node: n } = c;
      const alpha = attrFloat(n, 'alpha', 1);
      const beta = attrFloat(n, 'beta', 1);
      const tA = attrInt(n, 'transA', 0);
      const tB = attrInt(n, 'transB', 0);
      const g = dy(c);
      const A = X(c, 0);
      const B = X(c, 1);
      const out: (string | undefined)[] = [undefined, undefined, undefined];
      if (c.need[0]) {
        out[0] = tA
          ? e.op('Gemm', [B, g], { alpha: { float: alpha }, transA: tB, transB: 1 })
          : e.op('Gemm', [g, B], { alpha: { float: alpha }, transB: 1 - tB });
      }
      if (c.need[1]) {
        out[1] = tB
          ? e.op('Gemm', [g, A], { alpha: { float: alpha }, transA: 1, transB: tA })
          : e.op('Gemm', [A, g], { alpha: { float: alpha }, transA: 1 - tA });
      }
      if (c.need[2] && n.input[2]) {
        const scaled = beta === 1 ? g : e.op('Mul', [g, e.scalar(beta, T(c))]);
        out[2] = e.reduceTo(scaled, c.dims(Y(c)), c.dims(n.input[2]));
      }
      return out;
    },
  },
  Conv: {
    grad: (c) => {
      const { e, node: n } = c;
      if (c.need[1]) fail(n, 'gradients with respect to convolution weights are not implemented (inputs only)');
      const xd = c.dims(X(c));
      const wd = c.dims(X(c, 1));
      const yd = c.dims(Y(c));
      const sp = xd.length - 2;
      const p = convPads(n, xd, yd, wd);
      const out: (string | undefined)[] = [undefined, undefined, undefined];
      if (c.need[0]) {
        const outputPadding = Array.from({ length: sp }, (_, i) => {
          const k = (p.kernel[i] - 1) * p.dil[i] + 1;
          return xd[2 + i] - ((yd[2 + i] - 1) * p.strides[i] - p.pads[i] - p.pads[i + sp] + k);
        });
        if (outputPadding.some((v) => v < 0)) fail(n, `negative output padding [${outputPadding}]`);
        out[0] = e.op('ConvTranspose', [dy(c), X(c, 1)], {
          strides: p.strides,
          pads: p.pads,
          dilations: p.dil,
          group: attrInt(n, 'group', 1),
          kernel_shape: p.kernel,
          output_padding: outputPadding.some((v) => v > 0) ? outputPadding : undefined,
        });
      }
      if (c.need[2] && n.input[2]) out[2] = e.reduceSum(dy(c), [0, ...Array.from({ length: sp }, (_, i) => i + 2)], false);
      return out;
    },
  },
  ConvTranspose: {
    grad: (c) => {
      const { e, node: n } = c;
      if (c.need[1]) fail(n, 'gradients with respect to convolution weights are not implemented (inputs only)');
      const xd = c.dims(X(c));
      const sp = xd.length - 2;
      if (attrInts(n, 'output_shape') || !['NOTSET', 'VALID'].includes(attrString(n, 'auto_pad', 'NOTSET'))) {
        fail(n, 'output_shape / SAME auto_pad are not supported');
      }
      const out: (string | undefined)[] = [undefined, undefined, undefined];
      if (c.need[0]) {
        out[0] = e.op('Conv', [dy(c), X(c, 1)], {
          strides: attrInts(n, 'strides'),
          pads: attrString(n, 'auto_pad', 'NOTSET') === 'VALID' ? undefined : attrInts(n, 'pads'),
          dilations: attrInts(n, 'dilations'),
          group: attrInt(n, 'group', 1),
          kernel_shape: attrInts(n, 'kernel_shape'),
        });
      }
      if (c.need[2] && n.input[2]) out[2] = e.reduceSum(dy(c), [0, ...Array.from({ length: sp }, (_, i) => i + 2)], false);
      return out;
    },
  },
  InstanceNormalization: {
    grad: (c) => {
      const n = c.node;
      const xd = c.dims(X(c));
      const axes = xd.slice(2).map((_, i) => i + 2);
      const gammaDims = [xd[1], ...xd.slice(2).map(() => 1)];
      const { dx, xhat } = normalizeBackward(c, axes, X(c, 1), gammaDims, attrFloat(n, 'epsilon', 1e-5));
      const chanAxes = [0, ...axes];
      return [
        c.need[0] ? dx : undefined,
        c.need[1] ? c.e.reduceSum(c.e.op('Mul', [dy(c), xhat]), chanAxes, false) : undefined,
        c.need[2] ? c.e.reduceSum(dy(c), chanAxes, false) : undefined,
      ];
    },
  },
  LayerNormalization: {
    grad: (c) => {
      const n = c.node;
      if (c.dY[1] || c.dY[2]) fail(n, 'gradients through the Mean/InvStdDev outputs are not supported');
      const xd = c.dims(X(c));
      const axis = norm(attrInt(n, 'axis', -1), xd.length);
      const axes = xd.slice(axis).map((_, i) => i + axis);
      const { dx, xhat } = normalizeBackward(c, axes, X(c, 1), undefined, attrFloat(n, 'epsilon', 1e-5));
      return [
        c.need[0] ? dx : undefined,
        c.need[1] ? c.e.reduceTo(c.e.op('Mul', [dy(c), xhat]), xd, c.dims(X(c, 1))) : undefined,
        c.need[2] && n.input[2] ? c.e.reduceTo(dy(c), xd, c.dims(X(c, 2))) : undefined,
      ];
    },
  },
  ReduceMean: { inputs: [0], grad: (c) => [reduceBackward(c, true)] },
  ReduceSum: { inputs: [0], grad: (c) => [reduceBackward(c, false)] },

  Reshape: { inputs: [0], grad: (c) => [c.e.reshape(dy(c), c.dims(X(c)))] },
  Flatten: { inputs: [0], grad: (c) => [c.e.reshape(dy(c), c.dims(X(c)))] },
  Squeeze: { inputs: [0], grad: (c) => [c.e.reshape(dy(c), c.dims(X(c)))] },
  Unsqueeze: { inputs: [0], grad: (c) => [c.e.reshape(dy(c), c.dims(X(c)))] },
  Transpose: {
    inputs: [0],
    grad: (c) => {
      const r = c.dims(X(c)).length;
      const perm = attrInts(c.node, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
      const inv = new Array<number>(r);
      perm.forEach((p, i) => (inv[p] = i));
      return [c.e.op('Transpose', [dy(c)], { perm: inv })];
    },
  },
  Concat: {
    grad: (c) => {
      const n = c.node;
      const r = c.dims(Y(c)).length;
      const axis = norm(attrInt(n, 'axis', 0), r);
      const sizes = n.input.map((x) => c.dims(x)[axis]);
      const parts = c.e.opN('Split', [dy(c), c.e.ints(sizes)], sizes.length, { axis });
      return parts.map((p, i) => (c.need[i] ? p : undefined));
    },
  },
  Split: {
    inputs: [0],
    grad: (c) => {
      const n = c.node;
      const xd = c.dims(X(c));
      const axis = norm(attrInt(n, 'axis', 0), xd.length);
      const parts = n.output.map((o, i) => c.dY[i] ?? c.e.zeros(c.dims(o), T(c)));
      return [c.e.op('Concat', parts, { axis })];
    },
  },
  Slice: {
    inputs: [0],
    grad: (c) => {
      const n = c.node;
      const xd = c.dims(X(c));
      const consts = n.input.map((i) => (i ? c.constant(i) : undefined));
      const s = sliceInputs(n, consts, c.e.opset);
      if (!s) fail(n, 'slice bounds are not build-time constants');
      const p = sliceParams(xd, s!.starts, s!.ends, s!.axes, s!.steps);
      if (p.step.every((v) => v === 1)) {
        const pads = [...p.start, ...xd.map((d, i) => d - p.start[i] - p.count[i])];
        return [c.e.op('Pad', [dy(c), c.e.ints(pads)])];
      }
      // Any step: scatter the slice back into a flat zero tensor at the positions it came from.
      const ny = numel(p.count);
      const ys = strides(p.count);
      const xs = strides(xd);
      const idx = new Array<number>(ny);
      for (let i = 0; i < ny; i++) {
        let src = 0;
        for (let a = 0; a < xd.length; a++) src += (p.start[a] + (Math.floor(i / ys[a]) % p.count[a]) * p.step[a]) * xs[a];
        idx[i] = src;
      }
      const flat = c.e.op('ScatterND', [c.e.zeros([numel(xd)], T(c)), c.e.constant(DataType.INT64, [ny, 1], idx, 'slice_idx'), c.e.reshape(dy(c), [ny])]);
      return [c.e.reshape(flat, xd)];
    },
  },
  Gather: {
    inputs: [0],
    grad: (c) => {
      const { e, node: n } = c;
      const xd = c.dims(X(c));
      const id = c.dims(X(c, 1));
      const axis = norm(attrInt(n, 'axis', 0), xd.length);
      const q = id.length;
      const pre = xd.slice(0, axis);
      const post = xd.slice(axis + 1);
      let idx = X(c, 1);
      const known = c.constant(idx);
      if (known) {
        const fixed = Array.from(known.data as ArrayLike<number>, (v) => (v < 0 ? v + xd[axis] : v));
        idx = e.constant(DataType.INT64, [...id, 1], fixed, 'gather_idx');
      } else {
        if (c.dtype(idx) !== DataType.INT64) idx = e.op('Cast', [idx], { to: DataType.INT64 });
        const zero = e.constant(DataType.INT64, [], [0]);
        idx = e.op('Where', [e.op('Less', [idx, zero]), e.op('Add', [idx, e.constant(DataType.INT64, [], [xd[axis]])]), idx]);
        idx = e.reshape(idx, [...id, 1]);
      }
      let upd = dy(c);
      if (axis > 0) {
        const perm = [...Array.from({ length: q }, (_, i) => axis + i), ...pre.map((_, i) => i), ...post.map((_, i) => axis + q + i)];
        upd = e.op('Transpose', [upd], { perm });
      }
      const scattered = e.op('ScatterND', [e.zeros([xd[axis], ...pre, ...post], T(c)), idx, upd], { reduction: 'add' });
      if (axis === 0) return [scattered];
      const back = [...pre.map((_, i) => i + 1), 0, ...post.map((_, i) => axis + 1 + i)];
      return [e.op('Transpose', [scattered], { perm: back })];
    },
  },
  Expand: { inputs: [0], grad: (c) => [c.e.reduceTo(dy(c), c.dims(Y(c)), c.dims(X(c)))] },
  Tile: {
    inputs: [0],
    grad: (c) => {
      const xd = c.dims(X(c));
      const yd = c.dims(Y(c));
      // Y = tile(X): view dY as [r0, x0, r1, x1, ...] and sum the repeat axes.
      const inter: number[] = [];
      xd.forEach((d, i) => inter.push(yd[i] / d, d));
      const summed = c.e.reduceSum(c.e.reshape(dy(c), inter), xd.map((_, i) => 2 * i), false);
      return [summed];
    },
  },
  Resize: {
    inputs: [0],
    grad: (c) => {
      const n = c.node;
      const mode = attrString(n, 'mode', 'nearest');
      const ctm = attrString(n, 'coordinate_transformation_mode', 'half_pixel');
      const nearestMode = attrString(n, 'nearest_mode', 'round_prefer_floor');
      if (mode !== 'nearest') fail(n, `mode "${mode}" has no rule (nearest only)`);
      const xd = c.dims(X(c));
      const yd = c.dims(Y(c));
      const k = yd.map((d, i) => d / xd[i]);
      if (k.some((v) => !Number.isInteger(v) || v < 1)) fail(n, `scale factors [${k}] are not whole numbers ≥ 1`);
      const kMax = Math.max(...k);
      const blockCopy =
        (ctm === 'asymmetric' && (nearestMode === 'floor' || kMax <= 2)) ||
        ((ctm === 'half_pixel' || ctm === 'pytorch_half_pixel') && nearestMode.startsWith('round'));
      if (!blockCopy) fail(n, `coordinate mode "${ctm}" with nearest mode "${nearestMode}" is not an integer block upsample`);
      const inter: number[] = [];
      const axes: number[] = [];
      xd.forEach((d, i) => {
        inter.push(d);
        if (k[i] > 1) {
          inter.push(k[i]);
          axes.push(inter.length - 1);
        }
      });
      return [c.e.reduceSum(c.e.reshape(dy(c), inter), axes, false)];
    },
  },
  Pad: {
    inputs: [0],
    grad: (c) => {
      const n = c.node;
      const mode = attrString(n, 'mode', 'constant');
      if (mode !== 'constant') fail(n, `pad mode "${mode}" has no rule (constant only)`);
      const xd = c.dims(X(c));
      const consts = n.input.map((i) => (i ? c.constant(i) : undefined));
      const pads = padAmounts(n, xd.length, consts, c.e.opset);
      if (!pads) fail(n, 'pads are not build-time constants');
      const r = xd.length;
      if (pads!.every((v) => v >= 0)) {
        const starts = pads!.slice(0, r);
        return [c.e.op('Slice', [dy(c), c.e.ints(starts), c.e.ints(starts.map((s, i) => s + xd[i])), c.e.ints(xd.map((_, i) => i))])];
      }
      return [c.e.op('Pad', [dy(c), c.e.ints(pads!.map((v) => -v))])];
    },
  },
};

function reduceBackward(c: RuleContext, mean: boolean): string {
  const n = c.node;
  const xd = c.dims(X(c));
  const r = xd.length;
  let axes = reduceAxesOf(c, r);
  if (!axes || axes.length === 0) {
    if (attrInt(n, 'noop_with_empty_axes', 0) === 1) return dy(c);
    axes = xd.map((_, i) => i);
  }
  const set = new Set(axes);
  const kept = xd.map((d, i) => (set.has(i) ? 1 : d));
  let g = attrInt(n, 'keepdims', 1) === 1 ? dy(c) : c.e.reshape(dy(c), kept);
  if (mean) {
    const count = axes.reduce((p, a) => p * xd[a], 1);
    g = c.e.op('Mul', [g, c.e.scalar(1 / count, T(c))]);
  }
  return c.e.op('Expand', [g, c.e.ints(xd)]);
}

/** Ops whose outputs carry no gradient (integer/boolean results or piecewise constant). */
export const NON_DIFFERENTIABLE = new Set([
  'Shape', 'Size', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Not', 'Xor', 'ArgMax', 'ArgMin',
  'Range', 'ConstantOfShape', 'NonZero', 'Floor', 'Ceil', 'Round', 'Sign', 'IsNaN', 'IsInf', 'OneHot', 'RandomNormalLike',
  'RandomUniformLike', 'RandomNormal', 'RandomUniform', 'Constant', 'EyeLike', 'Bernoulli',
]);

export type { TensorInfo };
