import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { GenerateOptions } from '../../src/main/diffusion/pipeline/stable-diffusion';
import type { SchedulerName } from '../../src/main/diffusion/schedulers/index';

/** Reads the fixtures' tensor descriptors ({file, dtype, shape}) relative to a cases/ folder. */
export interface TensorDescriptor {
  file: string;
  dtype: 'float32' | 'float64' | 'int32' | 'int64';
  shape: number[];
}

export function readCase(casesDir: string, name: string): any {
  return JSON.parse(readFileSync(join(casesDir, name), 'utf8'));
}

function copyBytes(casesDir: string, d: TensorDescriptor): ArrayBuffer {
  const buf = readFileSync(join(casesDir, d.file));
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

export function f32(casesDir: string, d: TensorDescriptor): Float32Array {
  const bytes = copyBytes(casesDir, d);
  if (d.dtype === 'float64') return Float32Array.from(new Float64Array(bytes));
  if (d.dtype !== 'float32') throw new Error(`${d.file}: expected float, got ${d.dtype}`);
  return new Float32Array(bytes);
}

export function f64(casesDir: string, d: TensorDescriptor): Float64Array {
  const bytes = copyBytes(casesDir, d);
  return d.dtype === 'float64' ? new Float64Array(bytes) : Float64Array.from(new Float32Array(bytes));
}

export function ints(casesDir: string, d: TensorDescriptor): number[] {
  const bytes = copyBytes(casesDir, d);
  if (d.dtype === 'int64') return Array.from(new BigInt64Array(bytes), Number);
  if (d.dtype === 'int32') return Array.from(new Int32Array(bytes));
  return Array.from(new Float32Array(bytes));
}

/** Max |a - b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function absMax(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Slice i of a [N, ...] array whose items have `size` values. */
export function item(a: Float32Array, i: number, size: number): Float32Array {
  return a.subarray(i * size, (i + 1) * size);
}

/** Whole-loop latents: relative to the reference absmax (fixture README: "atol 1e-3, or relative to absmax"). */
export function expectLatentsClose(actual: Float32Array, expected: Float32Array, relative = 2e-5): void {
  expect(maxAbsDiff(actual, expected)).toBeLessThan(1e-4 + relative * absMax(expected));
}

/** The generate options that replay a txt2img_*.json reference run from its initial latents. */
export function txt2imgFromCase(casesDir: string, run: any, scheduler: SchedulerName): GenerateOptions {
  return {
    prompt: run.prompt,
    negativePrompt: run.negative_prompt,
    steps: run.num_inference_steps,
    scheduler,
    guidance: run.guidance_scale,
    width: run.width,
    height: run.height,
    initLatents: f32(casesDir, run.initial_latents),
  };
}
