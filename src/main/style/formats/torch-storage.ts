import { bfloat16ToFloat32, float16ToFloat32, readFloat32LE, readFloat64LEAsFloat32, readUint16LE } from './dtypes';
import type { FloatTensor } from './safetensors';
import type { StorageDtype, TensorRef } from './torch-pickle';

/**
 * Turning a `torch.save` file's raw storages and tensor views into dense float32 tensors: one place for both
 * containers (the zip reader here, and quality's legacy-format reader for lpips' `.pth` files).
 */

/** Bytes per element of each storage dtype the restricted pickle reader accepts. */
export const STORAGE_DTYPE_BYTES: Readonly<Record<StorageDtype, number>> = { bfloat16: 2, float16: 2, float32: 4, float64: 8 };

/** A storage's little-endian bytes as float32. */
export function storageToFloat32(raw: Uint8Array, dtype: StorageDtype): Float32Array {
  if (dtype === 'float32') return readFloat32LE(raw);
  if (dtype === 'float64') return readFloat64LEAsFloat32(raw);
  const words = readUint16LE(raw);
  return dtype === 'bfloat16' ? bfloat16ToFloat32(words) : float16ToFloat32(words);
}

/**
 * Dense row-major copy of the strided view `t` of its storage `data`. A view reaching past the storage is a
 * malformed file: `invalid` gets the message and must throw (each caller has its own error code).
 */
export function gatherTensorView(t: TensorRef, data: Float32Array, invalid: (message: string) => never): FloatTensor {
  const count = t.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(count);
  if (count === 0) return { shape: [...t.shape], data: out };
  let maxOffset = t.offset;
  for (let d = 0; d < t.shape.length; d++) maxOffset += (t.shape[d] - 1) * t.stride[d];
  if (maxOffset >= data.length) invalid(`tensor view reaches element ${maxOffset} of a ${data.length}-element storage`);
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let i = 0; i < count; i++) {
    let off = t.offset;
    for (let d = 0; d < idx.length; d++) off += idx[d] * t.stride[d];
    out[i] = data[off];
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < t.shape[d]) break;
      idx[d] = 0;
    }
  }
  return { shape: [...t.shape], data: out };
}
