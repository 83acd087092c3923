/**
 * The importer's public types. `ImportSource` is the part of `models/source`'s ModelSource the importer reads
 * (structurally the same, so any ModelSource is one); keeping it here lets the graph side be tested without a
 * checkpoint reader.
 */

export type ImportFamily = 'sd1' | 'sd2' | 'sdxl' | 'sdxl-refiner';
export type ImportComponent = 'unet' | 'vae' | 'text_encoder' | 'text_encoder_2';
export type ImportDtype = 'float32' | 'float16';

export interface ImportSourceTensor {
  key: string;
  shape: number[];
  /** Bytes in the source file (for progress). */
  byteLength: number;
  read(): Promise<Float32Array>;
}

export interface ImportSource {
  family: ImportFamily;
  prediction: 'epsilon' | 'v_prediction';
  notes: string[];
  configs: {
    unet: Record<string, unknown>;
    vae: Record<string, unknown>;
    text_encoder?: Record<string, unknown>;
    text_encoder_2?: Record<string, unknown>;
    scheduler: Record<string, unknown>;
  };
  /** Pipeline-level model_index.json facts (SDXL's force_zeros_for_empty_prompt, the refiner's requires_aesthetics_score). */
  modelIndex?: Record<string, unknown>;
  tokenizerDirs: { tokenizer?: string; tokenizer_2?: string };
  components: Partial<Record<ImportComponent, Map<string, ImportSourceTensor>>>;
  sourceHash: string;
}

export interface ImportProgress {
  bytesDone: number;
  bytesTotal: number;
  tensorsDone: number;
  tensorsTotal: number;
  /** 'reading' (opening the source), 'graphs', then the component being written, then 'finishing'. */
  stage: string;
}

export interface ImportOptions {
  /** A diffusers config folder for non-standard architectures (diffusers' from_single_file(config=…)). */
  config?: string;
  family?: ImportFamily;
  prediction?: 'epsilon' | 'v_prediction' | 'v';
  /** A separate VAE file (LDM or diffusers layout). */
  vae?: string;
  /** float16 weights and I/O (GPU); default float32. */
  fp16?: boolean;
  signal?: AbortSignal;
  /** Called after each tensor (and at each stage); a returned promise is awaited before the next tensor. */
  onProgress?: (p: ImportProgress) => void | Promise<void>;
  /** The source's hash when the caller already computed it (the model library): the source is then not read for it again. */
  sourceHash?: string;
}

export interface ImportedModelInfo {
  family: ImportFamily;
  prediction: 'epsilon' | 'v_prediction';
  /** Default image size: unet sample_size × VAE factor. */
  nativeWidth: number;
  nativeHeight: number;
  dtype: ImportDtype;
  /** Bytes of everything in the output folder. */
  sizeOnDisk: number;
  sourceHash: string;
  outDir: string;
  /** What the source reader and the importer want the user to know (assumed prediction type, ignored tensors…). */
  notes: string[];
  /** Parameters written per ONNX model. */
  parameters: Record<string, number>;
  seconds: number;
}
