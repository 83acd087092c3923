import { makeNode, makeValueInfo, NameGen, valueInfoShape } from '../../../src/main/onnx/graph';
import { makeTensor, emptyTensor, numel, tensorBytes } from '../../../src/main/onnx/tensor';
import { DataType, type NodeProto, type OnnxModel, type ValueInfoProto } from '../../../src/main/onnx/types';
import { toHalf } from '../../../src/main/util/half-float';

/**
 * Graph edits the model-variant generators share. Each one keeps the original computation and only changes how
 * the graph meets the outside (dtype or rank of an input/output) or how weights are stored, so a variant's output
 * can be predicted from the fixture model's.
 */

function graphInput(model: OnnxModel, name: string): ValueInfoProto {
  const vi = model.proto.graph.input.find((v) => v.name === name);
  if (!vi) throw new Error(`graph has no input "${name}" (inputs: ${model.proto.graph.input.map((v) => v.name).join(', ')})`);
  return vi;
}

function graphOutput(model: OnnxModel, name: string): ValueInfoProto {
  const vi = model.proto.graph.output.find((v) => v.name === name);
  if (!vi) throw new Error(`graph has no output "${name}" (outputs: ${model.proto.graph.output.map((v) => v.name).join(', ')})`);
  return vi;
}

function renameUses(nodes: NodeProto[], from: string, to: string): void {
  for (const n of nodes) n.input = n.input.map((i) => (i === from ? to : i));
}

function setElemType(vi: ValueInfoProto, elemType: number, dims?: (number | string)[]): ValueInfoProto {
  const current = valueInfoShape(vi);
  return makeValueInfo(vi.name, elemType, dims ?? current.dims);
}

/**
 * Makes graph input `name` arrive as `elemType` (and, with `scalar`, as a rank-0 tensor) while the original nodes
 * still see what they saw before: a Cast back to the original type (and a Reshape to [1], which the fixture UNets
 * broadcast over the batch) is placed in front of them.
 */
export function retypeInput(model: OnnxModel, name: string, elemType: number, opts: { scalar?: boolean } = {}): void {
  const g = model.proto.graph;
  const vi = graphInput(model, name);
  const original = valueInfoShape(vi).elemType;
  if (!opts.scalar && elemType === original) return;
  const names = new NameGen(g);
  const front: NodeProto[] = [];
  let current = name;
  const inner = names.next(`${name}/original`);
  if (opts.scalar) {
    const shape = names.next(`${name}/shape_1`);
    g.initializer.push(makeTensor(shape, DataType.INT64, [1], [1]));
    const reshaped = elemType === original ? inner : names.next(`${name}/as_vector`);
    front.push(makeNode('Reshape', [current, shape], [reshaped], names.next(`${name}/reshape`)));
    current = reshaped;
  }
  if (elemType !== original) front.push(makeNode('Cast', [current], [inner], names.next(`${name}/cast`), { to: original }));
  renameUses(g.node, name, inner);
  g.node.unshift(...front);
  g.input = g.input.map((v) => (v.name === name ? setElemType(v, elemType, opts.scalar ? [] : undefined) : v));
}

/** Makes graph output `name` leave as `elemType`: the original producer writes an inner tensor, a Cast finishes. */
export function retypeOutput(model: OnnxModel, name: string, elemType: number): void {
  const g = model.proto.graph;
  graphOutput(model, name);
  const names = new NameGen(g);
  const inner = names.next(`${name}/original`);
  const producer = g.node.find((n) => n.output.includes(name));
  if (!producer) throw new Error(`no node produces graph output "${name}"`);
  producer.output = producer.output.map((o) => (o === name ? inner : o));
  renameUses(g.node, name, inner);
  g.valueInfo = g.valueInfo.map((v) => (v.name === name ? { ...v, name: inner } : v));
  g.node.push(makeNode('Cast', [inner], [name], names.next(`${name}/cast`), { to: elemType }));
  g.output = g.output.map((v) => (v.name === name ? setElemType(v, elemType) : v));
}

/** Every float graph input and output as float16 (the diffusers script's `--fp16` I/O contract). */
export function floatIoToHalf(model: OnnxModel): void {
  const g = model.proto.graph;
  for (const v of [...g.input]) if (valueInfoShape(v).elemType === DataType.FLOAT) retypeInput(model, v.name, DataType.FLOAT16);
  for (const v of [...g.output]) if (valueInfoShape(v).elemType === DataType.FLOAT) retypeOutput(model, v.name, DataType.FLOAT16);
}

