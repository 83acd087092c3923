import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { AppError } from '../../../shared/errors';
import { parseSafetensorsHeader, safetensorsHeaderLength, type SafetensorsEntry } from '../../style/formats/safetensors';
import { widenToFloat32, type WideningDtype } from './widen';

/**
 * A safetensors file opened for positioned reads: only the header is parsed up front (and validated against the
 * file size: offsets in range, no gaps or overlaps, sizes = numel × dtype size, not truncated); each tensor's bytes
 * are read from disk when asked for, so memory holds one tensor at a time, never the file.
 */

export const MODEL_FILE_INVALID = 'model.source_invalid';
const IS_LE = endianness() === 'LE';

export interface TensorEntry extends SafetensorsEntry {
  /** The file holding it, for error messages. */
  file: string;
}

export class SafetensorsFile {
  private scratch = Buffer.alloc(0);
  private scratchBusy = false;

  private constructor(
    readonly path: string,
    readonly size: number,
    private handle: FileHandle | undefined,
    private readonly dataStart: number,
    readonly entries: Map<string, TensorEntry>,
    readonly metadata: Record<string, string>,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw new AppError('model.source_not_found', `${path}: cannot open (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { file: path });
    }
    try {
      const { size } = await handle.stat();
      const first = Buffer.alloc(8);
      await readFully(handle, first, 0, path);
      const headerLength = safetensorsHeaderLength(first, size, path, MODEL_FILE_INVALID);
      const json = Buffer.alloc(headerLength);
      await readFully(handle, json, 8, path);
      const dataStart = 8 + headerLength;
      const header = parseSafetensorsHeader(json, size - dataStart, path, MODEL_FILE_INVALID);
      const entries = new Map<string, TensorEntry>();
      for (const e of header.entries) entries.set(e.name, { ...e, file: path });
      return new SafetensorsFile(path, size, handle, dataStart, entries, header.metadata);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** The raw bytes of `entry`'s elements [start, start + count) (row-major), read by offset into `into` if given. */
  async readBytes(entry: TensorEntry, start = 0, count?: number, into?: Uint8Array): Promise<Uint8Array> {
    if (!this.handle) throw new AppError('model.source_closed', `${this.path}: already closed; cannot read "${entry.name}"`);
    const per = (entry.end - entry.begin) / Math.max(1, numel(entry.shape));
    const n = count ?? numel(entry.shape) - start;
    const buf = into ?? Buffer.allocUnsafe(n * per);
    await readFully(this.handle, buf.subarray(0, n * per), this.dataStart + entry.begin + start * per, this.path, entry.name);
    return buf;
  }

  /** `entry` (or its elements [start, start + count)) widened to float32. */
  async readFloat32(entry: TensorEntry, start = 0, count?: number): Promise<Float32Array> {
    const dtype = floatDtype(entry);
    const n = count ?? numel(entry.shape) - start;
    if (dtype === 'F32' && IS_LE) {
      // Read straight into the result: one buffer of the tensor's size, no copy.
      const out = new Float32Array(n);
      await this.readBytes(entry, start, n, new Uint8Array(out.buffer));
      return out;
    }
    // Other reads go through one reused scratch buffer (fresh memory costs page faults at gigabyte scale);
    // a read that overlaps another on this file takes its own.
    const bytes = n * (dtype === 'F32' ? 4 : 2);
    const reuse = !this.scratchBusy;
    if (reuse) {
      this.scratchBusy = true;
      if (this.scratch.length < bytes) this.scratch = Buffer.allocUnsafe(bytes);
    }
    try {
      const raw = await this.readBytes(entry, start, n, reuse ? this.scratch : undefined);
      return widenToFloat32(raw.subarray(0, bytes), dtype);
    } finally {
      if (reuse) this.scratchBusy = false;
    }
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close();
  }
}

/** Closes every file given (a ModelSource's `close`, and the clean-up when opening one fails). */
export async function closeAll(files: readonly SafetensorsFile[]): Promise<void> {
  await Promise.all(files.map((f) => f.close()));
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The entry's dtype when it is one the importer widens; otherwise an error naming file, tensor and dtype. */
export function floatDtype(entry: TensorEntry): WideningDtype {
  if (entry.dtype === 'F32' || entry.dtype === 'F16' || entry.dtype === 'BF16') return entry.dtype;
  throw new AppError(
    MODEL_FILE_INVALID,
    `${entry.file}: tensor "${entry.name}" is ${entry.dtype}; model weights must be F32, F16 or BF16`,
    { file: entry.file, tensor: entry.name, dtype: entry.dtype },
  );
}

async function readFully(handle: FileHandle, buf: Uint8Array, position: number, path: string, tensor?: string): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await handle.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) {
      throw new AppError(MODEL_FILE_INVALID, `${path}: file ended early${tensor ? ` while reading "${tensor}"` : ''} (truncated?)`, { file: path, tensor });
    }
    done += bytesRead;
  }
}
