import protobuf from 'protobufjs';
import { ONNX_PROTO_TEXT } from './proto/onnx-proto-text';

/** The official onnx.proto schema, parsed once. */
let root: protobuf.Root | undefined;

function onnxRoot(): protobuf.Root {
  if (!root) root = protobuf.parse(ONNX_PROTO_TEXT).root;
  return root;
}

export function modelProtoType(): protobuf.Type {
  return onnxRoot().lookupType('onnx.ModelProto');
}

/** Decode options giving the plain objects described in types.ts (int64 as JS numbers, empty arrays present). */
export const plainObjectOptions: protobuf.IConversionOptions = { longs: Number, enums: Number, arrays: true, defaults: false };
