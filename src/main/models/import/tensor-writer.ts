import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { AppError } from '../../../shared/errors';
import { toHalf } from '../../util/half-float';
import type { PlannedTensor } from './planned-store';
import type { ImportSourceTensor } from './types';

/**
 * Older diffusers (< 0.14) and some converted VAEs name the VAE's attention projections query/key/value/proj_attn;
 * diffusers' own loader renames them the same way.
 */
const VAE_ATTENTION_ALIASES: [RegExp, string][] = [
  [/\.attentions\.0\.to_q\./, '.attentions.0.query.'],
  [/\.attentions\.0\.to_k\./, '.attentions.0.key.'],
  [/\.attentions\.0\.to_v\./, '.attentions.0.value.'],
  [/\.attentions\.0\.to_out\.0\./, '.attentions.0.proj_attn.'],
];

/** The source tensor for a graph parameter: by its diffusers name, else by a known older alias. */
export function findSourceTensor(weights: Map<string, ImportSourceTensor>, name: string): ImportSourceTensor | undefined {
  const hit = weights.get(name);
  if (hit) return hit;
  for (const [pattern, replacement] of VAE_ATTENTION_ALIASES) {
    if (pattern.test(name)) {
      const alias = weights.get(name.replace(pattern, replacement));
      if (alias) return alias;
    }
  }
  return undefined;
}

const numelOf = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

/** Dims without trailing 1s (an LDM 1×1-conv attention weight [out, in, 1, 1] is the Linear weight [out, in]). */
function squeezeTrailing(dims: number[]): number[] {
  const out = [...dims];
  while (out.length > 2 && out[out.length - 1] === 1) out.pop();
  return out;
}

/** Checks that the source tensor can fill the planned parameter; the error names the key and both shapes. */
export function checkShape(component: string, p: PlannedTensor, src: ImportSourceTensor): void {
  const fail = (why: string) =>
    new AppError('import.shape_mismatch', `${component}: "${src.key}" has shape [${src.shape.join(', ')}] but the graph needs ${why}`, {
      component,
      key: src.key,
      shape: src.shape,
      expected: p.dims,
    });
  if (p.layout === 'transposed') {
    const s = squeezeTrailing(src.shape);
    if (s.length !== 2 || s[0] !== p.dims[1] || s[1] !== p.dims[0]) throw fail(`[${p.dims[1]}, ${p.dims[0]}] (a Linear weight [out, in])`);
  } else if (numelOf(src.shape) !== numelOf(p.dims)) {
    throw fail(`[${p.dims.join(', ')}] (${numelOf(p.dims)} values)`);
  }
}

/**
 * [rows, cols] row-major → [cols, rows], in 32×32 tiles so both the reads and the writes stay within a few cache
 * lines (the naive loop strides a whole row per write; on SD 1.5 it took 8 of the import's 70 s).
 */
export function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(r0 + T, rows);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(c0 + T, cols);
      for (let r = r0; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = values[base + c];
      }
    }
  }
  return out;
}

function toHalfBytes(values: Float32Array): Uint8Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toHalf(values[i]);
  return new Uint8Array(out.buffer);
}

export interface WriteProgress {
  /** Source bytes read for this tensor. */
  sourceBytes: number;
  name: string;
}

/**
 * Streams the planned parameters into `file`: each tensor is read from the source, transposed where the graph
 * stores a Linear weight [in, out], converted to float16 when asked, written at its planned offset and dropped, so
 * memory holds one tensor (and its converted copy) at a time, never the model.
 */
export async function writeTensors(opts: {
  component: string;
  file: string;
  planned: PlannedTensor[];
  size: number;
  weights: Map<string, ImportSourceTensor>;
  dtype: 'float32' | 'float16';
  signal?: AbortSignal;
  /** Called after each tensor is written; a returned promise is awaited. */
  onTensor: (p: WriteProgress) => void | Promise<void>;
}): Promise<void> {
  if (endianness() !== 'LE') throw new AppError('import.big_endian', 'models can only be imported on a little-endian machine');
  const fd = openSync(opts.file, 'w');
  try {
    ftruncateSync(fd, opts.size);
    for (const p of opts.planned) {
      if (opts.signal?.aborted) throw new AppError('import.aborted', `import cancelled while writing ${opts.component}`, { component: opts.component });
      const src = findSourceTensor(opts.weights, p.name);
      if (!src) throw new AppError('import.missing_tensor', `${opts.component}: the checkpoint has no "${p.name}" (needed by the ${opts.component} graph)`, { component: opts.component, key: p.name });
      checkShape(opts.component, p, src);
      let values = await src.read();
      if (values.length !== numelOf(p.dims)) throw new AppError('import.shape_mismatch', `${opts.component}: "${src.key}" gave ${values.length} values, expected ${numelOf(p.dims)}`, { key: src.key });
      if (p.layout === 'transposed') values = transpose(values, p.dims[1], p.dims[0]);
      const bytes = opts.dtype === 'float16' ? toHalfBytes(values) : new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
      if (bytes.byteLength !== p.byteLength) throw new Error(`planned ${p.byteLength} bytes for ${p.name}, have ${bytes.byteLength}`);
      let done = 0;
      while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done, p.offset + done);
      await opts.onTensor({ sourceBytes: src.byteLength, name: p.name });
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
