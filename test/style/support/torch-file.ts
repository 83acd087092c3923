import { zipSync } from 'fflate';

/**
 * Test helper: writes protocol-2 pickles the way torch.save lays out a dict of tensors, plus hostile
 * variants, and wraps them in a torch-style zip. Written opcode by opcode so tests control every byte.
 */

export interface TensorSpec {
  key: string;
  storageType: 'FloatStorage' | 'HalfStorage' | 'BFloat16Storage' | 'DoubleStorage';
  storageKey: string;
  numel: number;
  offset: number;
  shape: number[];
  stride: number[];
}

export class PickleWriter {
  private parts: number[] = [];

  op(...bytes: number[]): this {
    this.parts.push(...bytes);
    return this;
  }

  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.op(0x58, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, b.length >>> 24);
    return this.op(...b);
  }

  int(n: number): this {
    return this.op(0x4a, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff);
  }

  global(module: string, name: string): this {
    return this.op(0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1'));
  }

  intTuple(values: number[]): this {
    this.op(0x28);
    for (const v of values) this.int(v);
    return this.op(0x74);
  }

  tensor(t: TensorSpec): this {
    this.global('torch._utils', '_rebuild_tensor_v2').op(0x28);
    this.op(0x28).str('storage').global('torch', t.storageType).str(t.storageKey).str('cpu').int(t.numel).op(0x74, 0x51);
    this.int(t.offset).intTuple(t.shape).intTuple(t.stride).op(0x89);
    this.global('collections', 'OrderedDict').op(0x29, 0x52);
    return this.op(0x74, 0x52);
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** `{key: tensor, …}` as torch.save pickles it. */
export function pickleTensorDict(tensors: TensorSpec[]): Uint8Array {
  const w = new PickleWriter().op(0x80, 2, 0x7d, 0x28);
  for (const t of tensors) w.str(t.key).tensor(t);
  return w.op(0x75, 0x2e).bytes();
}

/** A torch.save-style zip: `<archive>/data.pkl`, `<archive>/data/<key>`, `<archive>/version`, stored uncompressed. */
export function torchZip(archive: string, pickle: Uint8Array, storages: Record<string, Uint8Array>): Uint8Array {
  const files: Record<string, Uint8Array> = { [`${archive}/data.pkl`]: pickle };
  for (const [key, data] of Object.entries(storages)) files[`${archive}/data/${key}`] = data;
  files[`${archive}/version`] = Buffer.from('3\n');
  return zipSync(files, { level: 0 });
}

export function float32Bytes(values: number[] | Float32Array): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
