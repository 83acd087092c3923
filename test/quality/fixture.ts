import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dreamframeFixtureDir, fixturesDir } from '../support/paths';

/** The dataset-quality reference set (../shared/fixtures/quality, see its README). */
export const QUALITY = join(fixturesDir, 'quality');
export const STYLE_IMAGES = join(dreamframeFixtureDir, 'style');

interface Spec { file: string; dtype: string; shape: number[] }
export const cases = JSON.parse(readFileSync(join(QUALITY, 'cases.json'), 'utf8')) as {
  images: string[];
  texts: string[];
  clip: Record<string, Spec> & { adjacent_image_cosine: number[] };
  lpips: Record<string, Spec>;
};

export function f32(spec: Spec): Float32Array {
  const b = readFileSync(join(QUALITY, spec.file));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function i64(spec: Spec): number[] {
  const b = readFileSync(join(QUALITY, spec.file));
  return Array.from(new BigInt64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), Number);
}

export function rows(data: Float32Array, n: number): Float32Array[] {
  const w = data.length / n;
  return Array.from({ length: n }, (_, i) => data.subarray(i * w, (i + 1) * w));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
