import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Reads a fixture case JSON and the raw little-endian tensors it points to. */
export interface TensorRef {
  file: string;
  dtype: 'float32' | 'float64' | 'int32' | 'int64';
  shape: number[];
}

export function readCase(dir: string, name: string): any {
  return JSON.parse(readFileSync(join(dir, 'cases', name), 'utf8'));
}

export function readTensor(dir: string, ref: TensorRef): Float32Array | Float64Array {
  const buf = readFileSync(join(dir, 'cases', ref.file));
  const bytes = new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  if (ref.dtype === 'float64') return new Float64Array(bytes.buffer);
  if (ref.dtype === 'float32') return new Float32Array(bytes.buffer);
  throw new Error(`readTensor: ${ref.dtype} not handled here`);
}

export function readF32(dir: string, ref: TensorRef): Float32Array {
  const t = readTensor(dir, ref);
  return t instanceof Float32Array ? t : Float32Array.from(t);
}

/** Integer tensors (token ids) as plain numbers. */
export function readIds(dir: string, ref: TensorRef): number[] {
  const buf = readFileSync(join(dir, 'cases', ref.file));
  const bytes = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
  if (ref.dtype === 'int32') return Array.from(new Int32Array(bytes));
  if (ref.dtype === 'int64') return Array.from(new BigInt64Array(bytes), Number);
  throw new Error(`readIds: ${ref.dtype} is not an integer type`);
}
