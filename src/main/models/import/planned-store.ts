import { emptyTensor, numel } from '../../onnx/tensor';
import { DataType, type TensorProto } from '../../onnx/types';
import type { ParamLayout, WeightStore } from '../../onnx/synthetic/weights';

/** One parameter the graph needs, with where its bytes will sit in the external-data file. */
export interface PlannedTensor {
  name: string;
  dims: number[];
  layout: ParamLayout;
  offset: number;
  byteLength: number;
}

/**
 * A WeightStore for real weights: the graph builders are synchronous and the weights arrive asynchronously (read
 * by offset from the checkpoint), so this store only *plans*: each parameter gets its place in the external-data
 * file (page-aligned from 1 MiB, as saveModel lays them out, so ORT can map them) and a TensorProto pointing there.
 * `writeTensors` then fills the file one tensor at a time. Every parameter is external, however small, so the
 * .onnx holds the graph only and never approaches protobuf's 2 GB limit.
 */
export class PlannedStore implements WeightStore {
  readonly planned: PlannedTensor[] = [];
  private end = 0;

  constructor(
    /** The file name the TensorProtos reference (relative to the .onnx). */
    private readonly location: string,
    readonly dtype: 'float32' | 'float16',
  ) {}

  add(name: string, dims: number[], _init: unknown, layout: ParamLayout = 'same'): TensorProto {
    const byteLength = numel(dims) * (this.dtype === 'float16' ? 2 : 4);
    const align = byteLength >= 1 << 20 ? 4096 : 64;
    const offset = Math.ceil(this.end / align) * align;
    this.end = offset + byteLength;
    this.planned.push({ name, dims: [...dims], layout, offset, byteLength });
    return emptyTensor({
      name,
      dataType: this.dtype === 'float16' ? DataType.FLOAT16 : DataType.FLOAT,
      dims: [...dims],
      dataLocation: 1,
      externalData: [
        { key: 'location', value: this.location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(byteLength) },
      ],
    });
  }

  /** Size of the external-data file once written. */
  get size(): number {
    return this.end;
  }

  close(): void {}
}
