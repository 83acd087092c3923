import { closeSync, openSync, readSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import { DataType, type TensorProto } from './types';

/** Values of a tensor in JS form: int64 as plain numbers, bool/uint8 as Uint8Array. */
export interface TensorValue {
  dtype: number;
  dims: number[];
  data: Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array | number[];
}

export function bytesPerElement(dtype: number): number {
  switch (dtype) {
    case DataType.FLOAT:
    case DataType.INT32:
    case 12: // UINT32
      return 4;
    case DataType.DOUBLE:
    case DataType.INT64:
    case 13: // UINT64
      return 8;
    case DataType.FLOAT16:
    case 16: // BFLOAT16
    case 4: // UINT16
    case 5: // INT16
      return 2;
    case DataType.UINT8:
    case DataType.INT8:
    case DataType.BOOL:
      return 1;
    default:
      throw new AppError('onnx_unsupported_dtype', `tensor data type ${dtype} has no fixed element size`);
  }
}

export function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function isFloatType(dtype: number | undefined): boolean {
  return dtype === DataType.FLOAT || dtype === DataType.DOUBLE || dtype === DataType.FLOAT16 || dtype === 16;
}

export function externalDataEntry(t: TensorProto, key: string): string | undefined {
  return t.externalData.find((e) => e.key === key)?.value;
}

export function isExternal(t: TensorProto): boolean {
  return t.dataLocation === 1;
}

/** Reads `length` bytes at `offset` of an external data file. */
function readFileRange(path: string, offset: number, length: number): Uint8Array {
  const out = Buffer.allocUnsafe(length);
  const fd = openSync(path, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = readSync(fd, out, done, length - done, offset + done);
      if (n === 0) throw new AppError('onnx_external_data_truncated', `external data file ${path} ends before offset ${offset + length}`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** Where an external tensor's bytes live. */
export function externalLocation(t: TensorProto, baseDir: string): { path: string; offset: number; length: number } {
  const location = externalDataEntry(t, 'location');
  if (!location) throw new AppError('onnx_external_data_invalid', `tensor "${t.name}" is marked external but has no location`);
  const path = isAbsolute(location) ? location : resolve(baseDir, location);
  const offset = Number(externalDataEntry(t, 'offset') ?? 0);
  const lengthText = externalDataEntry(t, 'length');
  const length = lengthText !== undefined ? Number(lengthText) : numel(t.dims) * bytesPerElement(t.dataType ?? 0);
  return { path, offset, length };
}

/** The tensor's little-endian bytes, whether stored in raw_data, external data or the typed fields. */
export function tensorBytes(t: TensorProto, baseDir: string): Uint8Array {
  if (isExternal(t)) {
    const loc = externalLocation(t, baseDir);
    return readFileRange(loc.path, loc.offset, loc.length);
  }
  if (t.rawData && t.rawData.byteLength > 0) return t.rawData;
  const dtype = t.dataType ?? 0;
  const n = numel(t.dims);
  const buf = Buffer.alloc(n * bytesPerElement(dtype));
  switch (dtype) {
    case DataType.FLOAT:
      for (let i = 0; i < n; i++) buf.writeFloatLE(t.floatData[i] ?? 0, i * 4);
      break;
    case DataType.DOUBLE:
      for (let i = 0; i < n; i++) buf.writeDoubleLE(t.doubleData[i] ?? 0, i * 8);
      break;
    case DataType.INT64:
      for (let i = 0; i < n; i++) buf.writeBigInt64LE(clampToInt64(t.int64Data[i] ?? 0), i * 8);
      break;
    case 13:
      for (let i = 0; i < n; i++) buf.writeBigUInt64LE(BigInt(Math.max(0, Math.round(t.uint64Data[i] ?? 0))), i * 8);
      break;
    case DataType.INT32:
      for (let i = 0; i < n; i++) buf.writeInt32LE(t.int32Data[i] ?? 0, i * 4);
      break;
    case DataType.UINT8:
    case DataType.BOOL:
      for (let i = 0; i < n; i++) buf.writeUInt8((t.int32Data[i] ?? 0) & 0xff, i);
      break;
    case DataType.INT8:
      for (let i = 0; i < n; i++) buf.writeInt8(t.int32Data[i] ?? 0, i);
      break;
    case DataType.FLOAT16:
    case 16:
    case 4:
      for (let i = 0; i < n; i++) buf.writeUInt16LE((t.int32Data[i] ?? 0) & 0xffff, i * 2);
      break;
    case 5:
      for (let i = 0; i < n; i++) buf.writeInt16LE(t.int32Data[i] ?? 0, i * 2);
      break;
    default:
      throw new AppError('onnx_unsupported_dtype', `tensor "${t.name}" has unsupported data type ${dtype}`);
  }
  return buf;
}

function clampToInt64(v: number): bigint {
  if (v >= 9.223372036854776e18) return 9223372036854775807n;
  if (v <= -9.223372036854776e18) return -9223372036854775808n;
  return BigInt(Math.round(v));
}

function aligned(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Decodes a tensor into JS values (int64 become numbers; values beyond ±2^53 lose precision, which shape math never needs). */
export function tensorValue(t: TensorProto, baseDir: string): TensorValue {
  const dtype = t.dataType ?? 0;
  const bytes = tensorBytes(t, baseDir);
  return { dtype, dims: [...t.dims], data: bytesToData(dtype, bytes) };
}

export function bytesToData(dtype: number, bytes: Uint8Array): TensorValue['data'] {
  const buf = aligned(bytes);
  switch (dtype) {
    case DataType.FLOAT:
      return new Float32Array(buf);
    case DataType.DOUBLE:
      return new Float64Array(buf);
    case DataType.INT32:
      return new Int32Array(buf);
    case DataType.INT64:
      return Array.from(new BigInt64Array(buf), (v) => Number(v));
    case DataType.UINT8:
    case DataType.BOOL:
      return new Uint8Array(buf);
    case DataType.INT8:
      return new Int8Array(buf);
    default:
      throw new AppError('onnx_unsupported_dtype', `cannot decode tensor data type ${dtype} into JS values`);
  }
}

export function dataToBytes(dtype: number, data: ArrayLike<number>): Uint8Array {
  const n = data.length;
  const buf = Buffer.alloc(n * bytesPerElement(dtype));
  for (let i = 0; i < n; i++) {
    const v = data[i];
    switch (dtype) {
      case DataType.FLOAT:
        buf.writeFloatLE(v, i * 4);
        break;
      case DataType.DOUBLE:
        buf.writeDoubleLE(v, i * 8);
        break;
      case DataType.INT32:
        buf.writeInt32LE(v, i * 4);
        break;
      case DataType.INT64:
        buf.writeBigInt64LE(clampToInt64(v), i * 8);
        break;
      case DataType.UINT8:
      case DataType.BOOL:
        buf.writeUInt8(v ? v & 0xff : 0, i);
        break;
      case DataType.INT8:
        buf.writeInt8(v, i);
        break;
      default:
        throw new AppError('onnx_unsupported_dtype', `cannot encode JS values as tensor data type ${dtype}`);
    }
  }
  return buf;
}

/** A new initializer/attribute tensor holding `data` in raw_data. */
export function makeTensor(name: string, dtype: number, dims: readonly number[], data: ArrayLike<number>): TensorProto {
  if (data.length !== numel(dims)) {
    throw new AppError('onnx_tensor_size', `tensor "${name}": ${data.length} values do not fill dims [${dims.join(', ')}]`);
  }
  return emptyTensor({ name, dataType: dtype, dims: [...dims], rawData: dataToBytes(dtype, data) });
}

export function emptyTensor(fields: Partial<TensorProto>): TensorProto {
  return {
    dims: [],
    floatData: [],
    int32Data: [],
    stringData: [],
    int64Data: [],
    doubleData: [],
    uint64Data: [],
    externalData: [],
    ...fields,
  };
}