/**
 * Stores every float32 initializer with at least `minElements` values as float16, followed by a Cast to float32
 * (how fp16-weight exports with fp32 compute keep their weights). Returns how many were converted.
 */
export function storeWeightsAsHalf(model: OnnxModel, minElements = 16): number {
  const g = model.proto.graph;
  const names = new NameGen(g);
  const casts: NodeProto[] = [];
  let converted = 0;
  g.initializer = g.initializer.map((t) => {
    if (t.dataType !== DataType.FLOAT || numel(t.dims) < minElements) return t;
    const bytes = tensorBytes(t, model.baseDir);
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const half = Uint16Array.from(values, toHalf);
    const stored = names.next(`${t.name}/fp16`);
    casts.push(makeNode('Cast', [stored], [t.name ?? ''], names.next(`${t.name}/cast`), { to: DataType.FLOAT }));
    converted++;
    return emptyTensor({ name: stored, dataType: DataType.FLOAT16, dims: [...t.dims], rawData: new Uint8Array(half.buffer) });
  });
  g.node.unshift(...casts);
  return converted;
}

/** The fp32 twin of storeWeightsAsHalf: weights rounded to float16 but kept as float32 (the expected values). */
export function roundWeightsToHalf(model: OnnxModel, minElements = 16): void {
  const g = model.proto.graph;
  g.initializer = g.initializer.map((t) => {
    if (t.dataType !== DataType.FLOAT || numel(t.dims) < minElements) return t;
    const bytes = tensorBytes(t, model.baseDir);
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const rounded = Float32Array.from(values, (v) => halfRound(v));
    return emptyTensor({ name: t.name, dataType: DataType.FLOAT, dims: [...t.dims], rawData: new Uint8Array(rounded.buffer) });
  });
}

const HALF_BITS = new Uint16Array(1);
/** v rounded to the nearest float16 value, as a number. */
export function halfRound(v: number): number {
  HALF_BITS[0] = toHalf(v);
  return halfValue(HALF_BITS[0]);
}

/** float16 bits → value, written out from the IEEE layout (independent of the code under test's fromHalf). */
export function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/**
 * Graph input `name` [b, k] is declared narrower by `values.length` columns; inside, a constant column per value
 * (Expand to the batch) is concatenated after it, so the original nodes still get their [b, k] rows.
 * `symbolicWidth` declares the new width as that dim_param instead of a number.
 */
export function appendConstantColumns(model: OnnxModel, name: string, values: number[], symbolicWidth?: string): void {
  const g = model.proto.graph;
  const vi = graphInput(model, name);
  const { elemType, dims } = valueInfoShape(vi);
  if (!dims || typeof dims[1] !== 'number' || dims.length !== 2) throw new Error(`input "${name}" is not [batch, k] with a fixed k`);
  const width = dims[1] - values.length;
  if (width < 1) throw new Error(`input "${name}" has only ${dims[1]} columns`);
  const names = new NameGen(g);
  const inner = names.next(`${name}/full_width`);
  renameUses(g.node, name, inner);
  const fill = names.next(`${name}/fill`);
  const zero = names.next(`${name}/zero`);
  const one = names.next(`${name}/one`);
  const count = names.next(`${name}/fill_count`);
  g.initializer.push(
    makeTensor(fill, elemType, [1, values.length], values),
    makeTensor(zero, DataType.INT64, [1], [0]),
    makeTensor(one, DataType.INT64, [1], [1]),
    makeTensor(count, DataType.INT64, [1], [values.length]),
  );
  const shape = names.next(`${name}/shape`);
  const batch = names.next(`${name}/batch`);
  const fillShape = names.next(`${name}/fill_shape`);
  const columns = names.next(`${name}/fill_columns`);
  g.node.unshift(
    makeNode('Shape', [name], [shape], names.next(`${name}/shape_of`)),
    makeNode('Slice', [shape, zero, one], [batch], names.next(`${name}/batch_of`)),
    makeNode('Concat', [batch, count], [fillShape], names.next(`${name}/fill_shape_of`), { axis: 0 }),
    makeNode('Expand', [fill, fillShape], [columns], names.next(`${name}/expand_fill`)),
    makeNode('Concat', [name, columns], [inner], names.next(`${name}/append`), { axis: 1 }),
  );
  g.input = g.input.map((v) => (v.name === name ? makeValueInfo(name, elemType, [dims[0], symbolicWidth ?? width]) : v));
  g.valueInfo = g.valueInfo.filter((v) => v.name !== name);
}
