import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** The official onnx.proto schema, parsed once. */
let root: protobuf.Root | undefined;

function onnxRoot(): protobuf.Root {
  if (!root) root = protobuf.loadSync(fileURLToPath(new URL('./proto/onnx.proto', import.meta.url)));
  return root;
}

export function modelProtoType(): protobuf.Type {
  return onnxRoot().lookupType('onnx.ModelProto');
}

export function tensorProtoType(): protobuf.Type {
  return onnxRoot().lookupType('onnx.TensorProto');
}

/** Decode options giving the plain objects described in types.ts (int64 as JS numbers, empty arrays present). */
export const plainObjectOptions: protobuf.IConversionOptions = { longs: Number, enums: Number, arrays: true, defaults: false };
