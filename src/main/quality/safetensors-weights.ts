import { readFileSync } from 'node:fs';
import { AppError } from '../../shared/errors';
import { bfloat16ToFloat32, float16ToFloat32, readFloat32LE, readFloat64LEAsFloat32, readUint16LE } from '../style/formats/dtypes';

/**
 * Float tensors of a model's safetensors file, by state-dict key. Integer buffers such as CLIP's
 * `position_ids` (I64) are listed but not decoded: the metric graphs never read them. Only the JSON header is
 * parsed; tensor bytes are decoded on first use.
 */

export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const FLOAT_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

export class SafetensorsWeights {
  private readonly entries = new Map<string, Entry>();
  private readonly dataStart: number;

  private constructor(private readonly bytes: Uint8Array, readonly source: string) {
    const bad = (why: string): never => {
      throw new AppError('quality.model_invalid', `${source}: ${why}`, { file: source });
    };
    if (bytes.length < 8) bad('too short for a safetensors header');
    const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    if (headerLen > bytes.length - 8) bad(`header length ${headerLen} exceeds the file size ${bytes.length}`);
    this.dataStart = 8 + headerLen;
    let header: Record<string, unknown> = {};
    try {
      header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
    } catch (err) {
      bad(`header is not JSON (${(err as Error).message})`);
    }
    for (const [key, value] of Object.entries(header)) {
      if (key === '__metadata__') continue;
      const e = value as Entry;
      const [begin, end] = e.data_offsets ?? [];
      if (!Array.isArray(e.shape) || typeof begin !== 'number' || typeof end !== 'number' || begin > end || this.dataStart + end > bytes.length) {
        bad(`tensor "${key}" has an invalid shape or data range`);
      }
      this.entries.set(key, e);
    }
  }

  static open(path: string): SafetensorsWeights {
    return new SafetensorsWeights(readFileSync(path), path);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** The tensor as float32; throws naming the file and key when it is missing or not a float tensor. */
  get(key: string): WeightTensor {
    const e = this.entries.get(key);
    if (!e) throw new AppError('quality.model_invalid', `${this.source}: tensor "${key}" is missing`, { file: this.source, key });
    const per = FLOAT_BYTES[e.dtype];
    if (!per) throw new AppError('quality.model_invalid', `${this.source}: tensor "${key}" has dtype ${e.dtype}, expected a float type`, { file: this.source, key });
    const count = e.shape.reduce((a, b) => a * b, 1);
    const raw = this.bytes.subarray(this.dataStart + e.data_offsets[0], this.dataStart + e.data_offsets[1]);
    if (raw.length !== count * per) throw new AppError('quality.model_invalid', `${this.source}: tensor "${key}" holds ${raw.length} bytes for shape [${e.shape}]`, { file: this.source, key });
    const data = e.dtype === 'F32' ? readFloat32LE(raw) : e.dtype === 'F64' ? readFloat64LEAsFloat32(raw) : e.dtype === 'F16' ? float16ToFloat32(readUint16LE(raw)) : bfloat16ToFloat32(readUint16LE(raw));
    return { shape: [...e.shape], data };
  }
}
