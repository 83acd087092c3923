import { AppError } from '../../../shared/errors';
import {
  bfloat16ToFloat32,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToBytesLE,
  float32ToFloat16,
  readFloat32LE,
  readFloat64LEAsFloat32,
  readUint16LE,
  uint16ToBytesLE,
} from './dtypes';

/**
 * The safetensors container (huggingface/safetensors): an 8-byte little-endian header length, a JSON header
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { string: string } }`, then the raw
 * little-endian tensor bytes, offsets relative to the end of the header. Only float tensors are needed here;
 * everything is handed out as float32.
 */

export type SafetensorsFloatDtype = 'F32' | 'F16' | 'BF16' | 'F64';

export interface FloatTensor {
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, FloatTensor>;
  metadata: Record<string, string>;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const BYTES_PER: Record<SafetensorsFloatDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
const MAX_HEADER = 100 * 1024 * 1024;

function fail(source: string, message: string, details?: unknown): never {
  throw new AppError('style.embedding_file_invalid', `${source}: ${message}`, details);
}

/** True when the bytes start like a safetensors file (plausible header length followed by `{`). */
export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return n > 1 && n <= bytes.length - 8 && bytes[8] === 0x7b;
}

/** Parses a safetensors file; `source` names it in errors. Rejects overlapping or out-of-range data. */
export function readSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsFile {
  if (bytes.length < 8) fail(source, `file is ${bytes.length} bytes, too short for a safetensors header`);
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLen > MAX_HEADER || headerLen > bytes.length - 8) {
    fail(source, `header length ${headerLen} exceeds the file size ${bytes.length}`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (err) {
    fail(source, `header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail(source, 'header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, FloatTensor>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object') fail(source, '__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(source, `metadata "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const entry = raw as HeaderEntry;
    if (!entry || !Array.isArray(entry.shape) || !Array.isArray(entry.data_offsets)) {
      fail(source, `tensor "${name}" lacks shape or data_offsets`);
    }
    const dtype = entry.dtype as SafetensorsFloatDtype;
    if (!(dtype in BYTES_PER)) {
      fail(source, `tensor "${name}" has dtype ${String(entry.dtype)}; only F32, F16, BF16 and F64 embeddings are supported`);
    }
    const [begin, end] = entry.data_offsets;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (!entry.shape.every((d) => Number.isInteger(d) && d >= 0)) fail(source, `tensor "${name}" has an invalid shape`);
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end > dataLen || end - begin !== count * BYTES_PER[dtype]) {
      fail(source, `tensor "${name}" data_offsets [${begin}, ${end}] do not fit shape [${entry.shape}] ${dtype} in ${dataLen} data bytes`);
    }
    const slice = bytes.subarray(dataStart + begin, dataStart + end);
    let data: Float32Array;
    if (dtype === 'F32') data = readFloat32LE(slice);
    else if (dtype === 'F64') data = readFloat64LEAsFloat32(slice);
    else if (dtype === 'F16') data = float16ToFloat32(readUint16LE(slice));
    else data = bfloat16ToFloat32(readUint16LE(slice));
    tensors.set(name, { shape: [...entry.shape], data });
  }
  return { tensors, metadata };
}

export interface WriteOptions {
  /** Storage dtype for every tensor; float32 by default (lossless for our own files). */
  dtype?: 'F32' | 'F16' | 'BF16';
}

/** Serialises tensors (in insertion order) and string metadata into safetensors bytes. */
export function writeSafetensors(
  tensors: Map<string, FloatTensor>,
  metadata: Record<string, string> = {},
  options: WriteOptions = {},
): Uint8Array {
  const dtype = options.dtype ?? 'F32';
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new AppError('style.embedding_invalid', `tensor "${name}" has ${t.data.length} values but shape [${t.shape}]`);
    }
    const blob =
      dtype === 'F32'
        ? float32ToBytesLE(t.data)
        : uint16ToBytesLE(dtype === 'F16' ? float32ToFloat16(t.data) : float32ToBfloat16(t.data));
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + blob.length] };
    blobs.push(blob);
    offset += blob.length;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  const jsonBytesLen = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - ((8 + jsonBytesLen) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const blob of blobs) {
    out.set(blob, pos);
    pos += blob.length;
  }
  return out;
}
