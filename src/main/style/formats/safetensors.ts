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

const MAX_HEADER = 100 * 1024 * 1024;

/** Bytes per element of every dtype the safetensors format defines. */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, F8_E5M2: 1,
  I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

/** One tensor of a safetensors header; `begin`/`end` are relative to the start of the data section. */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** In header order. */
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
}

/** The header length word; throws (with `code`) when it cannot be a header of a `fileSize`-byte file. */
export function safetensorsHeaderLength(first8: Uint8Array, fileSize: number, source: string, code = 'style.embedding_file_invalid'): number {
  if (fileSize < 8 || first8.length < 8) throw new AppError(code, `${source}: file is ${fileSize} bytes, too short for a safetensors header`, { file: source });
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER) || Number(n) > fileSize - 8) {
    throw new AppError(code, `${source}: header length ${n} is not plausible for a ${fileSize}-byte file (truncated, or not a safetensors file)`, { file: source });
  }
  return Number(n);
}

/**
 * Parses and validates a safetensors JSON header against the size of the data section: every dtype known, every
 * shape a list of non-negative integers, every byte range exactly numel × dtype size, and the ranges tiling the data
 * section with no gap or overlap (the format's own rule). A data section shorter than the ranges need is reported as
 * a truncated file. `code` is the AppError code to throw; messages name the file and the tensor.
 */
export function parseSafetensorsHeader(json: Uint8Array, dataLength: number, source: string, code = 'style.embedding_file_invalid'): SafetensorsHeader {
  const fail = (message: string, details?: Record<string, unknown>): never => {
    throw new AppError(code, `${source}: ${message}`, { file: source, ...details });
  };
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (err) {
    fail(`header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object') fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`metadata "${k}" is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!entry || typeof entry !== 'object' || !Array.isArray(entry.shape) || !Array.isArray(entry.data_offsets) || entry.data_offsets.length !== 2) {
      fail(`tensor "${name}" lacks shape or data_offsets`, { tensor: name });
    }
    const shape = entry.shape as unknown[];
    if (!shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) fail(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`, { tensor: name });
    const dtype = String(entry.dtype);
    const per = SAFETENSORS_DTYPE_BYTES[dtype];
    if (per === undefined) fail(`tensor "${name}" has unknown dtype ${JSON.stringify(entry.dtype)}`, { tensor: name });
    const [begin, end] = entry.data_offsets as unknown[];
    if (typeof begin !== 'number' || typeof end !== 'number' || !Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin) {
      fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(entry.data_offsets)}`, { tensor: name });
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if ((end as number) - (begin as number) !== count * per) {
      fail(`tensor "${name}" claims ${(end as number) - (begin as number)} bytes (data_offsets [${begin}, ${end}]) but shape [${shape}] ${dtype} needs ${count * per}: the header lies about its sizes`, { tensor: name });
    }
    entries.push({ name, dtype, shape: shape as number[], begin: begin as number, end: end as number });
  }
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const e of byOffset) {
    if (e.begin > covered) fail(`tensor "${e.name}" starts at data byte ${e.begin}, leaving a gap after byte ${covered}`, { tensor: e.name });
    if (e.begin < covered) fail(`tensor "${e.name}" (data bytes ${e.begin}..${e.end}) overlaps the tensor before it (which ends at ${covered})`, { tensor: e.name });
    covered = e.end;
  }
  if (covered > dataLength) {
    const cut = byOffset.find((e) => e.end > dataLength) as SafetensorsEntry;
    fail(`file is truncated: the header needs ${covered} data bytes but only ${dataLength} are present (tensor "${cut.name}" is cut off)`, { tensor: cut.name, needed: covered, present: dataLength });
  }
  if (covered < dataLength) fail(`${dataLength - covered} bytes follow the last tensor's data; the header does not describe the whole file`);
  return { entries, metadata };
}

function fail(source: string, message: string, details?: unknown): never {
  throw new AppError('style.embedding_file_invalid', `${source}: ${message}`, details);
}

/** True when the bytes start like a safetensors file (plausible header length followed by `{`). */
export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return n > 1 && n <= bytes.length - 8 && bytes[8] === 0x7b;
}

/** A float tensor's little-endian bytes as float32; null for a dtype that is not F32, F16, BF16 or F64. */
export function decodeFloatTensorData(raw: Uint8Array, dtype: string): Float32Array | null {
  if (dtype === 'F32') return readFloat32LE(raw);
  if (dtype === 'F64') return readFloat64LEAsFloat32(raw);
  if (dtype === 'F16') return float16ToFloat32(readUint16LE(raw));
  if (dtype === 'BF16') return bfloat16ToFloat32(readUint16LE(raw));
  return null;
}

/** Parses a safetensors file held in memory; `source` names it in errors. Rejects overlapping or out-of-range data. */
export function readSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsFile {
  const headerLen = safetensorsHeaderLength(bytes.subarray(0, 8), bytes.length, source);
  const dataStart = 8 + headerLen;
  const { entries, metadata } = parseSafetensorsHeader(bytes.subarray(8, dataStart), bytes.length - dataStart, source);
  const tensors = new Map<string, FloatTensor>();
  for (const entry of entries) {
    const data = decodeFloatTensorData(bytes.subarray(dataStart + entry.begin, dataStart + entry.end), entry.dtype);
    if (!data) fail(source, `tensor "${entry.name}" has dtype ${entry.dtype}; only F32, F16, BF16 and F64 embeddings are supported`);
    tensors.set(entry.name, { shape: [...entry.shape], data });
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
