import { AppError } from '../../shared/errors';
import { floatInfo, GraphBuilder } from '../onnx/synthetic/builder';
import { conv2d } from '../onnx/synthetic/layers';
import type { WeightStore } from '../onnx/synthetic/weights';
import { DataType, type ModelProto } from '../onnx/types';

/**
 * LPIPS v0.1 with the AlexNet trunk (lpips.LPIPS(net='alex', version='0.1')) as one ONNX graph,
 * in0, in1 [N, 3, H, W] in [−1, 1] → distance [N, 1, 1, 1]:
 *   scaling layer (x − shift) / scale with shift (−.030, −.088, −.188), scale (.458, .448, .450);
 *   torchvision AlexNet `features` up to the five ReLU taps (after conv 0, 3, 6, 8, 10; max-pools 3/2 before conv 3 and 6);
 *   per tap: x / (‖x‖₂ over channels + 1e-10), squared difference, 1×1 conv `lin{k}.model.1` without bias,
 *   mean over H and W; the five summed.
 * Both images go through the trunk as one batch of 2N (weights once); the halves are sliced apart per tap.
 */

export const LPIPS_SHIFT = [-0.03, -0.088, -0.188];
export const LPIPS_SCALE = [0.458, 0.448, 0.45];
export const LPIPS_EPS = 1e-10;

/** torchvision alexnet().features convolutions: [state-dict index, in, out, kernel, stride, pad, max-pool before]. */
const ALEX_CONVS: [number, number, number, number, number, number, boolean][] = [
  [0, 3, 64, 11, 4, 2, false],
  [3, 64, 192, 5, 1, 2, true],
  [6, 192, 384, 3, 1, 1, true],
  [8, 384, 256, 3, 1, 1, false],
  [10, 256, 256, 3, 1, 1, false],
];

export function buildLpipsAlexModel(store: WeightStore): ModelProto {
  const b = new GraphBuilder(store);
  const shift = b.constant(DataType.FLOAT, [1, 3, 1, 1], LPIPS_SHIFT);
  const scale = b.constant(DataType.FLOAT, [1, 3, 1, 1], LPIPS_SCALE);
  const both = b.op('Concat', ['in0', 'in1'], { axis: 0 }, 'lpips');
  let x = b.op('Div', [b.op('Sub', [both, shift], {}, 'scaling_layer'), scale], {}, 'scaling_layer');
  const n = b.op('Slice', [b.op('Shape', ['in0'], {}, 'lpips'), b.ints([0]), b.ints([1])], {}, 'lpips'); // [1]: N
  const distances: string[] = [];
  ALEX_CONVS.forEach(([index, inC, outC, kernel, stride, pad, poolBefore], tap) => {
    const scope = `features.${index}`;
    if (poolBefore) x = b.op('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 0, 0], ceil_mode: 0 }, scope);
    x = b.op('Relu', [conv2d(b, x, scope, inC, outC, { kernel, stride, pad })], {}, scope);
    const t = `lpips.tap${tap}`;
    const norm = b.op('Sqrt', [b.op('ReduceSum', [b.op('Mul', [x, x], {}, t), b.ints([1])], { keepdims: 1 }, t)], {}, t);
    const unit = b.op('Div', [x, b.op('Add', [norm, b.scalar(LPIPS_EPS)], {}, t)], {}, t);
    const f0 = b.op('Slice', [unit, b.ints([0]), n, b.ints([0])], {}, t);
    const f1 = b.op('Slice', [unit, n, b.ints([Number.MAX_SAFE_INTEGER]), b.ints([0])], {}, t);
    const d = b.op('Sub', [f0, f1], {}, t);
    const lin = b.param(`lin${tap}.model.1.weight`, [1, outC, 1, 1], { kind: 'constant', value: 1 / outC });
    const weighted = b.op('Conv', [b.op('Mul', [d, d], {}, t), lin], { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0] }, t);
    distances.push(b.op('ReduceMean', [weighted], { axes: [2, 3], keepdims: 1 }, t));
  });
  b.rename(b.op('Sum', distances, {}, 'lpips'), 'distance');
  return b.model('lpips_alex', [floatInfo('in0', ['batch', 3, 'height', 'width']), floatInfo('in1', ['batch', 3, 'height', 'width'])], [floatInfo('distance', ['batch', 1, 1, 1])]);
}

/** Smallest input side the trunk accepts (conv 11/4 then two 3/2 max-pools must leave ≥ 1 pixel). */
export const LPIPS_MIN_SIZE = 32;

export function checkLpipsSize(size: number): void {
  if (!Number.isInteger(size) || size < LPIPS_MIN_SIZE || size > 4096) {
    throw new AppError('quality.bad_option', `--lpips-size ${size}: expected an integer from ${LPIPS_MIN_SIZE} to 4096`, { field: 'lpipsSize', value: size });
  }
}
