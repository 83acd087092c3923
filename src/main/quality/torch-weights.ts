import { readFileSync } from 'node:fs';
import { AppError } from '../../shared/errors';
import { readTorchZip, looksLikeZip } from '../style/formats/torch-zip';
import { readRestrictedPickleAt, type PickleValue, type StorageDtype, type TensorRef } from '../style/formats/torch-pickle';
import { gatherTensorView, STORAGE_DTYPE_BYTES, storageToFloat32 } from '../style/formats/torch-storage';
import type { FloatTensor } from '../style/formats/safetensors';

/**
 * A `torch.save` state dict as float32 tensors by key, in either container:
 *  - the zip format (torch ≥ 1.6; torchvision's AlexNet weights) via the style importer's reader;
 *  - the legacy format (lpips' `alex.pth`): five pickles back to back — magic number, protocol version, system
 *    info, the state dict (storages as persistent ids), the storage keys in file order — then each storage as an
 *    8-byte little-endian element count and its raw little-endian bytes.
 * Both go through the restricted pickle reader; nothing in the file is executed.
 */

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

function invalid(source: string, message: string): never {
  throw new AppError('quality.model_invalid', `${source}: ${message}`, { file: source });
}

function readLegacy(bytes: Uint8Array, source: string): Map<string, FloatTensor> {
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
    const length = count * STORAGE_DTYPE_BYTES[dtype];
    if (count < 0 || pos + length > bytes.length) invalid(source, `storage ${key} runs past the end of the file`);
    storages.set(key, storageToFloat32(bytes.subarray(pos, pos + length), dtype));
    pos += length;
  }
  const out = new Map<string, FloatTensor>();
  for (const [k, r] of refs) {
    const data = storages.get(r.storage.key);
    if (!data) invalid(source, `tensor ${k} refers to a storage that is not in the file`);
    out.set(k, gatherTensorView(r, data, (m) => invalid(source, m)));
  }
  return out;
}

/** Every float tensor of a torch.save state dict (zip or legacy format), by key. */
export function readTorchStateDict(path: string): Map<string, FloatTensor> {
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
export function requireTensor(tensors: Map<string, FloatTensor>, key: string, shape: number[] | null, source: string): FloatTensor {
  const t = tensors.get(key);
  if (!t) invalid(source, `tensor "${key}" is missing`);
  if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
    invalid(source, `tensor "${key}" has shape [${t.shape}], expected [${shape}]`);
  }
  return t;
}
