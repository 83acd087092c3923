import { readFileSync } from 'node:fs';
import { AppError } from '../../shared/errors';
import { bfloat16ToFloat32, float16ToFloat32, readFloat32LE, readFloat64LEAsFloat32, readUint16LE } from '../style/formats/dtypes';
import { readTorchZip, looksLikeZip } from '../style/formats/torch-zip';
import { readRestrictedPickleAt, type PickleValue, type StorageDtype, type TensorRef } from '../style/formats/torch-pickle';
import type { WeightTensor } from './safetensors-weights';

/**
 * A `torch.save` state dict as float32 tensors by key, in either container:
 *  - the zip format (torch ≥ 1.6; torchvision's AlexNet weights) via the style importer's reader;
 *  - the legacy format (lpips' `alex.pth`): five pickles back to back — magic number, protocol version, system
 *    info, the state dict (storages as persistent ids), the storage keys in file order — then each storage as an
 *    8-byte little-endian element count and its raw little-endian bytes.
 * Both go through the restricted pickle reader; nothing in the file is executed.
 */

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const BYTES_PER: Record<StorageDtype, number> = { bfloat16: 2, float16: 2, float32: 4, float64: 8 };

function invalid(source: string, message: string): never {
  throw new AppError('quality.model_invalid', `${source}: ${message}`, { file: source });
}

function toFloat32(raw: Uint8Array, dtype: StorageDtype): Float32Array {
  if (dtype === 'float32') return readFloat32LE(raw);
  if (dtype === 'float64') return readFloat64LEAsFloat32(raw);
  const words = readUint16LE(raw);
  return dtype === 'bfloat16' ? bfloat16ToFloat32(words) : float16ToFloat32(words);
}

/** Dense row-major copy of a strided view. */
function gather(t: TensorRef, data: Float32Array, source: string): WeightTensor {
  const count = t.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(count);
  let maxOffset = t.offset;
  for (let d = 0; d < t.shape.length; d++) maxOffset += (t.shape[d] - 1) * t.stride[d];
  if (count > 0 && maxOffset >= data.length) invalid(source, `a tensor view reaches element ${maxOffset} of a ${data.length}-element storage`);
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

function readLegacy(bytes: Uint8Array, source: string): Map<string, WeightTensor> {
  let pos = 0;
  const next = (): PickleValue => {
    const r = readRestrictedPickleAt(bytes, pos, source);
    pos = r.end;
    return r.value;
  };
  // The magic number is a 10-byte LONG1 (too wide for the pickle reader's integers): compare its bytes.
  if (bytes.length < 15 || bytes[2] !== 0x8a || bytes[3] !== 10 || bytes[14] !== 0x2e) invalid(source, 'not a torch.save file (no magic number)');
  let magic = 0n;
  for (let i = 13; i >= 4; i--) magic = (magic << 8n) | BigInt(bytes[i]);
  if (magic !== LEGACY_MAGIC) invalid(source, 'not a torch.save file (wrong magic number)');
  pos = 15;
  next(); // protocol version
  next(); // system info (endianness, type sizes)
  const root = next();
  const keys = next();
  if (!(root instanceof Map)) invalid(source, 'the saved object is not a state dict');
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) invalid(source, 'the storage key list is malformed');

  const refs = new Map<string, TensorRef>();
  for (const [k, v] of root as Map<PickleValue, PickleValue>) {
    if (typeof k === 'string' && v && typeof v === 'object' && (v as TensorRef).kind === 'tensor') refs.set(k, v as TensorRef);
  }
  const dtypeOf = new Map<string, StorageDtype>();
  for (const r of refs.values()) dtypeOf.set(r.storage.key, r.storage.dtype);

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storages = new Map<string, Float32Array>();
  for (const key of keys as string[]) {
    if (pos + 8 > bytes.length) invalid(source, `truncated before storage ${key}`);
    const count = Number(view.getBigInt64(pos, true));
    pos += 8;
    const dtype = dtypeOf.get(key);
    if (!dtype) invalid(source, `storage ${key} is not referenced by any tensor`);
    const length = count * BYTES_PER[dtype];
    if (count < 0 || pos + length > bytes.length) invalid(source, `storage ${key} runs past the end of the file`);
    storages.set(key, toFloat32(bytes.subarray(pos, pos + length), dtype));
    pos += length;
  }
  const out = new Map<string, WeightTensor>();
  for (const [k, r] of refs) {
    const data = storages.get(r.storage.key);
    if (!data) invalid(source, `tensor ${k} refers to a storage that is not in the file`);
    out.set(k, gather(r, data, source));
  }
  return out;
}

/** Every float tensor of a torch.save state dict (zip or legacy format), by key. */
export function readTorchStateDict(path: string): Map<string, WeightTensor> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new AppError('quality.model_missing', `${path}: cannot read (${(err as Error).message})`, { file: path });
  }
  if (looksLikeZip(bytes)) return readTorchZip(bytes, path).tensors;
  if (bytes[0] === 0x80) return readLegacy(bytes, path);
  return invalid(path, 'neither a torch zip nor a legacy torch.save file');
}

/** The tensor `key` with the expected shape, or an error naming file, key and shapes. */
export function requireTensor(tensors: Map<string, WeightTensor>, key: string, shape: number[] | null, source: string): WeightTensor {
  const t = tensors.get(key);
  if (!t) invalid(source, `tensor "${key}" is missing`);
  if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
    invalid(source, `tensor "${key}" has shape [${t.shape}], expected [${shape}]`);
  }
  return t;
}
