import * as ort from 'onnxruntime-node';
import { AppError } from '../../../shared/errors';
import { fromHalf, toHalf } from '../../util/half-float';

export { fromHalf, toHalf };

/** Conversions between JS arrays and ORT tensors for the dtype variations of SD exports. */

export type FloatType = 'float32' | 'float16';

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
