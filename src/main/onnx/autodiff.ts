import { AppError } from '../../shared/errors';
import { Emitter } from './emitter';
import { makeValueInfo, nodeLabel, opsetVersion, pruneGraph, setOpsetVersion, topologicalSort } from './graph';
import { NON_DIFFERENTIABLE, RULES, type RuleContext } from './grad-rules';
import { annotateValueInfo, inferShapes, type ShapeAnalysis } from './shapes';
import { isFloatType, numel } from './tensor';
import type { NodeProto, OnnxModel } from './types';

export interface GradientOptions {
  /** Tensors (normally graph inputs) to differentiate with respect to. */
  wrt: string[];
  /** A scalar (one-element) float tensor of the graph. */
  loss: string;
  /** Output name per wrt tensor; default `grad_<name>`. */
  gradNames?: Record<string, string>;
  /** Forward outputs to keep besides the loss. */
  keepOutputs?: string[];
}

export interface GradientReport {
  forwardNodes: number;
  backwardNodes: number;
  differentiatedNodes: number;
  gradOutputs: Record<string, string>;
}

/** ORT needs at least this opset for ScatterND(reduction="add"); IR 8 goes with opset 16+. */
const MIN_OPSET = 16;

/**
 * Turns `model` (in place) into a model whose outputs are the loss and d(loss)/d(wrt), using only standard
 * ONNX ops. Needs static shapes (run makeStatic first). Only nodes on a path from a wrt tensor to the loss get
 * a backward; contributions to one tensor are summed; forward activations are referenced, not recomputed.
 */
export function buildGradientGraph(model: OnnxModel, options: GradientOptions): GradientReport {
  const g = model.proto.graph;
  const opset = opsetVersion(model.proto);
  if (opset < 13) throw new AppError('onnx_opset_too_old', `autodiff needs opset ≥ 13; the model has ${opset}`);
  if (opset < MIN_OPSET) {
    setOpsetVersion(model.proto, MIN_OPSET);
    model.proto.irVersion = Math.max(Number(model.proto.irVersion ?? 0), 8);
  }
  topologicalSort(g);
  const analysis = inferShapes(model);
  const { info } = analysis;
  const lossInfo = info.get(options.loss);
  if (!lossInfo?.dims || numel(lossInfo.dims) !== 1 || !isFloatType(lossInfo.dtype)) {
    throw new AppError('onnx_bad_loss', `loss "${options.loss}" must be a float tensor with one element (got dims [${lossInfo?.dims ?? '?'}])`);
  }
  for (const w of options.wrt) {
    const t = info.get(w);
    if (!t || !isFloatType(t.dtype)) throw new AppError('onnx_bad_wrt', `cannot differentiate with respect to "${w}": not a float tensor of the graph`);
  }
  const forwardNodes = g.node.length;

  // Tensors that depend on a wrt tensor through differentiable ops.
  const active = new Set(options.wrt);
  for (const n of g.node) {
    if (NON_DIFFERENTIABLE.has(n.opType)) continue;
    if (!n.input.some((i) => i && active.has(i))) continue;
    for (const o of n.output) if (o && isFloatType(info.get(o)?.dtype)) active.add(o);
  }
  // Tensors the loss depends on.
  const producer = new Map<string, NodeProto>();
  for (const n of g.node) for (const o of n.output) if (o) producer.set(o, n);
  const feedsLoss = new Set<string>();
  const stack = [options.loss];
  while (stack.length) {
    const t = stack.pop()!;
    if (feedsLoss.has(t)) continue;
    feedsLoss.add(t);
    const p = producer.get(t);
    if (p) for (const i of p.input) if (i) stack.push(i);
  }

  const e = new Emitter(model, 'grad');
  const grads = new Map<string, string[]>();
  const addGrad = (name: string, g0: string) => {
    const list = grads.get(name);
    if (list) list.push(g0);
    else grads.set(name, [g0]);
  };
  addGrad(options.loss, e.constant(lossInfo.dtype, lossInfo.dims, [1], 'loss_seed'));

  const ctxBase = {
    e,
    dims: (name: string) => {
      const d = info.get(name)?.dims;
      if (!d) throw new AppError('onnx_grad_unknown_shape', `tensor "${name}" has no static shape; pin the input shapes first`);
      return d;
    },
    dtype: (name: string) => info.get(name)?.dtype ?? 0,
    constant: (name: string) => analysis.consts.get(name),
  };
  let differentiated = 0;
  for (let k = g.node.length - 1; k >= 0; k--) {
    const n = g.node[k];
    if (NON_DIFFERENTIABLE.has(n.opType)) continue;
    const dY = n.output.map((o) => {
      const parts = o && active.has(o) && feedsLoss.has(o) ? grads.get(o) : undefined;
      return parts && parts.length ? e.sum(parts) : undefined;
    });
    if (dY.every((d) => !d)) continue;
    const rule = RULES[n.opType];
    if (!rule || (n.domain && n.domain !== 'ai.onnx')) {
      throw new AppError('onnx_grad_unsupported', `no gradient rule for ${nodeLabel(n)} (op type ${n.domain ? n.domain + '::' : ''}${n.opType})`, {
        opType: n.opType,
        node: n.name,
      });
    }
    const need = n.input.map((i, idx) => !!i && active.has(i) && (rule.inputs ? rule.inputs.includes(idx) : true));
    if (!need.some(Boolean)) continue;
    const ctx: RuleContext = { ...ctxBase, node: n, dY, need };
    const out = rule.grad(ctx);
    differentiated++;
    n.input.forEach((i, idx) => {
      if (need[idx] && out[idx]) addGrad(i, out[idx]!);
    });
  }

  const gradOutputs: Record<string, string> = {};
  const outputs = [makeValueInfo(options.loss, lossInfo.dtype, lossInfo.dims)];
  for (const w of options.wrt) {
    const name = options.gradNames?.[w] ?? `grad_${w}`;
    const t = info.get(w)!;
    const parts = grads.get(w);
    const src = parts && parts.length ? e.sum(parts) : e.zeros(t.dims ?? [], t.dtype);
    e.nodes.push({ opType: 'Identity', input: [src], output: [name], name: e.names.next(`grad/out_${w}`), domain: '', attribute: [] });
    gradOutputs[w] = name;
    outputs.push(makeValueInfo(name, t.dtype, t.dims));
  }
  for (const o of options.keepOutputs ?? []) {
    const t = info.get(o);
    outputs.push(makeValueInfo(o, t?.dtype ?? 1, t?.dims));
  }
  g.node.push(...e.nodes);
  g.initializer.push(...e.initializers);
  g.output = outputs;
  pruneGraph(g);
  topologicalSort(g);
  const after = inferShapes(model);
  annotateValueInfo(model, after);
  return { forwardNodes, backwardNodes: g.node.length, differentiatedNodes: differentiated, gradOutputs };
}

export type { ShapeAnalysis };
