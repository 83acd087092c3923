import * as ort from 'onnxruntime-node';
import { AppError } from '../../../shared/errors';

/** Conversions between JS arrays and ORT tensors for the dtype variations of SD exports. */

export type FloatType = 'float32' | 'float16';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half from a float (round to nearest even). */
export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** A float tensor of the model's declared type; fp16 data goes through `scratch` when given (no reallocation). */
export function floatTensor(type: FloatType, data: Float32Array, dims: readonly number[], scratch?: Uint16Array): ort.Tensor {
  if (type === 'float32') return new ort.Tensor('float32', data, dims);
  const half = scratch && scratch.length === data.length ? scratch : new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) half[i] = toHalf(data[i]);
  return new ort.Tensor('float16', half, dims);
}

/** Reads a float output (fp32 or fp16) as Float32Array; copies into `out` when given. */
export function readFloat(tensor: ort.Tensor, out?: Float32Array): Float32Array {
  if (tensor.type === 'float32') {
    const data = tensor.data as Float32Array;
    if (!out) return data;
    out.set(data);
    return out;
  }
  if (tensor.type === 'float16') {
    const raw = tensor.data as unknown as ArrayLike<number>;
    const isHalfBits = raw instanceof Uint16Array;
    const target = out ?? new Float32Array(raw.length);
    for (let i = 0; i < raw.length; i++) target[i] = isHalfBits ? fromHalf(raw[i]) : raw[i];
    return target;
  }
  throw new AppError('diffusion.model_io', `expected a float output, got ${tensor.type}`);
}

export type IntType = 'int32' | 'int64';

export function idsTensor(type: IntType, rows: number[][]): ort.Tensor {
  const seq = rows[0].length;
  const flat = rows.flat();
  if (type === 'int32') return new ort.Tensor('int32', Int32Array.from(flat), [rows.length, seq]);
  return new ort.Tensor('int64', BigInt64Array.from(flat, (v) => BigInt(v)), [rows.length, seq]);
}

/** How a UNet wants its timestep: element type and whether it is a rank-0 scalar. */
export interface TimestepSpec {
  type: 'int64' | 'float32' | 'float16';
  scalar: boolean;
}

/** One timestep for the whole batch, or one per batch item (a scalar-timestep export takes only the former). */
export function timestepTensor(spec: TimestepSpec, t: number | readonly number[], batch: number): ort.Tensor {
  const values = typeof t === 'number' ? new Array<number>(spec.scalar ? 1 : batch).fill(t) : t;
  if (spec.scalar && values.some((v) => v !== values[0])) {
    throw new AppError('diffusion.model_io', 'this UNet takes a scalar timestep; all batch items must share it');
  }
  const list = spec.scalar ? [values[0]] : values.length === 1 ? new Array<number>(batch).fill(values[0]) : values;
  const dims = spec.scalar ? [] : [list.length];
  if (spec.type === 'int64') return new ort.Tensor('int64', BigInt64Array.from(list, (v) => BigInt(Math.round(v))), dims);
  if (spec.type === 'float16') return new ort.Tensor('float16', Uint16Array.from(list, toHalf), dims);
  return new ort.Tensor('float32', Float32Array.from(list), dims);
}
