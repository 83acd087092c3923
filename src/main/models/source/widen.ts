import { endianness } from 'node:os';
import { fromHalf } from '../../util/half-float';

/**
 * Widening of checkpoint tensor bytes to float32. Checkpoints run to gigabytes, so these are table- and
 * view-based rather than per-element DataView calls: F16 through a 65,536-entry lookup table, BF16 by shifting
 * the 16 bits into the top of a float32 word, F32 by copying (or viewing) the little-endian bytes.
 */

const IS_LE = endianness() === 'LE';
let halfTable: Float32Array | undefined;

function halfToFloat(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = fromHalf(h);
  }
  return halfTable;
}

function words16(bytes: Uint8Array): Uint16Array {
  const n = bytes.length >> 1;
  if (IS_LE && bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = bytes[2 * i] | (bytes[2 * i + 1] << 8);
  return out;
}

export type WideningDtype = 'F32' | 'F16' | 'BF16';

/** Little-endian `dtype` bytes → a fresh Float32Array (never a view of `bytes`, which callers may reuse). */
export function widenToFloat32(bytes: Uint8Array, dtype: WideningDtype): Float32Array {
  if (dtype === 'F32') {
    const n = bytes.length >> 2;
    if (IS_LE) {
      const out = new Float32Array(n);
      new Uint8Array(out.buffer).set(bytes.subarray(0, n * 4));
      return out;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return Float32Array.from({ length: n }, (_, i) => view.getFloat32(4 * i, true));
  }
  const w = words16(bytes);
  if (dtype === 'F16') {
    const table = halfToFloat();
    const out = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) out[i] = table[w[i]];
    return out;
  }
  const bits = new Uint32Array(w.length);
  for (let i = 0; i < w.length; i++) bits[i] = w[i] << 16;
  return new Float32Array(bits.buffer);
}
