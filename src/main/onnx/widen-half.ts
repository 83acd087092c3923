import { fromHalf } from '../util/half-float';
import { makeTensor, tensorBytes } from './tensor';
import { DataType, type AttributeProto, type GraphProto, type OnnxModel, type TensorProto, type ValueInfoProto } from './types';

/**
 * Rewrites an fp16 export to compute in float32: fp16 initializers and constants become float32, Casts to fp16
 * cast to float32 instead, and fp16 graph inputs/outputs/value_info become float32. Textual inversion trains on
 * this copy: its updates (lr 1e-3 × gradients of order 1e-3) vanish in fp16, and the autodiff's gradient graph is
 * float32 throughout. The model's values are unchanged: fp16 numbers are exact in float32.
 * Returns how many tensors and nodes were changed (0 for a float32 model).
 */
export function widenHalfToFloat(model: OnnxModel): number {
  return widenGraph(model.proto.graph, model.baseDir);
}

const HALF = DataType.FLOAT16;
const FLOAT = DataType.FLOAT;
/** Ops whose integer attribute names the element type they produce. */
const TYPE_ATTRS: Record<string, string> = { Cast: 'to', RandomNormal: 'dtype', RandomUniform: 'dtype', RandomNormalLike: 'dtype', RandomUniformLike: 'dtype', EyeLike: 'dtype' };

function widenGraph(g: GraphProto, baseDir: string): number {
  let changed = 0;
  g.initializer = g.initializer.map((t) => {
    if (t.dataType !== HALF) return t;
    changed++;
    return widenTensor(t, baseDir);
  });
  for (const list of [g.input, g.output, g.valueInfo ?? []]) for (const v of list) changed += widenValueInfo(v);
  for (const n of g.node) {
    const typeAttr = TYPE_ATTRS[n.opType];
    for (const a of n.attribute) {
      if (a.name === typeAttr && Number(a.i) === HALF) {
        a.i = FLOAT;
        changed++;
      }
      changed += widenAttribute(a, baseDir);
    }
  }
  return changed;
}

function widenAttribute(a: AttributeProto, baseDir: string): number {
  let changed = 0;
  if (a.t && a.t.dataType === HALF) {
    a.t = widenTensor(a.t, baseDir);
    changed++;
  }
  a.tensors = a.tensors.map((t) => {
    if (t.dataType !== HALF) return t;
    changed++;
    return widenTensor(t, baseDir);
  });
  if (a.g) changed += widenGraph(a.g, baseDir);
  for (const sub of a.graphs) changed += widenGraph(sub, baseDir);
  return changed;
}

function widenTensor(t: TensorProto, baseDir: string): TensorProto {
  // tensorBytes reads fp16 from raw_data, int32_data or external data alike.
  const bytes = tensorBytes(t, baseDir);
  const half = new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return makeTensor(t.name ?? '', FLOAT, t.dims.map(Number), Float32Array.from(half, fromHalf));
}

function widenValueInfo(v: ValueInfoProto): number {
  const tt = v.type?.tensorType;
  if (tt?.elemType !== HALF) return 0;
  tt.elemType = FLOAT;
  return 1;
}
