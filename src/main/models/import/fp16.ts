import type { ModelProto } from '../../onnx/types';

export function convertGraphToHalf(_proto: ModelProto): void {
  throw new Error('fp16 not yet implemented');
}
