import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { AppError } from '../../../shared/errors';
import { emptyTensor, numel } from '../tensor';
import { DataType, type TensorProto } from '../types';
import { fillNormalish } from './random';

/** How a parameter is initialised. */
export type ParamInit = { kind: 'normal'; std: number } | { kind: 'constant'; value: number };

/**
 * How the graph's initializer relates to the torch parameter it is named after: `same` values in the same order
 * (possibly reshaped, e.g. a GroupNorm scale [C] as [C, 1, 1]), or `transposed` (an nn.Linear weight [out, in]
 * stored [in, out] for MatMul, as the exporter folds it). Random stores ignore it; stores that copy real weights
 * need it, since a square weight's shape cannot tell.
 */
export type ParamLayout = 'same' | 'transposed';

/**
 * Where generated parameters go. Every store returns the initializer's TensorProto; they differ in where the
 * values live:
 *  - `ShapeOnlyStore`: nowhere (dims only) — for parameter counts and graph checks at full size in milliseconds;
 *  - `InlineStore`: raw_data in memory — small models, saved as one .onnx;
 *  - `ExternalFileStore`: streamed to an external-data file as each tensor is made, so a 3.4 GB UNet never sits in
 *    memory (peak ≈ the largest tensor, 59 MB for SD 1.5) and the .onnx stays far below protobuf's 2 GB limit.
 */
export interface WeightStore {
  add(name: string, dims: number[], init: ParamInit, layout?: ParamLayout): TensorProto;
  /** Flushes and closes whatever the store holds open. */
  close(): void;
}

function assertLittleEndian(): void {
  // raw_data and external data are little-endian; we hand Float32Array bytes over unconverted.
  if (endianness() !== 'LE') throw new AppError('synthetic_big_endian', 'random-weight models can only be generated on a little-endian machine');
}

function values(seed: number, name: string, dims: number[], init: ParamInit): Float32Array {
  const out = new Float32Array(numel(dims));
  if (init.kind === 'constant') out.fill(init.value);
  else fillNormalish(out, seed, name, init.std);
  return out;
}

export class ShapeOnlyStore implements WeightStore {
  add(name: string, dims: number[]): TensorProto {
    return emptyTensor({ name, dataType: DataType.FLOAT, dims: [...dims] });
  }
  close(): void {}
}

export class InlineStore implements WeightStore {
  constructor(private readonly seed: number) {
    assertLittleEndian();
  }
  add(name: string, dims: number[], init: ParamInit): TensorProto {
    const v = values(this.seed, name, dims, init);
    return emptyTensor({ name, dataType: DataType.FLOAT, dims: [...dims], rawData: new Uint8Array(v.buffer) });
  }
  close(): void {}
}

/** Tensors of at least `threshold` bytes go to `file` (named `location` in the model), smaller ones stay inline. */
export class ExternalFileStore implements WeightStore {
  private fd: number | undefined;
  private offset = 0;
  private readonly inline: InlineStore;

  constructor(
    private readonly seed: number,
    file: string,
    private readonly location: string,
    private readonly threshold = 1024,
  ) {
    this.inline = new InlineStore(seed);
    this.fd = openSync(file, 'w');
  }

  add(name: string, dims: number[], init: ParamInit): TensorProto {
    if (numel(dims) * 4 < this.threshold) return this.inline.add(name, dims, init);
    if (this.fd === undefined) throw new AppError('synthetic_store_closed', `cannot add "${name}": the external data file is already closed`);
    const bytes = new Uint8Array(values(this.seed, name, dims, init).buffer);
    // Page-aligned large tensors let ORT memory-map them; the same rule saveModel uses.
    const align = bytes.byteLength >= 1 << 20 ? 4096 : 64;
    const start = Math.ceil(this.offset / align) * align;
    let done = 0;
    while (done < bytes.byteLength) done += writeSync(this.fd, bytes, done, bytes.byteLength - done, start + done);
    this.offset = start + bytes.byteLength;
    return emptyTensor({
      name,
      dataType: DataType.FLOAT,
      dims: [...dims],
      dataLocation: 1,
      externalData: [
        { key: 'location', value: this.location },
        { key: 'offset', value: String(start) },
        { key: 'length', value: String(bytes.byteLength) },
      ],
    });
  }

  /** Bytes written to the external file so far. */
  get size(): number {
    return this.offset;
  }

  close(): void {
    if (this.fd === undefined) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
  }
}
