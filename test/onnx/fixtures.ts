import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A tensor descriptor from the fixture case JSON files. */
export interface CaseTensor {
  file: string;
  dtype: 'float32' | 'float64' | 'int32' | 'int64';
  shape: number[];
}

export function readCaseJson(fixtureDir: string, name: string): any {
  return JSON.parse(readFileSync(join(fixtureDir, 'cases', name), 'utf8'));
}

export function readCaseTensor(fixtureDir: string, t: CaseTensor): Float32Array | Float64Array | Int32Array | BigInt64Array {
  const buf = readFileSync(join(fixtureDir, 'cases', t.file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  switch (t.dtype) {
    case 'float32':
      return new Float32Array(ab);
    case 'float64':
      return new Float64Array(ab);
    case 'int32':
      return new Int32Array(ab);
    case 'int64':
      return new BigInt64Array(ab);
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}
