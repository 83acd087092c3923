import { AppError } from '../../shared/errors';
import { AttrType, type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from './types';

/** Who produces and who consumes each tensor name. */
export interface GraphIndex {
  producer: Map<string, NodeProto>;
  consumers: Map<string, NodeProto[]>;
  initializers: Map<string, TensorProto>;
  inputs: Set<string>;
}

export function indexGraph(g: GraphProto): GraphIndex {
  const producer = new Map<string, NodeProto>();
  const consumers = new Map<string, NodeProto[]>();
  for (const n of g.node) {
    for (const o of n.output) if (o) producer.set(o, n);
    for (const i of n.input) {
      if (!i) continue;
      const list = consumers.get(i);
      if (list) list.push(n);
      else consumers.set(i, [n]);
    }
  }
  const initializers = new Map(g.initializer.map((t) => [t.name ?? '', t]));
  return { producer, consumers, initializers, inputs: new Set(g.input.map((v) => v.name)) };
}

export function nodeLabel(n: NodeProto): string {
  return `${n.opType} node "${n.name || n.output[0]}"`;
}

/** Kahn's algorithm; ties keep the original order. Fails on cycles naming a node involved. */
export function topologicalSort(g: GraphProto): void {
  const available = new Set<string>([...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name ?? ''), '']);
  const pending = new Map<NodeProto, number>();
  const waiting = new Map<string, NodeProto[]>();
  const ready: NodeProto[] = [];
  for (const n of g.node) {
    const missing = new Set(n.input.filter((i) => i && !available.has(i)));
    pending.set(n, missing.size);
    for (const m of missing) {
      const list = waiting.get(m);
      if (list) list.push(n);
      else waiting.set(m, [n]);
    }
    if (missing.size === 0) ready.push(n);
  }
  const order: NodeProto[] = [];
  const position = new Map(g.node.map((n, i) => [n, i]));
  // A simple queue keeps the original order roughly stable without a heap.
  let head = 0;
  while (head < ready.length) {
    const n = ready[head++];
    order.push(n);
    for (const o of n.output) {
      if (!o || available.has(o)) continue;
      available.add(o);
      for (const c of waiting.get(o) ?? []) {
        const left = (pending.get(c) ?? 0) - 1;
        pending.set(c, left);
        if (left === 0) ready.push(c);
      }
    }
  }
  if (order.length !== g.node.length) {
    const stuck = g.node.find((n) => !order.includes(n));
    const missing = stuck?.input.filter((i) => i && !available.has(i)) ?? [];
    throw new AppError('onnx_graph_cycle_or_missing_input', `graph cannot be ordered: ${stuck ? nodeLabel(stuck) : '?'} waits for ${missing.join(', ')}`, {
      missing,
    });
  }
  void position;
  g.node = order;
}

/** Drops nodes, initializers and inputs that no graph output depends on. */
export function pruneGraph(g: GraphProto, options: { keepInputs?: boolean } = {}): void {
  const idx = indexGraph(g);
  const needed = new Set<string>();
  const keepNodes = new Set<NodeProto>();
  const stack = g.output.map((o) => o.name);
  while (stack.length) {
    const name = stack.pop()!;
    if (needed.has(name)) continue;
    needed.add(name);
    const p = idx.producer.get(name);
    if (p && !keepNodes.has(p)) {
      keepNodes.add(p);
      for (const i of p.input) if (i) stack.push(i);
      for (const a of p.attribute) if (a.g) for (const i of subgraphOuterInputs(a.g)) stack.push(i);
    }
  }
  g.node = g.node.filter((n) => keepNodes.has(n));
  g.initializer = g.initializer.filter((t) => needed.has(t.name ?? ''));
  if (!options.keepInputs) g.input = g.input.filter((v) => needed.has(v.name));
  g.valueInfo = g.valueInfo.filter((v) => needed.has(v.name));
}

/** Names a subgraph reads from its enclosing scope (for If/Loop bodies). */
function subgraphOuterInputs(sg: GraphProto): string[] {
  const local = new Set<string>([...sg.input.map((v) => v.name), ...sg.initializer.map((t) => t.name ?? '')]);
  for (const n of sg.node) for (const o of n.output) local.add(o);
  const out: string[] = [];
  for (const n of sg.node) for (const i of n.input) if (i && !local.has(i)) out.push(i);
  return out;
}

