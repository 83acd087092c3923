/** The types of the model-source interface (a leaf module; index.ts re-exports them with openModelSource). */

export type ModelFamily = 'sd1' | 'sd2' | 'sdxl' | 'sdxl-refiner';
export type ComponentName = 'unet' | 'vae' | 'text_encoder' | 'text_encoder_2';
export const MODEL_FAMILIES: readonly ModelFamily[] = ['sd1', 'sd2', 'sdxl', 'sdxl-refiner'];

export interface TensorRef {
  /** The diffusers state-dict key. */
  key: string;
  /** The dtype as stored in the source (the values are always handed out as float32). */
  dtype: 'F32' | 'F16' | 'BF16';
  /** The diffusers shape (e.g. LDM's 1×1-conv attention weights already squeezed to [out, in]). */
  shape: number[];
  /** Bytes read from the source for this tensor: for progress reporting. */
  byteLength: number;
  /** Reads (positioned, from disk) and widens this tensor; call once per tensor, hold only what you need. */
  read(): Promise<Float32Array>;
}

export interface ModelSource {
  family: ModelFamily;
  prediction: 'epsilon' | 'v_prediction';
  /** Human sentences about choices made (detected family, assumed prediction, ignored tensors…), for the CLI to print. */
  notes: string[];
  /** diffusers configs; `scheduler.prediction_type` is set to `prediction`. */
  configs: { unet: Record<string, unknown>; vae: Record<string, unknown>; text_encoder?: Record<string, unknown>; text_encoder_2?: Record<string, unknown>; scheduler: Record<string, unknown> };
  /** Pipeline-level model_index.json facts beyond the components (SDXL's force_zeros_for_empty_prompt, the refiner's requires_aesthetics_score). */
  modelIndex: Record<string, unknown>;
  /** Folders holding vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json. */
  tokenizerDirs: { tokenizer?: string; tokenizer_2?: string };
  /** diffusers state-dict keys per component. */
  components: Partial<Record<ComponentName, Map<string, TensorRef>>>;
  /** The weight files read (checkpoint, component files, --vae), absolute. */
  sourceFiles: string[];
  /** sha256 of the source: the file's own sha256 for one file, else of a manifest of the files' sha256s (hash.ts). */
  sourceHash: string;
  /** Total size of sourceFiles in bytes. */
  totalBytes: number;
  /** Closes the open files; reads after close fail. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /** A diffusers folder without weights whose configs (and tokenizers, if present) replace the built-in ones. */
  config?: string;
  /** Overrides detection. */
  family?: ModelFamily;
  prediction?: 'epsilon' | 'v';
  /** A separate VAE file (.safetensors, LDM or diffusers layout) replacing the model's VAE. */
  vae?: string;
  /** Skip hashing (tests and quick inspections); sourceHash is then ''. */
  skipHash?: boolean;
}
