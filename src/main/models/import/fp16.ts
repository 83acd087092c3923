import { AppError } from '../../../shared/errors';
import { makeNode } from '../../onnx/graph';
import { toHalf } from '../../util/half-float';
import { DataType, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../../onnx/types';

/**
 * Turns one of our float32 graphs (whose initializers the PlannedStore already made float16) into a float16 model
 * the way the standard ONNX float16 converters do (onnxconverter-common's `convert_float_to_float16` with an op
 * block list): every float tensor becomes float16, except the ops below, which run in float32 with Casts around them.
 *
 * Kept in float32, and why:
 *  - InstanceNormalization (GroupNorm) and LayerNormalization: they sum squares over up to H·W·C/G values; in
 *    float16 the variance overflows (65504) or loses the small deviations that the normalisation divides by;
 *  - Softmax: exp of attention logits overflows float16 beyond 11; softmax in float32 is what diffusers'
 *    `upcast_softmax` does;
 *  - Sin, Cos, Exp and the whole sinusoidal timestep / time-id embedding (nodes of scope `time_proj` and
 *    `add_time_proj`): timestep × frequency reaches 1000 (time ids 1024), where a float16 argument is only 0.5 apart,
 *    which scrambles sin/cos; the frequencies down to 1e-4 would also lose digits;
 *  - Resize's `scales` input, which ONNX requires to be float32.
 * With `upcastAttention` (the UNet config's `upcast_attention`, set for SD 2.1) the attention scores — the QK^T
 * MatMul and its scaling Mul — run in float32 too, as diffusers does for that model: SD 2.1's logits overflow float16
 * there and render black images.
 * Graph inputs and outputs become float16 (the diffusers script's --fp16 contract), except `timestep`, which stays as
 * built (float32 or int64) so fractional timesteps are not rounded; the loader reads the declared types.
 * ConstantOfShape's fill values are clamped to the float16 range (CLIP's causal mask uses float32's minimum).
 */
const KEEP_FLOAT32_OPS = new Set(['InstanceNormalization', 'LayerNormalization', 'Softmax', 'Sin', 'Cos', 'Exp', 'Pow', 'ReduceMean', 'Sqrt']);
const KEEP_FLOAT32_SCOPES = ['time_proj/', 'add_time_proj/'];
/** (op, input index) that ONNX types as float32 whatever the data type. */
const FLOAT32_SLOTS: Record<string, number[]> = { Resize: [1, 2] };
/** Ops whose output type is not their first input's. */
const FIXED_OUTPUT: Record<string, number> = { Shape: DataType.INT64, ArgMax: DataType.INT64, Equal: DataType.BOOL, Size: DataType.INT64 };
const HALF_MAX = 65504;

const F32 = DataType.FLOAT;
const F16 = DataType.FLOAT16;
const isFloat = (t: number | undefined) => t === F32 || t === F16;

const keptByRule = (n: NodeProto) => KEEP_FLOAT32_OPS.has(n.opType) || KEEP_FLOAT32_SCOPES.some((s) => (n.name ?? '').startsWith(s));

function halfTensor(t: TensorProto): TensorProto {
  if (t.dataType !== F32) return t;
  const values = t.rawData && t.rawData.byteLength > 0 ? new Float32Array(t.rawData.slice().buffer) : Float32Array.from(t.floatData);
  const half = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) half[i] = toHalf(Math.max(-HALF_MAX, Math.min(HALF_MAX, values[i])));
  return { ...t, dataType: F16, floatData: [], rawData: new Uint8Array(half.buffer) };
}

function elemType(v: ValueInfoProto): number | undefined {
  return v.type?.tensorType?.elemType;
}

function setElemType(v: ValueInfoProto, t: number): void {
  if (v.type?.tensorType) v.type.tensorType.elemType = t;
}

/** The MatMul (and scaling Mul, mask Add) producing each Softmax's input: the attention scores. */
function attentionScoreNodes(nodes: NodeProto[]): Set<NodeProto> {
  const producer = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output) producer.set(o, n);
  const found = new Set<NodeProto>();
  for (const softmax of nodes.filter((n) => n.opType === 'Softmax')) {
    let n = producer.get(softmax.input[0]);
    while (n && (n.opType === 'Add' || n.opType === 'Mul')) {
      found.add(n);
      n = producer.get(n.input[0]);
    }
    if (n?.opType === 'MatMul') found.add(n);
  }
  return found;
}

