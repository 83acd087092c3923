import { makeNode, NameGen, opsetVersion, type AttrValue } from './graph';
import { makeTensor } from './tensor';
import { DataType, type NodeProto, type OnnxModel, type TensorProto } from './types';

/** Appends new nodes/initializers to a model with collision-free names and opset-correct op forms. */
export class Emitter {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly names: NameGen;
  readonly opset: number;
  private readonly constCache = new Map<string, string>();

  constructor(
    readonly model: OnnxModel,
    private readonly prefix: string,
  ) {
    this.names = new NameGen(model.proto.graph);
    this.opset = opsetVersion(model.proto);
  }

  /** Adds one node and returns its (first) output name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue | undefined> = {}, hint = opType): string {
    return this.opN(opType, inputs, 1, attrs, hint)[0];
  }

  opN(opType: string, inputs: string[], outputs: number, attrs: Record<string, AttrValue | undefined> = {}, hint = opType): string[] {
    const base = this.names.next(`${this.prefix}/${hint}`);
    const outs = Array.from({ length: outputs }, (_, i) => (outputs === 1 ? base : `${base}:${i}`));
    for (const o of outs) this.names.reserve(o);
    this.nodes.push(makeNode(opType, inputs, outs, base, attrs));
    return outs;
  }

  /** An initializer holding `data` (deduplicated by value). */
  constant(dtype: number, dims: number[], data: ArrayLike<number>, hint = 'const'): string {
    const key = `${dtype}|${dims.join(',')}|${Array.from(data).join(',')}`;
    const hit = key.length < 4096 ? this.constCache.get(key) : undefined;
    if (hit) return hit;
    const name = this.names.next(`${this.prefix}/${hint}`);
    this.initializers.push(makeTensor(name, dtype, dims, data));
    if (key.length < 4096) this.constCache.set(key, name);
    return name;
  }

  scalar(value: number, dtype: number): string {
    return this.constant(dtype, [], [value], 'scalar');
  }

  ints(values: number[]): string {
    return this.constant(DataType.INT64, [values.length], values, 'ints');
  }

  reshape(x: string, dims: number[]): string {
    return this.op('Reshape', [x, this.ints(dims)]);
  }

  reduceSum(x: string, axes: number[], keepdims: boolean): string {
    if (axes.length === 0) return x;
    return this.op('ReduceSum', [x, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
  }

  reduceMean(x: string, axes: number[], keepdims: boolean): string {
    if (this.opset >= 18) return this.op('ReduceMean', [x, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
    return this.op('ReduceMean', [x], { axes, keepdims: keepdims ? 1 : 0 });
  }

  zeros(dims: number[], dtype: number): string {
    return this.op('ConstantOfShape', [this.ints(dims)], { value: makeTensor('value', dtype, [1], [0]) }, 'zeros');
  }

  /** Sums gradient contributions (one contribution passes through). */
  sum(parts: string[]): string {
    return parts.length === 1 ? parts[0] : this.op('Sum', parts, {}, 'grad_sum');
  }

  /** Sums `g` (dims `from`) down to the broadcast source dims `to`. */
  reduceTo(g: string, from: number[], to: number[]): string {
    if (from.length === to.length && from.every((d, i) => d === to[i])) return g;
    const lead = from.length - to.length;
    const axes: number[] = [];
    for (let i = 0; i < from.length; i++) {
      if (i < lead) axes.push(i);
      else if (to[i - lead] === 1 && from[i] !== 1) axes.push(i);
    }
    const reduced = this.reduceSum(g, axes, true);
    return this.reshape(reduced, to);
  }
}
