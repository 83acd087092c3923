import { AppError } from '../../shared/errors';
import { emptyTensor } from '../onnx/tensor';
import { DataType, type TensorProto } from '../onnx/types';
import type { ParamInit, WeightStore } from '../onnx/synthetic/weights';
import type { FloatTensor } from '../style/formats/safetensors';

/**
 * A WeightStore that fills the synthetic builders' parameters from a checkpoint instead of random numbers.
 * The builders emit nn.Linear as MatMul with the weight stored [in, out] (as the torch exporter folds it), so a
 * 2-D `*.weight` that is not an embedding table is taken transposed from the torch [out, in] tensor; every other
 * parameter must match the checkpoint's shape exactly. Shapes are checked before anything is copied, so a
 * checkpoint of another size fails naming the key.
 */
export class CheckpointStore implements WeightStore {
  constructor(
    private readonly lookup: (key: string) => FloatTensor,
    private readonly source: string,
  ) {}

  add(name: string, dims: number[], _init: ParamInit): TensorProto {
    const t = this.lookup(name);
    const transposed = dims.length === 2 && name.endsWith('.weight') && !name.includes('embedding');
    const expected = transposed ? [dims[1], dims[0]] : dims;
    if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
      throw new AppError('quality.model_invalid', `${this.source}: tensor "${name}" has shape [${t.shape}], the config implies [${expected}]`, { file: this.source, key: name });
    }
    let data = t.data;
    if (transposed) {
      const [rows, cols] = t.shape; // torch [out, in] → [in, out]
      data = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[c * rows + r] = t.data[r * cols + c];
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return emptyTensor({ name, dataType: DataType.FLOAT, dims: [...dims], rawData: bytes.slice() });
  }

  close(): void {}
}
