/**
 * Plain-object views of the onnx.proto messages this module edits. They are what protobufjs'
 * `toObject({ longs: Number, enums: Number, arrays: true })` produces, and what `encode` accepts back.
 */
export interface StringStringEntry {
  key: string;
  value: string;
}

export interface TensorProto {
  dims: number[];
  dataType?: number;
  name?: string;
  docString?: string;
  rawData?: Uint8Array;
  floatData: number[];
  int32Data: number[];
  stringData: Uint8Array[];
  int64Data: number[];
  doubleData: number[];
  uint64Data: number[];
  externalData: StringStringEntry[];
  dataLocation?: number;
  metadataProps?: StringStringEntry[];
}

export interface AttributeProto {
  name: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats: number[];
  ints: number[];
  strings: Uint8Array[];
  tensors: TensorProto[];
  graphs: GraphProto[];
  [extra: string]: unknown;
}

export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute: AttributeProto[];
  docString?: string;
}

export interface DimensionProto {
  dimValue?: number;
  dimParam?: string;
  denotation?: string;
}

export interface TypeProto {
  tensorType?: { elemType?: number; shape?: { dim: DimensionProto[] } };
  [other: string]: unknown;
}

export interface ValueInfoProto {
  name: string;
  type?: TypeProto;
  docString?: string;
}

export interface GraphProto {
  node: NodeProto[];
  name?: string;
  initializer: TensorProto[];
  sparseInitializer: unknown[];
  docString?: string;
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
  quantizationAnnotation: unknown[];
  metadataProps?: StringStringEntry[];
}

export interface OperatorSetId {
  domain?: string;
  version: number;
}

export interface ModelProto {
  irVersion?: number;
  opsetImport: OperatorSetId[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: GraphProto;
  metadataProps: StringStringEntry[];
  trainingInfo: unknown[];
  functions: unknown[];
}

/** A loaded model plus the folder its external-data `location`s are relative to. */
export interface OnnxModel {
  proto: ModelProto;
  /** Folder of the .onnx file the model came from (external data is read lazily from here). */
  baseDir: string;
}

/** TensorProto.DataType values used in this module. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

/** AttributeProto.AttributeType values. */
export const AttrType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;
