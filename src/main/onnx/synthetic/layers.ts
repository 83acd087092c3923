import { makeTensor } from '../tensor';
import { DataType } from '../types';
import type { GraphBuilder } from './builder';

/**
 * torch.nn building blocks as the opset-14 torch exporter writes them, emitted with a GraphBuilder.
 * Initialisation: weights normal-ish with std 1/√fan_in (activations keep their scale through many layers);
 * random biases std 1/√(3·fan_in) (torch's default uniform bound as a std); norms scale 1, shift 0.
 */

export type BiasInit = 'random' | 'zero' | 'none';

const weightStd = (fanIn: number) => 1 / Math.sqrt(fanIn);
const biasStd = (fanIn: number) => 1 / Math.sqrt(3 * fanIn);

function bias(b: GraphBuilder, scope: string, fanIn: number, n: number, init: BiasInit): string | undefined {
  if (init === 'none') return undefined;
  return b.param(`${scope}.bias`, [n], init === 'zero' ? { kind: 'constant', value: 0 } : { kind: 'normal', std: biasStd(fanIn) });
}

export interface ConvOptions {
  kernel: number;
  stride?: number;
  pad?: number;
}

/** nn.Conv2d: weight [out, in, k, k], bias [out]. */
export function conv2d(b: GraphBuilder, x: string, scope: string, inC: number, outC: number, o: ConvOptions): string {
  const k = o.kernel;
  const pad = o.pad ?? (k - 1) / 2;
  const stride = o.stride ?? 1;
  const fanIn = inC * k * k;
  const w = b.param(`${scope}.weight`, [outC, inC, k, k], { kind: 'normal', std: weightStd(fanIn) });
  const bs = bias(b, scope, fanIn, outC, 'random')!;
  return b.op('Conv', [x, w, bs], { dilations: [1, 1], group: 1, kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [stride, stride] }, scope);
}

/** nn.Linear on a [.., in] tensor as MatMul with the weight stored transposed ([in, out], as the exporter folds it) + Add. */
export function linear(b: GraphBuilder, x: string, scope: string, inF: number, outF: number, biasInit: BiasInit = 'random'): string {
  const w = b.param(`${scope}.weight`, [inF, outF], { kind: 'normal', std: weightStd(inF) }, 'transposed');
  const y = b.op('MatMul', [x, w], {}, scope);
  const bs = bias(b, scope, inF, outF, biasInit);
  return bs ? b.op('Add', [bs, y], {}, scope) : y;
}

/** nn.Linear on a 2-D [batch, in] tensor: the exporter's Gemm with the torch-layout weight [out, in] and transB. */
export function gemmLinear(b: GraphBuilder, x: string, scope: string, inF: number, outF: number): string {
  const w = b.param(`${scope}.weight`, [outF, inF], { kind: 'normal', std: weightStd(inF) });
  const bs = bias(b, scope, inF, outF, 'random')!;
  return b.op('Gemm', [x, w, bs], { alpha: { float: 1 }, beta: { float: 1 }, transB: 1 }, scope);
}

/**
 * nn.GroupNorm as exported at opset 14: Reshape [N, G, -1] → InstanceNormalization (unit scale, zero shift) →
 * Reshape back → Mul weight → Add bias, the affine parameters unsqueezed to broadcast over the trailing dims
 * ([C,1,1] on NCHW, [C,1] on the VAE attention's [N, C, HW]).
 */
export function groupNorm(b: GraphBuilder, x: string, scope: string, channels: number, groups: number, eps: number, spatialRank: 1 | 2 = 2): string {
  const grouped = b.op('Reshape', [x, b.ints([0, groups, -1])], {}, scope);
  const ones = b.constant(DataType.FLOAT, [groups], new Array(groups).fill(1));
  const zeros = b.constant(DataType.FLOAT, [groups], new Array(groups).fill(0));
  const normed = b.op('InstanceNormalization', [grouped, ones, zeros], { epsilon: { float: eps } }, scope);
  const back = b.op('Reshape', [normed, b.op('Shape', [x], {}, scope)], {}, scope);
  const affine = [channels, ...new Array(spatialRank).fill(1)];
  const w = b.param(`${scope}.weight`, affine, { kind: 'constant', value: 1 });
  const bs = b.param(`${scope}.bias`, affine, { kind: 'constant', value: 0 });
  return b.op('Add', [b.op('Mul', [back, w], {}, scope), bs], {}, scope);
}

/** nn.LayerNorm over the last axis: one LayerNormalization node from opset 17, else decomposed as the exporter does. */
export function layerNorm(b: GraphBuilder, x: string, scope: string, width: number, eps: number): string {
  if (b.opset >= 17) {
    const w = b.param(`${scope}.weight`, [width], { kind: 'constant', value: 1 });
    const bs = b.param(`${scope}.bias`, [width], { kind: 'constant', value: 0 });
    return b.op('LayerNormalization', [x, w, bs], { axis: -1, epsilon: { float: eps } }, scope);
  }
  const mean = b.op('ReduceMean', [x], { axes: [-1] }, scope);
  const centred = b.op('Sub', [x, mean], {}, scope);
  const variance = b.op('ReduceMean', [b.op('Pow', [centred, b.scalar(2)], {}, scope)], { axes: [-1] }, scope);
  const std = b.op('Sqrt', [b.op('Add', [variance, b.scalar(eps)], {}, scope)], {}, scope);
  const normed = b.op('Div', [centred, std], {}, scope);
  const w = b.param(`${scope}.weight`, [width], { kind: 'constant', value: 1 });
  const bs = b.param(`${scope}.bias`, [width], { kind: 'constant', value: 0 });
  return b.op('Add', [b.op('Mul', [normed, w], {}, scope), bs], {}, scope);
}

