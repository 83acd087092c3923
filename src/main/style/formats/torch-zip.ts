import { unzipSync } from 'fflate';
import { AppError } from '../../../shared/errors';
import type { FloatTensor } from './safetensors';
import { PickleTuple, readRestrictedPickle, type PickleValue, type TensorRef } from './torch-pickle';
import { gatherTensorView, STORAGE_DTYPE_BYTES, storageToFloat32 } from './torch-storage';

/**
 * Reads a `torch.save` zip (`<archive>/data.pkl` + `<archive>/data/<key>` storages) into a flat map of float32
 * tensors, via the restricted pickle reader. Nested dicts are flattened with dotted keys; plain scalars and
 * strings are returned separately. Nothing in the file is executed.
 */

export interface TorchFileContents {
  tensors: Map<string, FloatTensor>;
  scalars: Map<string, string | number | boolean | null>;
}

/** Embeddings are kilobytes; refuse to inflate anything absurd (zip bombs). */
const MAX_ENTRY_BYTES = 256 * 1024 * 1024;

function invalid(source: string, message: string): never {
  throw new AppError('style.embedding_file_invalid', `${source}: ${message}`);
}

export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** Parses the bytes of a torch zip file; `source` names the file in errors. */
export function readTorchZip(bytes: Uint8Array, source: string): TorchFileContents {
  if (!looksLikeZip(bytes)) {
    invalid(source, 'not a zip archive; only torch.save files from torch ≥ 1.6 (zip format) can be imported');
  }
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, {
      filter: (f) => {
        if (f.originalSize > MAX_ENTRY_BYTES) invalid(source, `zip entry ${f.name} is ${f.originalSize} bytes, too large for an embedding`);
        return /(^|\/)(data\.pkl|byteorder|data\/[A-Za-z0-9_]+)$/.test(f.name);
      },
    });
  } catch (err) {
    if (err instanceof AppError) throw err;
    invalid(source, `cannot read the zip archive (${(err as Error).message})`);
  }
  const pklNames = Object.keys(entries).filter((n) => /^[^/]+\/data\.pkl$/.test(n) || n === 'data.pkl');
  if (pklNames.length !== 1) invalid(source, `expected one <archive>/data.pkl in the zip, found ${pklNames.length}`);
  const prefix = pklNames[0].slice(0, -'data.pkl'.length);
  const byteorder = entries[`${prefix}byteorder`];
  if (byteorder && new TextDecoder().decode(byteorder).trim() !== 'little') {
    invalid(source, 'big-endian torch files are not supported');
  }

  const root = readRestrictedPickle(entries[pklNames[0]], source);
  if (!(root instanceof Map)) invalid(source, 'the pickle does not hold a dictionary');

  const storages = new Map<string, Float32Array>();
  const loadStorage = (t: TensorRef): void => {
    const { key, dtype, numel } = t.storage;
    if (storages.has(key)) return;
    const raw = entries[`${prefix}data/${key}`];
    if (!raw) invalid(source, `storage data/${key} referenced by the pickle is missing from the zip`);
    if (raw.length < numel * STORAGE_DTYPE_BYTES[dtype]) {
      invalid(source, `storage data/${key} has ${raw.length} bytes, fewer than ${numel} ${dtype} values need`);
    }
    storages.set(key, storageToFloat32(raw.subarray(0, numel * STORAGE_DTYPE_BYTES[dtype]), dtype));
  };

  const tensors = new Map<string, FloatTensor>();
  const scalars = new Map<string, string | number | boolean | null>();
  const walk = (value: PickleValue, path: string): void => {
    if (value instanceof Map) {
      for (const [k, v] of value) {
        if (typeof k !== 'string' && typeof k !== 'number') invalid(source, `a dictionary key under "${path}" is not a string`);
        walk(v, path ? `${path}.${k}` : String(k));
      }
    } else if (value !== null && typeof value === 'object' && (value as { kind?: string }).kind === 'tensor') {
      loadStorage(value as TensorRef);
      tensors.set(path, gatherTensorView(value as TensorRef, storages.get((value as TensorRef).storage.key) as Float32Array, (m) => invalid(source, m)));
    } else if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) {
      scalars.set(path, value as string | number | boolean | null);
    } else if (value instanceof PickleTuple || Array.isArray(value)) {
      invalid(source, `"${path}" holds a list or tuple; expected a tensor`);
    } else {
      invalid(source, `"${path}" holds an unsupported value`);
    }
  };
  walk(root, '');
  return { tensors, scalars };
}
