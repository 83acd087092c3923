import { AppError } from '../../../shared/errors';
import type { TensorRef } from './types';
import { floatDtype, numel, type SafetensorsFile, type TensorEntry } from './safetensors-file';

/**
 * Lazy tensors: a TensorRef names where its values live (a file entry, optionally a block of rows of it, or its
 * transpose) and reads them only when asked, so a whole model's state dict costs a few hundred bytes per tensor
 * until the writer pulls each one.
 */

export interface TensorSource {
  /** The tensor as the file holds it: key, dtype, shape and size. */
  entry: TensorEntry;
  read(start?: number, count?: number): Promise<Float32Array>;
}

export function fileSource(file: SafetensorsFile, entry: TensorEntry): TensorSource {
  return { entry, read: (start, count) => file.readFloat32(entry, start, count) };
}

/** In-memory tensors (from a pickle, read whole by the restricted reader). */
export function memorySource(file: string, name: string, shape: number[], data: Float32Array): TensorSource {
  const entry: TensorEntry = { file, name, dtype: 'F32', shape, begin: 0, end: data.length * 4 };
  return { entry, read: async (start = 0, count) => data.slice(start, start + (count ?? data.length - start)) };
}

function ref(key: string, src: TensorSource, shape: number[], byteLength: number, read: () => Promise<Float32Array>): TensorRef {
  const dtype = floatDtype(src.entry);
  return { key, dtype, shape, byteLength, read };
}

/** The tensor as stored, optionally given another shape with the same number of elements (e.g. a 1×1 conv as linear). */
export function plainRef(key: string, src: TensorSource, shape = src.entry.shape): TensorRef {
  if (numel(shape) !== numel(src.entry.shape)) {
    throw new AppError('model.source_invalid', `${src.entry.file}: tensor "${src.entry.name}" [${src.entry.shape}] cannot serve as "${key}" [${shape}]`, { file: src.entry.file, tensor: src.entry.name });
  }
  return ref(key, src, [...shape], src.entry.end - src.entry.begin, () => src.read());
}

/** Rows [rowStart, rowStart + rows) of a tensor's first axis (OpenCLIP's fused in_proj → q, k or v). */
export function rowsRef(key: string, src: TensorSource, rowStart: number, rows: number): TensorRef {
  const shape = src.entry.shape;
  if (shape.length === 0 || rowStart + rows > shape[0]) {
    throw new AppError('model.source_invalid', `${src.entry.file}: tensor "${src.entry.name}" [${shape}] has no rows ${rowStart}..${rowStart + rows} for "${key}"`, { file: src.entry.file, tensor: src.entry.name });
  }
  const perRow = numel(shape.slice(1));
  const bytesPerValue = (src.entry.end - src.entry.begin) / Math.max(1, numel(shape));
  return ref(key, src, [rows, ...shape.slice(1)], rows * perRow * bytesPerValue, () => src.read(rowStart * perRow, rows * perRow));
}

/** The transpose of a 2-D tensor (OpenCLIP's text_projection is stored [in, out]; nn.Linear wants [out, in]). */
export function transposedRef(key: string, src: TensorSource): TensorRef {
  const shape = src.entry.shape;
  if (shape.length !== 2) {
    throw new AppError('model.source_invalid', `${src.entry.file}: tensor "${src.entry.name}" [${shape}] is not 2-D; cannot transpose it into "${key}"`, { file: src.entry.file, tensor: src.entry.name });
  }
  const [r, c] = shape;
  return ref(key, src, [c, r], src.entry.end - src.entry.begin, async () => {
    const v = await src.read();
    const out = new Float32Array(v.length);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = v[i * c + j];
    return out;
  });
}
