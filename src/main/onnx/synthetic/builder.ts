import { makeNode, makeValueInfo, type AttrValue } from '../graph';
import { makeTensor, numel } from '../tensor';
import { DataType, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../types';
import type { ParamInit, ParamLayout, WeightStore } from './weights';

/** Opset and IR version of the diffusers conversion script's exports (and of the tiny-sd15 fixture). */
export const SYNTHETIC_OPSET = 14;
export const SYNTHETIC_IR_VERSION = 7;
/** Opset and IR version of optimum's exports (and of the tiny-sdxl fixture): LayerNorm is one LayerNormalization node. */
export const OPTIMUM_OPSET = 17;
export const OPTIMUM_IR_VERSION = 8;

export interface BuilderOptions {
  /** 14 (default, the diffusers script) or 17 (optimum; one LayerNormalization node per LayerNorm). */
  opset?: 14 | 17;
}

/**
 * Appends nodes to a new graph. Parameters become initializers (through a WeightStore, named like the torch
 * module's parameter); every other constant (shapes, axes, eps, scales) is a `Constant` node, as the torch exporter
 * emits them, so the initializers are exactly the model's parameters.
 */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private counter = 0;
  private readonly constants = new Map<string, string>();

  readonly opset: 14 | 17;

  constructor(
    private readonly store: WeightStore,
    opts: BuilderOptions = {},
  ) {
    this.opset = opts.opset ?? SYNTHETIC_OPSET;
  }

  /** One node; returns its output name (`<scope>/<Op>_<n>`). */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue | undefined> = {}, scope = ''): string {
    const name = `${scope}/${opType}_${this.counter++}`;
    this.nodes.push(makeNode(opType, inputs, [name], name, attrs));
    return name;
  }

  /** Gives a tensor its final (graph output) name: renames the producing node's output and every use. */
  rename(tensor: string, name: string): string {
    for (const n of this.nodes) {
      n.output = n.output.map((o) => (o === tensor ? name : o));
      n.input = n.input.map((i) => (i === tensor ? name : i));
    }
    return name;
  }

  /**
   * A parameter initializer; returns its name. `layout` says how the graph's tensor relates to the torch
   * parameter of that name (`transposed`: a Linear weight stored [in, out] for MatMul), for stores that copy weights.
   */
  param(name: string, dims: number[], init: ParamInit, layout: ParamLayout = 'same'): string {
    this.initializers.push(this.store.add(name, dims, init, layout));
    return name;
  }

  /** A `Constant` node (shared between uses with the same value). */
  constant(dtype: number, dims: number[], data: ArrayLike<number>): string {
    const key = `${dtype}|${dims.join(',')}|${Array.from(data).join(',')}`;
    const hit = this.constants.get(key);
    if (hit) return hit;
    const name = `/Constant_${this.counter++}`;
    this.nodes.push(makeNode('Constant', [], [name], name, { value: makeTensor(name, dtype, dims, data) }));
    this.constants.set(key, name);
    return name;
  }

  ints(values: number[]): string {
    return this.constant(DataType.INT64, [values.length], values);
  }

  scalar(value: number): string {
    return this.constant(DataType.FLOAT, [], [value]);
  }

  model(graphName: string, inputs: ValueInfoProto[], outputs: ValueInfoProto[]): ModelProto {
    return {
      irVersion: this.opset >= OPTIMUM_OPSET ? OPTIMUM_IR_VERSION : SYNTHETIC_IR_VERSION,
      opsetImport: [{ domain: '', version: this.opset }],
      producerName: 'dreamframe-synthetic',
      producerVersion: '1',
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        sparseInitializer: [],
        input: inputs,
        output: outputs,
        valueInfo: [],
        quantizationAnnotation: [],
      },
      metadataProps: [],
      trainingInfo: [],
      functions: [],
    };
  }
}

/** A float32 graph input/output declaration (numbers are fixed dims, strings symbolic ones). */
export const floatInfo = (name: string, dims: (number | string)[]): ValueInfoProto => makeValueInfo(name, DataType.FLOAT, dims);

/** Number of parameters of a model: the elements of its initializers. */
export function parameterCount(proto: ModelProto): number {
  return proto.graph.initializer.reduce((s, t) => s + numel(t.dims.map(Number)), 0);
}
