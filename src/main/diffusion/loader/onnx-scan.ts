import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AppError } from '../../../shared/errors';

/**
 * A streaming pre-flight check of an .onnx file: walks the protobuf without loading weights (raw_data is skipped by
 * offset) so a multi-GB UNet costs a few reads. It finds truncation, missing/short external data files and the
 * operator set, so the loader can say which file is broken and how before onnxruntime gives a generic message.
 */

export interface OnnxScan {
  file: string;
  opsetByDomain: Record<string, number>;
  /** "domain:OpType" for non-default domains, "OpType" otherwise, with counts. */
  opCounts: Record<string, number>;
  /** External data files referenced by initializers (relative to the model's folder). */
  externalFiles: string[];
}

class FileReader {
  private readonly fd: number;
  readonly size: number;
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    this.size = statSync(path).size;
  }

  close(): void {
    closeSync(this.fd);
  }

  byte(pos: number): number {
    if (pos < this.windowStart || pos >= this.windowStart + this.window.length) {
      const len = Math.min(1 << 20, this.size - pos);
      if (len <= 0) throw new TruncatedError(pos);
      this.window = Buffer.alloc(len);
      readSync(this.fd, this.window, 0, len, pos);
      this.windowStart = pos;
    }
    return this.window[pos - this.windowStart];
  }

  bytes(pos: number, len: number): Buffer {
    if (pos + len > this.size) throw new TruncatedError(pos + len);
    const out = Buffer.alloc(len);
    readSync(this.fd, out, 0, len, pos);
    return out;
  }
}

class TruncatedError extends Error {
  constructor(readonly at: number) {
    super(`needs byte ${at}`);
  }
}

interface Field {
  no: number;
  wire: number;
  /** varint value, or start offset of a length-delimited payload */
  value: number;
  len: number;
}

function varint(r: FileReader, pos: number): [number, number] {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    const b = r.byte(pos + i);
    result += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) return [result, pos + i + 1];
  }
  throw new Error('varint too long');
}

/** Iterates the fields of the message occupying [start, end). */
function* fields(r: FileReader, start: number, end: number): Generator<Field> {
  let pos = start;
  while (pos < end) {
    const [key, p1] = varint(r, pos);
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      const [value, p2] = varint(r, p1);
      yield { no, wire, value, len: 0 };
      pos = p2;
    } else if (wire === 2) {
      const [len, p2] = varint(r, p1);
      if (p2 + len > r.size) throw new TruncatedError(p2 + len);
      yield { no, wire, value: p2, len };
      pos = p2 + len;
    } else if (wire === 1) pos = p1 + 8;
    else if (wire === 5) pos = p1 + 4;
    else throw new Error(`unsupported wire type ${wire} at byte ${pos}`);
  }
  if (pos > end) throw new TruncatedError(pos);
}

function str(r: FileReader, f: Field): string {
  return r.bytes(f.value, f.len).toString('utf8');
}

export function scanOnnxFile(path: string): OnnxScan {
  if (!existsSync(path)) throw new AppError('diffusion.model_incomplete', `${path}: file is missing`, { path });
  const r = new FileReader(path);
  const scan: OnnxScan = { file: path, opsetByDomain: {}, opCounts: {}, externalFiles: [] };
  const external = new Map<string, number>(); // file -> bytes needed
  try {
    if (r.size === 0) throw new TruncatedError(0);
    let sawGraph = false;
    for (const f of fields(r, 0, r.size)) {
      if (f.no === 8 && f.wire === 2) {
        let domain = '';
        let version = 0;
        for (const g of fields(r, f.value, f.value + f.len)) {
          if (g.no === 1 && g.wire === 2) domain = str(r, g);
          if (g.no === 2 && g.wire === 0) version = g.value;
        }
        scan.opsetByDomain[domain || 'ai.onnx'] = version;
      } else if (f.no === 7 && f.wire === 2) {
        sawGraph = true;
        for (const g of fields(r, f.value, f.value + f.len)) {
          if (g.no === 1 && g.wire === 2) {
            let op = '';
            let domain = '';
            for (const h of fields(r, g.value, g.value + g.len)) {
              if (h.no === 4 && h.wire === 2) op = str(r, h);
              if (h.no === 7 && h.wire === 2) domain = str(r, h);
            }
            const key = domain && domain !== 'ai.onnx' ? `${domain}:${op}` : op;
            scan.opCounts[key] = (scan.opCounts[key] ?? 0) + 1;
          } else if (g.no === 5 && g.wire === 2) {
            let location = '';
            let offset = 0;
            let length = 0;
            for (const h of fields(r, g.value, g.value + g.len)) {
              if (h.no !== 13 || h.wire !== 2) continue;
              let k = '';
              let v = '';
              for (const e of fields(r, h.value, h.value + h.len)) {
                if (e.no === 1) k = str(r, e);
                if (e.no === 2) v = str(r, e);
              }
              if (k === 'location') location = v;
              if (k === 'offset') offset = Number(v);
              if (k === 'length') length = Number(v);
            }
            if (location) external.set(location, Math.max(external.get(location) ?? 0, offset + length));
          }
        }
      }
    }
    if (!sawGraph) throw new AppError('diffusion.model_invalid', `${path}: not an ONNX model (no graph found)`, { path });
  } catch (err) {
    if (err instanceof TruncatedError) {
      if (r.size === 0) {
        throw new AppError('diffusion.model_truncated', `${path}: the file is empty (0 bytes); copy or convert the model again`, { path, size: 0, needed: 1 });
      }
      // A read that stops exactly at the end means the file ends inside a field: at least one more byte is needed.
      const needed = Math.max(err.at, r.size + 1);
      throw new AppError('diffusion.model_truncated',
        `${path}: file is truncated (${r.size} bytes; its own structure needs at least ${needed} bytes); copy or convert the model again`, {
          path,
          size: r.size,
          needed,
        });
    }
    if (err instanceof AppError) throw err;
    throw new AppError('diffusion.model_invalid', `${path}: not a readable ONNX protobuf (${(err as Error).message})`, { path });
  } finally {
    r.close();
  }
  for (const [location, needed] of external) {
    const full = join(dirname(path), location);
    if (!existsSync(full)) {
      throw new AppError('diffusion.external_data_missing', `${path}: external weights file ${location} is missing (expected at ${full})`, {
        path,
        externalFile: full,
      });
    }
    const size = statSync(full).size;
    if (size < needed) {
      throw new AppError('diffusion.model_truncated', `${full}: external weights file is truncated (${size} bytes, ${path} needs ${needed})`, {
        path: full,
        size,
        needed,
      });
    }
    scan.externalFiles.push(location);
  }
  return scan;
}

/** Fused com.microsoft ops from ORT's SD optimizer that have no CPU kernel (diffusers.js issue #18). */
const GPU_ONLY_CONTRIB_OPS = ['BiasSplitGelu', 'BiasAdd', 'GroupNorm', 'SkipGroupNorm', 'NhwcConv'];

/** The ops in `scan` the given provider is known not to run, or [] when none is known. */
export function unsupportedOps(scan: OnnxScan, provider: string): string[] {
  if (provider !== 'cpu') return [];
  return Object.keys(scan.opCounts).filter((key) => {
    const [domain, op] = key.includes(':') ? key.split(':') : ['', key];
    return domain === 'com.microsoft' && GPU_ONLY_CONTRIB_OPS.includes(op);
  });
}