export interface HalfOptions {
  /** Keep the attention scores (QK^T and its scaling) in float32: the UNet config's `upcast_attention`. */
  upcastAttention?: boolean;
}

export function convertGraphToHalf(proto: ModelProto, opts: HalfOptions = {}): void {
  const g = proto.graph;
  const scoreNodes = opts.upcastAttention ? attentionScoreNodes(g.node) : new Set<NodeProto>();
  const keptInFloat32 = (n: NodeProto) => keptByRule(n) || scoreNodes.has(n);
  const dtype = new Map<string, number>();
  for (const t of g.initializer) {
    if (t.dataType === F32) throw new AppError('import.fp16_internal', `initializer ${t.name} is float32; the store should have written float16`);
    dtype.set(t.name ?? '', t.dataType ?? 0);
  }
  for (const input of g.input) {
    let t = elemType(input);
    if (t === F32 && input.name !== 'timestep') {
      setElemType(input, F16);
      t = F16;
    }
    dtype.set(input.name, t ?? 0);
  }

  // Which slots want each tensor in float32: decides whether a float constant is stored as float16.
  const consumers = new Map<string, { node: NodeProto; slot: number }[]>();
  for (const n of g.node) n.input.forEach((name, slot) => name && (consumers.get(name) ?? consumers.set(name, []).get(name)!).push({ node: n, slot }));
  const wantsFloat32 = (node: NodeProto, slot: number) => keptInFloat32(node) || (FLOAT32_SLOTS[node.opType] ?? []).includes(slot);

  const out: NodeProto[] = [];
  const casts = new Map<string, string>();
  const castTo = (name: string, to: number): string => {
    const key = `${name}|${to}`;
    let hit = casts.get(key);
    if (!hit) {
      hit = `${name}_as_${to === F16 ? 'fp16' : 'fp32'}`;
      out.push(makeNode('Cast', [name], [hit], hit, { to }));
      dtype.set(hit, to);
      casts.set(key, hit);
    }
    return hit;
  };

  for (const n of g.node) {
    if (n.opType === 'Constant' || n.opType === 'ConstantOfShape') {
      const attr = n.attribute.find((a) => a.name === 'value');
      const uses = consumers.get(n.output[0]) ?? [];
      if (attr?.t && attr.t.dataType === F32 && uses.some((u) => !wantsFloat32(u.node, u.slot))) attr.t = halfTensor(attr.t);
      dtype.set(n.output[0], attr?.t?.dataType ?? F32);
      out.push(n);
      continue;
    }
    const keep = keptInFloat32(n);
    n.input = n.input.map((name, slot) => {
      const t = dtype.get(name);
      if (!name || !isFloat(t)) return name;
      const want = keep || (FLOAT32_SLOTS[n.opType] ?? []).includes(slot) ? F32 : F16;
      return t === want ? name : castTo(name, want);
    });
    out.push(n);
    let outType: number;
    if (n.opType === 'Cast') outType = Number(n.attribute.find((a) => a.name === 'to')?.i);
    else if (FIXED_OUTPUT[n.opType] !== undefined) outType = FIXED_OUTPUT[n.opType];
    else if (n.opType === 'Where') outType = dtype.get(n.input[1]) ?? F32;
    else outType = dtype.get(n.input[0]) ?? F32;
    for (const o of n.output) dtype.set(o, outType);
  }

  // Float outputs are float16; one that a float32 op produced gets a final Cast under the output's name.
  for (const o of g.output) {
    if (elemType(o) !== F32) continue;
    setElemType(o, F16);
    if (dtype.get(o.name) === F16) continue;
    const inner = `${o.name}_fp32`;
    for (const n of out) {
      n.output = n.output.map((x) => (x === o.name ? inner : x));
      n.input = n.input.map((x) => (x === o.name ? inner : x));
    }
    out.push(makeNode('Cast', [inner], [o.name], `${o.name}_to_fp16`, { to: F16 }));
  }
  g.node = out;
}
