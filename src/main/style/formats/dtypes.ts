import { fromHalf, toHalf } from '../../util/half-float';
/**
 * Conversions between the 16-bit float encodings used by embedding files and float32.
 * Embeddings are small (a few thousand values), so clarity beats speed here.
 */

/** bfloat16 is the upper half of a float32: shift the 16 bits into place. */
export function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
}

/** IEEE binary16 → float32, including subnormals, infinities and NaN. */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  return Float32Array.from(bits, fromHalf);
}

/** float32 → bfloat16 with round-to-nearest-even (what torch's `.to(torch.bfloat16)` does). */
export function float32ToBfloat16(values: Float32Array): Uint16Array {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const w = words[i];
    if ((w & 0x7f800000) === 0x7f800000 && w & 0x007fffff) {
      out[i] = (w >>> 16) | 0x40; // keep NaN a NaN
      continue;
    }
    const roundingBias = 0x7fff + ((w >>> 16) & 1);
    out[i] = ((w + roundingBias) >>> 16) & 0xffff;
  }
  return out;
}

/** float32 → IEEE binary16 with round-to-nearest-even; overflow becomes ±Infinity. */
export function float32ToFloat16(values: Float32Array): Uint16Array {
  return Uint16Array.from(values, toHalf);
}

/** Reads little-endian uint16 words from any byte range (no alignment requirement). */
export function readUint16LE(bytes: Uint8Array): Uint16Array {
  const out = new Uint16Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = bytes[2 * i] | (bytes[2 * i + 1] << 8);
  return out;
}

/** Reads little-endian float32 values from any byte range (no alignment requirement). */
export function readFloat32LE(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length >> 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

/** Reads little-endian float64 values and narrows them to float32. */
export function readFloat64LEAsFloat32(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length >> 3);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
  return out;
}

/** float32 values as little-endian bytes. */
export function float32ToBytesLE(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return out;
}

/** uint16 words as little-endian bytes. */
export function uint16ToBytesLE(words: Uint16Array): Uint8Array {
  const out = new Uint8Array(words.length * 2);
  for (let i = 0; i < words.length; i++) {
    out[2 * i] = words[i] & 0xff;
    out[2 * i + 1] = words[i] >> 8;
  }
  return out;
}
