import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AppError } from '../../shared/errors';
import { writeFileAtomic } from '../util/atomic-write';
import { modelProtoType, plainObjectOptions } from './proto';
import { bytesPerElement, externalLocation, isExternal, numel, tensorBytes } from './tensor';
import type { ModelProto, OnnxModel, TensorProto } from './types';

/**
 * Loads an .onnx file. Initializers stored as external data (`weights.pb`, `model.onnx_data`, any `location`)
 * stay on disk and are read on demand relative to the model's folder.
 */
export function loadModel(path: string): OnnxModel {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new AppError('onnx_model_unreadable', `cannot read ONNX model ${path}: ${(err as Error).message}`, { path });
  }
  return { proto: decodeModel(bytes, path), baseDir: dirname(resolve(path)) };
}

export function decodeModel(bytes: Uint8Array, label = '<bytes>'): ModelProto {
  const type = modelProtoType();
  let proto: ModelProto;
  try {
    proto = type.toObject(type.decode(bytes), plainObjectOptions) as unknown as ModelProto;
  } catch (err) {
    throw new AppError('onnx_model_invalid', `${label} is not a valid ONNX ModelProto: ${(err as Error).message}`, { path: label });
  }
  if (!proto.graph) throw new AppError('onnx_model_invalid', `${label} has no graph`, { path: label });
  normalizeGraphArrays(proto);
  return proto;
}

/** toObject leaves absent repeated fields inside nested messages undefined in some cases; make them arrays. */
function normalizeGraphArrays(proto: ModelProto): void {
  const g = proto.graph;
  g.node ??= [];
  g.initializer ??= [];
  g.input ??= [];
  g.output ??= [];
  g.valueInfo ??= [];
  proto.opsetImport ??= [];
  for (const n of g.node) {
    n.input ??= [];
    n.output ??= [];
    n.attribute ??= [];
    for (const a of n.attribute) {
      a.ints ??= [];
      a.floats ??= [];
      a.strings ??= [];
      a.tensors ??= [];
      a.graphs ??= [];
      if (a.t) fixTensorArrays(a.t);
    }
  }
  for (const t of g.initializer) fixTensorArrays(t);
}

function fixTensorArrays(t: TensorProto): void {
  t.dims ??= [];
  t.floatData ??= [];
  t.int32Data ??= [];
  t.stringData ??= [];
  t.int64Data ??= [];
  t.doubleData ??= [];
  t.uint64Data ??= [];
  t.externalData ??= [];
}

export function encodeModel(proto: ModelProto): Uint8Array {
  const type = modelProtoType();
  return type.encode(type.fromObject(proto as unknown as Record<string, unknown>)).finish();
}

export interface SaveOptions {
  /**
   * Store large initializers in a side file. `true`/object: always; `false`: inline everything (fails above 2 GB);
   * default: external when the source had external data or the weights exceed 1.5 GB.
   */
  externalData?: boolean | { location?: string; sizeThreshold?: number };
}

const PROTOBUF_LIMIT = 2 ** 31 - 1;

/** Saves the model; with external data the side file is written next to `path` (atomically, like the .onnx). */
export function saveModel(model: OnnxModel, path: string, options: SaveOptions = {}): void {
  const g = model.proto.graph;
  const totalBytes = g.initializer.reduce((s, t) => s + tensorByteLength(t), 0);
  const wantExternal =
    options.externalData === undefined
      ? totalBytes > 1.5e9 || g.initializer.some(isExternal)
      : options.externalData !== false;
  const ext = typeof options.externalData === 'object' ? options.externalData : {};
  const location = ext.location ?? `${basename(path)}_data`;
  const threshold = ext.sizeThreshold ?? 1024;
  const dataPath = resolve(dirname(path), location);

  let initializers: TensorProto[];
  let tmpData: string | undefined;
  if (wantExternal) {
    mkdirSync(dirname(dataPath), { recursive: true });
    tmpData = resolve(dirname(dataPath), `.${basename(dataPath)}.${randomBytes(6).toString('hex')}.tmp`);
    const fd = openSync(tmpData, 'w');
    let offset = 0;
    try {
      initializers = g.initializer.map((t) => {
        const length = tensorByteLength(t);
        if (length < threshold) return inlineTensor(t, model.baseDir);
        const align = length >= 1 << 20 ? 4096 : 64;
        const start = Math.ceil(offset / align) * align;
        if (start > offset) writeAll(fd, Buffer.alloc(start - offset), offset);
        const bytes = tensorBytes(t, model.baseDir);
        writeAll(fd, bytes, start);
        offset = start + bytes.byteLength;
        return {
          ...t,
          rawData: undefined,
          floatData: [],
          int32Data: [],
          int64Data: [],
          doubleData: [],
          uint64Data: [],
          dataLocation: 1,
          externalData: [
            { key: 'location', value: location },
            { key: 'offset', value: String(start) },
            { key: 'length', value: String(bytes.byteLength) },
          ],
        };
      });
      fsyncSync(fd);
    } catch (err) {
      closeSync(fd);
      rmSync(tmpData, { force: true });
      throw err;
    }
    closeSync(fd);
  } else {
    initializers = g.initializer.map((t) => inlineTensor(t, model.baseDir));
  }
  const out: ModelProto = { ...model.proto, graph: { ...g, initializer: initializers } };
  const bytes = encodeModel(out);
  if (bytes.byteLength > PROTOBUF_LIMIT) {
    if (tmpData) rmSync(tmpData, { force: true });
    throw new AppError('onnx_model_too_large', `model for ${path} is ${bytes.byteLength} bytes inline; save it with external data`, { path });
  }
  if (tmpData) renameSync(tmpData, dataPath);
  writeFileAtomic(path, bytes);
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done, position + done);
}

function tensorByteLength(t: TensorProto): number {
  if (isExternal(t)) return externalLocation(t, '.').length;
  if (t.rawData && t.rawData.byteLength > 0) return t.rawData.byteLength;
  try {
    return numel(t.dims) * bytesPerElement(t.dataType ?? 0);
  } catch {
    return 0;
  }
}

/** A copy of the tensor with its bytes in raw_data (reads external data now). */
function inlineTensor(t: TensorProto, baseDir: string): TensorProto {
  if (!isExternal(t)) return t;
  return { ...t, rawData: tensorBytes(t, baseDir), dataLocation: 0, externalData: [] };
}

/** Reads every external initializer into memory so the model no longer depends on files it came from. */
export function materializeExternalData(model: OnnxModel): void {
  const g = model.proto.graph;
  g.initializer = g.initializer.map((t) => inlineTensor(t, model.baseDir));
}