export function silu(b: GraphBuilder, x: string, scope: string): string {
  return b.op('Mul', [x, b.op('Sigmoid', [x], {}, scope)], {}, scope);
}

/** Exact GELU, 0.5·x·(1 + erf(x/√2)), as torch exports F.gelu. */
export function gelu(b: GraphBuilder, x: string, scope: string): string {
  const erf = b.op('Erf', [b.op('Div', [x, b.scalar(Math.SQRT2)], {}, scope)], {}, scope);
  return b.op('Mul', [b.op('Mul', [x, b.op('Add', [erf, b.scalar(1)], {}, scope)], {}, scope), b.scalar(0.5)], {}, scope);
}

/** CLIP's quick_gelu: x·σ(1.702·x). */
export function quickGelu(b: GraphBuilder, x: string, scope: string): string {
  return b.op('Mul', [x, b.op('Sigmoid', [b.op('Mul', [x, b.scalar(1.702)], {}, scope)], {}, scope)], {}, scope);
}

export interface NormSettings {
  groups: number;
  eps: number;
}

/**
 * ResnetBlock2D: GroupNorm → SiLU → conv1 (+ time_emb_proj of the already-activated time embedding, when given)
 * → GroupNorm → SiLU → conv2, plus the input (through a 1×1 conv_shortcut when the width changes).
 */
export function resnetBlock(
  b: GraphBuilder,
  x: string,
  scope: string,
  inC: number,
  outC: number,
  norm: NormSettings,
  temb?: { tensor: string; channels: number },
): string {
  let h = silu(b, groupNorm(b, x, `${scope}.norm1`, inC, norm.groups, norm.eps), scope);
  h = conv2d(b, h, `${scope}.conv1`, inC, outC, { kernel: 3 });
  if (temb) {
    const t = gemmLinear(b, temb.tensor, `${scope}.time_emb_proj`, temb.channels, outC);
    h = b.op('Add', [h, b.op('Unsqueeze', [t, b.ints([2, 3])], {}, scope)], {}, scope);
  }
  h = silu(b, groupNorm(b, h, `${scope}.norm2`, outC, norm.groups, norm.eps), scope);
  h = conv2d(b, h, `${scope}.conv2`, outC, outC, { kernel: 3 });
  const shortcut = inC === outC ? x : conv2d(b, x, `${scope}.conv_shortcut`, inC, outC, { kernel: 1, pad: 0 });
  return b.op('Add', [shortcut, h], {}, scope);
}

/** Upsample2D: nearest 2× (Resize as torch exports F.interpolate(scale_factor=2)) then a 3×3 conv. */
export function upsample2d(b: GraphBuilder, x: string, scope: string, channels: number): string {
  const up = b.op(
    'Resize',
    [x, '', b.constant(DataType.FLOAT, [4], [1, 1, 2, 2])],
    { coordinate_transformation_mode: 'asymmetric', cubic_coeff_a: { float: -0.75 }, mode: 'nearest', nearest_mode: 'floor' },
    scope,
  );
  return conv2d(b, up, `${scope}.conv`, channels, channels, { kernel: 3 });
}

export interface AttentionOptions {
  scope: string;
  /** [B, S, dim] queries and [B, Sk, kvDim] keys/values source (the same tensor for self-attention). */
  query: string;
  context: string;
  dim: number;
  contextDim: number;
  heads: number;
  /** Parameter names of the four projections (diffusers: to_q/to_k/to_v/to_out.0; CLIP: q_proj/…/out_proj). */
  names: [string, string, string, string];
  qkvBias: BiasInit;
  outBias: BiasInit;
  /** Additive mask broadcast to [B, heads, S, Sk] (CLIP's causal mask). */
  mask?: string;
}

/** Multi-head scaled dot-product attention from MatMul/Mul/Softmax/Transpose/Reshape. */
export function attention(b: GraphBuilder, o: AttentionOptions): string {
  const { scope, dim, heads } = o;
  const headDim = dim / heads;
  const [qn, kn, vn, outn] = o.names;
  const q = linear(b, o.query, `${scope}.${qn}`, dim, dim, o.qkvBias);
  const k = linear(b, o.context, `${scope}.${kn}`, o.contextDim, dim, o.qkvBias);
  const v = linear(b, o.context, `${scope}.${vn}`, o.contextDim, dim, o.qkvBias);
  const split = b.ints([0, 0, heads, headDim]);
  const qh = b.op('Transpose', [b.op('Reshape', [q, split], {}, scope)], { perm: [0, 2, 1, 3] }, scope); // [B,h,S,d]
  const kt = b.op('Transpose', [b.op('Reshape', [k, split], {}, scope)], { perm: [0, 2, 3, 1] }, scope); // [B,h,d,Sk]
  const vh = b.op('Transpose', [b.op('Reshape', [v, split], {}, scope)], { perm: [0, 2, 1, 3] }, scope); // [B,h,Sk,d]
  let scores = b.op('Mul', [b.op('MatMul', [qh, kt], {}, scope), b.scalar(1 / Math.sqrt(headDim))], {}, scope);
  if (o.mask) scores = b.op('Add', [scores, o.mask], {}, scope);
  const probs = b.op('Softmax', [scores], { axis: -1 }, scope);
  const ctx = b.op('Transpose', [b.op('MatMul', [probs, vh], {}, scope)], { perm: [0, 2, 1, 3] }, scope); // [B,S,h,d]
  const merged = b.op('Reshape', [ctx, b.ints([0, 0, dim])], {}, scope);
  return linear(b, merged, `${scope}.${outn}`, dim, dim, o.outBias);
}

/** A float tensor attribute holding one value (ConstantOfShape's fill value). */
export function fillValue(value: number) {
  return makeTensor('value', DataType.FLOAT, [1], [value]);
}