export function getAttr(n: NodeProto, name: string): AttributeProto | undefined {
  return n.attribute.find((a) => a.name === name);
}

export function attrInt(n: NodeProto, name: string, fallback: number): number {
  const a = getAttr(n, name);
  return a?.i !== undefined ? Number(a.i) : fallback;
}

export function attrInts(n: NodeProto, name: string): number[] | undefined {
  const a = getAttr(n, name);
  return a ? a.ints.map(Number) : undefined;
}

export function attrFloat(n: NodeProto, name: string, fallback: number): number {
  const a = getAttr(n, name);
  return a?.f !== undefined ? a.f : fallback;
}

export function attrString(n: NodeProto, name: string, fallback: string): string {
  const a = getAttr(n, name);
  return a?.s !== undefined ? Buffer.from(a.s).toString('utf8') : fallback;
}

export type AttrValue = number | number[] | string | TensorProto | { floats: number[] } | { float: number };

/** Builds attributes from a compact record: integers → INT, integer arrays → INTS, strings → STRING. */
export function makeAttributes(attrs: Record<string, AttrValue | undefined>): AttributeProto[] {
  const out: AttributeProto[] = [];
  for (const [name, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    const base: AttributeProto = { name, floats: [], ints: [], strings: [], tensors: [], graphs: [] };
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) throw new AppError('onnx_attr', `attribute ${name}=${v}: use { float } for float attributes`);
      out.push({ ...base, type: AttrType.INT, i: v });
    } else if (typeof v === 'string') out.push({ ...base, type: AttrType.STRING, s: Buffer.from(v, 'utf8') });
    else if (Array.isArray(v)) out.push({ ...base, type: AttrType.INTS, ints: v });
    else if ('floats' in v) out.push({ ...base, type: AttrType.FLOATS, floats: v.floats });
    else if ('float' in v) out.push({ ...base, type: AttrType.FLOAT, f: v.float });
    else out.push({ ...base, type: AttrType.TENSOR, t: v });
  }
  return out;
}

export function makeNode(opType: string, inputs: string[], outputs: string[], name: string, attrs: Record<string, AttrValue | undefined> = {}): NodeProto {
  return { opType, input: inputs, output: outputs, name, domain: '', attribute: makeAttributes(attrs) };
}

export function makeValueInfo(name: string, elemType: number, dims: (number | string)[] | undefined): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: dims ? { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } : undefined,
      },
    },
  };
}

/** Declared elem type and dims (numbers, or the dim_param string for free dims) of a graph input/output. */
export function valueInfoShape(v: ValueInfoProto): { elemType: number; dims: (number | string)[] | undefined } {
  const tt = v.type?.tensorType;
  const dims = tt?.shape?.dim?.map((d) => (d.dimValue !== undefined && d.dimValue !== null ? Number(d.dimValue) : (d.dimParam ?? '?')));
  return { elemType: tt?.elemType ?? 0, dims };
}

export function opsetVersion(m: ModelProto, domain = ''): number {
  const e = m.opsetImport.find((o) => (o.domain ?? '') === domain || (domain === '' && o.domain === 'ai.onnx'));
  return e ? Number(e.version) : 0;
}

export function setOpsetVersion(m: ModelProto, version: number): void {
  const e = m.opsetImport.find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
  if (e) e.version = version;
  else m.opsetImport.push({ domain: '', version });
}

/** Generates names that do not collide with anything already in the graph. */
export class NameGen {
  private readonly used = new Set<string>();
  private counter = 0;
  constructor(g: GraphProto) {
    for (const n of g.node) {
      for (const o of n.output) this.used.add(o);
      if (n.name) this.used.add(n.name);
    }
    for (const t of g.initializer) this.used.add(t.name ?? '');
    for (const v of g.input) this.used.add(v.name);
  }
  next(prefix: string): string {
    let name: string;
    do name = `${prefix}__${this.counter++}`;
    while (this.used.has(name));
    this.used.add(name);
    return name;
  }
  reserve(name: string): void {
    this.used.add(name);
  }
}
