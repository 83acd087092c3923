import { AppError } from '../../shared/errors';
import { indexGraph, makeNode, makeValueInfo, NameGen, pruneGraph, topologicalSort, valueInfoShape } from './graph';
import { DataType, type NodeProto, type OnnxModel, type TensorProto } from './types';

/** Result of cutting a CLIP text encoder at its token-embedding lookup. */
export interface TokenEmbeddingCut {
  /** The initializer holding the [vocab, width] token table (no longer in the graph). */
  table: TensorProto;
  vocabSize: number;
  width: number;
  /** Name of the new float input. */
  inputName: string;
  /** The ids input if the graph still reads it (pooling at argmax(ids), shapes), else null. */
  inputIdsName: string | null;
}

const PASS_THROUGH = new Set(['Reshape', 'Cast', 'Identity', 'Unsqueeze', 'Squeeze', 'Flatten']);

/**
 * Follows Identity and Cast nodes back to an initializer. `gatheredType` is what the Gather reads: the table's own
 * type, or the last Cast's target (fp16-stored weights widened to float32 before use).
 */
function resolveInitializer(model: OnnxModel, name: string): { table: TensorProto; gatheredType: number } | undefined {
  const idx = indexGraph(model.proto.graph);
  let cur = name;
  let castTo: number | undefined;
  for (let i = 0; i < 8; i++) {
    const t = idx.initializers.get(cur);
    if (t) return { table: t, gatheredType: castTo ?? t.dataType ?? DataType.FLOAT };
    const p = idx.producer.get(cur);
    if (!p || (p.opType !== 'Identity' && p.opType !== 'Cast')) return undefined;
    if (p.opType === 'Cast') castTo ??= Number(p.attribute.find((a) => a.name === 'to')?.i);
    cur = p.input[0];
  }
  return undefined;
}

/** The graph input that feeds `name` through index-preserving ops only (Reshape/Cast/...), if any. */
function traceToGraphInput(model: OnnxModel, name: string): string | undefined {
  const idx = indexGraph(model.proto.graph);
  let cur = name;
  for (let i = 0; i < 16; i++) {
    if (idx.inputs.has(cur)) return cur;
    const p = idx.producer.get(cur);
    if (!p || !PASS_THROUGH.has(p.opType)) return undefined;
    cur = p.input[0];
  }
  return undefined;
}

/** Finds the token-embedding Gather: the largest 2-D table gathered with indices that come from a graph input. */
export function findTokenEmbeddingGather(model: OnnxModel): { node: NodeProto; table: TensorProto; gatheredType: number; idsInput: string } {
  let best: { node: NodeProto; table: TensorProto; gatheredType: number; idsInput: string } | undefined;
  for (const n of model.proto.graph.node) {
    if (n.opType !== 'Gather') continue;
    const resolved = resolveInitializer(model, n.input[0]);
    if (!resolved || resolved.table.dims.length !== 2) continue;
    const { table, gatheredType } = resolved;
    const axis = n.attribute.find((a) => a.name === 'axis');
    if (axis && Number(axis.i) !== 0) continue;
    const idsInput = traceToGraphInput(model, n.input[1]);
    if (!idsInput) continue;
    if (!best || table.dims[0] > best.table.dims[0]) best = { node: n, table, gatheredType, idsInput };
  }
  if (!best) {
    throw new AppError('onnx_no_token_embedding', 'no token-embedding Gather (2-D initializer indexed by a graph input) found in the text encoder');
  }
  return best;
}

/**
 * Replaces the token-embedding Gather's output by a new float input `inputName` [..ids dims, width].
 * Everything downstream (position embeddings, layers, pooling) is unchanged; the ids input stays only if
 * something still reads it.
 */
export function cutAtTokenEmbedding(model: OnnxModel, inputName = 'inputs_embeds'): TokenEmbeddingCut {
  const g = model.proto.graph;
  const { node, table, gatheredType, idsInput } = findTokenEmbeddingGather(model);
  if (g.input.some((v) => v.name === inputName)) {
    throw new AppError('onnx_input_exists', `the text encoder already has an input named "${inputName}"`);
  }
  const vocabSize = Number(table.dims[0]);
  const width = Number(table.dims[1]);
  const idsInfo = g.input.find((v) => v.name === idsInput)!;
  const idsDims = valueInfoShape(idsInfo).dims ?? ['batch', 'sequence'];
  const out = node.output[0];
  g.node = g.node.filter((n) => n !== node);
  for (const n of g.node) n.input = n.input.map((i) => (i === out ? inputName : i));
  if (g.output.some((o) => o.name === out)) {
    const names = new NameGen(g);
    g.node.push(makeNode('Identity', [inputName], [out], names.next('inputs_embeds_passthrough')));
  }
  g.input.push(makeValueInfo(inputName, gatheredType, [...idsDims, width]));
  pruneGraph(g);
  topologicalSort(g);
  const stillUsesIds = g.input.some((v) => v.name === idsInput);
  return { table, vocabSize, width, inputName, inputIdsName: stillUsesIds ? idsInput : null };
}
