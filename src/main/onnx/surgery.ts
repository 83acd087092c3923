import { isAbsolute, resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import { Emitter } from './emitter';
import { makeValueInfo, opsetVersion, topologicalSort, valueInfoShape } from './graph';
import { isExternal } from './tensor';
import type { NodeProto, OnnxModel, ValueInfoProto } from './types';

/**
 * Renames every tensor and node of `model` with `prefix`, except names listed in `keep` (old → new).
 * External-data locations become absolute so the tensors can live in another model.
 */
export function prefixModel(model: OnnxModel, prefix: string, keep: Record<string, string> = {}): void {
  const g = model.proto.graph;
  const rename = (n: string) => (n === '' ? n : (keep[n] ?? `${prefix}${n}`));
  for (const n of g.node) {
    n.input = n.input.map(rename);
    n.output = n.output.map(rename);
    if (n.name) n.name = `${prefix}${n.name}`;
    for (const a of n.attribute) if (a.g) throw new AppError('onnx_subgraph', `node "${n.name}" has a subgraph; merging such models is not supported`);
  }
  for (const t of g.initializer) {
    t.name = rename(t.name ?? '');
    if (isExternal(t)) {
      t.externalData = t.externalData.map((e) =>
        e.key === 'location' && !isAbsolute(e.value) ? { key: 'location', value: resolve(model.baseDir, e.value) } : e,
      );
    }
  }
  const renameVi = (v: ValueInfoProto) => ({ ...v, name: rename(v.name) });
  g.input = g.input.map(renameVi);
  g.output = g.output.map(renameVi);
  g.valueInfo = g.valueInfo.map(renameVi);
}

/**
 * Moves all nodes, initializers and inputs of `part` into `host` (names must already be distinct).
 * `part`'s outputs become ordinary tensors of `host`. Both models must use the same default-domain opset.
 */
export function mergeInto(host: OnnxModel, part: OnnxModel): void {
  const a = opsetVersion(host.proto);
  const b = opsetVersion(part.proto);
  if (a !== b) throw new AppError('onnx_opset_mismatch', `cannot merge models with opsets ${a} and ${b}`);
  const hg = host.proto.graph;
  const pg = part.proto.graph;
  const taken = new Set<string>([...hg.node.flatMap((n) => n.output), ...hg.initializer.map((t) => t.name ?? ''), ...hg.input.map((v) => v.name)]);
  for (const n of [...pg.node.flatMap((x) => x.output), ...pg.initializer.map((t) => t.name ?? '')]) {
    if (n && taken.has(n)) throw new AppError('onnx_name_clash', `tensor name "${n}" exists in both models being merged`);
  }
  // Relative external locations of the part refer to its own folder.
  for (const t of pg.initializer) {
    if (isExternal(t)) {
      t.externalData = t.externalData.map((e) =>
        e.key === 'location' && !isAbsolute(e.value) ? { key: 'location', value: resolve(part.baseDir, e.value) } : e,
      );
    }
  }
  hg.node.push(...pg.node);
  hg.initializer.push(...pg.initializer);
  for (const v of pg.input) if (!hg.input.some((h) => h.name === v.name)) hg.input.push(v);
  hg.valueInfo.push(...pg.valueInfo);
  host.proto.irVersion = Math.max(Number(host.proto.irVersion ?? 0), Number(part.proto.irVersion ?? 0));
}

/** Replaces graph input `name` of `model` by an internal tensor computed by `producer` nodes (already in the graph). */
export function bindInput(model: OnnxModel, name: string, source: string): NodeProto {
  const g = model.proto.graph;
  if (!g.input.some((v) => v.name === name)) throw new AppError('onnx_no_such_input', `the model has no input "${name}"`);
  g.input = g.input.filter((v) => v.name !== name);
  const node: NodeProto = { opType: 'Identity', input: [source], output: [name], name: `bind/${name}`, domain: '', attribute: [] };
  g.node.push(node);
  return node;
}

export interface MseLossOptions {
  /** Name of the new target input (same shape/type as the prediction). */
  targetInput?: string;
  /** If set, a float [1] input multiplying the loss (per-timestep weighting, e.g. min-SNR). */
  weightInput?: string;
  lossName?: string;
}

/** Adds `loss = mean((pred − target)²) [· weight]` as the graph's only output. */
export function addMseLoss(model: OnnxModel, pred: string, options: MseLossOptions = {}): string {
  const g = model.proto.graph;
  const targetName = options.targetInput ?? 'target';
  const lossName = options.lossName ?? 'loss';
  const predOut = g.output.find((o) => o.name === pred) ?? g.valueInfo.find((v) => v.name === pred);
  const predShape = predOut ? valueInfoShape(predOut) : { elemType: 1, dims: undefined };
  g.input.push(makeValueInfo(targetName, predShape.elemType || 1, predShape.dims));
  const e = new Emitter(model, 'loss');
  const diff = e.op('Sub', [pred, targetName]);
  const sq = e.op('Mul', [diff, diff]);
  let loss = e.op('ReduceMean', [sq], { keepdims: 0 });
  if (options.weightInput) {
    g.input.push(makeValueInfo(options.weightInput, predShape.elemType || 1, [1]));
    loss = e.op('Mul', [loss, e.op('Reshape', [options.weightInput, e.ints([])])]);
  }
  e.nodes.push({ opType: 'Identity', input: [loss], output: [lossName], name: 'loss/out', domain: '', attribute: [] });
  g.node.push(...e.nodes);
  g.initializer.push(...e.initializers);
  g.output = [makeValueInfo(lossName, predShape.elemType || 1, [])];
  topologicalSort(g);
  return lossName;
}
