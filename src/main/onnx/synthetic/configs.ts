import { AppError } from '../../../shared/errors';

/**
 * The config.json fields the generators read, validated with errors that name the config (`label`), the field and
 * the value. Unknown keys are ignored (diffusers configs carry many); settings that would change the graph in
 * ways the generators do not build (SDXL's addition embeddings, class embeddings, scale-shift time conditioning…)
 * are refused rather than silently dropped.
 */
export type RawConfig = Record<string, unknown>;

function bad(label: string, key: string, value: unknown, why: string): AppError {
  return new AppError('synthetic_config_invalid', `${label}: "${key}" = ${JSON.stringify(value)}: ${why}`, { config: label, key, value });
}

function int(raw: RawConfig, key: string, label: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw bad(label, key, raw[key], 'expected a positive integer');
  return v;
}

function float(raw: RawConfig, key: string, label: string, fallback: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(label, key, raw[key], 'expected a number');
  return v;
}

function intList(raw: RawConfig, key: string, label: string): number[] {
  const v = raw[key];
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x > 0)) {
    throw bad(label, key, v, 'expected a non-empty list of positive integers');
  }
  return v as number[];
}

function strList(raw: RawConfig, key: string, label: string, allowed: readonly string[], length: number): string[] {
  const v = raw[key];
  if (!Array.isArray(v) || v.length !== length) throw bad(label, key, v, `expected a list of ${length} block types`);
  for (const t of v) if (typeof t !== 'string' || !allowed.includes(t)) throw bad(label, key, v, `block type ${JSON.stringify(t)} is not one of ${allowed.join(', ')}`);
  return v as string[];
}

/** Positive integer or one per block. */
function perBlock(raw: RawConfig, key: string, label: string, blocks: number, fallback?: number): number[] {
  const v = raw[key] ?? fallback;
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return new Array(blocks).fill(v);
  if (Array.isArray(v) && v.length === blocks && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x > 0)) return v as number[];
  throw bad(label, key, raw[key], `expected a positive integer or a list of ${blocks}`);
}

function requireValue(raw: RawConfig, key: string, label: string, allowed: unknown[], why: string): void {
  const v = raw[key];
  if (v !== undefined && !allowed.includes(v)) throw bad(label, key, v, why);
}

function divisible(label: string, key: string, value: number, by: number, what: string): void {
  if (value % by !== 0) throw bad(label, key, value, `must be divisible by ${what} (${by})`);
}

export interface UnetConfig {
  inChannels: number;
  outChannels: number;
  blockOutChannels: number[];
  layersPerBlock: number;
  downBlockTypes: string[];
  upBlockTypes: string[];
  crossAttentionDim: number;
  /** Attention heads per down block (diffusers' SD 1.x/2.x naming quirk: `attention_head_dim` is the head count). */
  heads: number[];
  transformerLayers: number[];
  normGroups: number;
  normEps: number;
  flipSinToCos: boolean;
  freqShift: number;
  useLinearProjection: boolean;
  sampleSize: number;
  /** SDXL's `text_time` added embedding: pooled text embedding ‖ sinusoidal features of each time id. */
  textTime?: TextTimeConfig;
}

export interface TextTimeConfig {
  /** Sinusoidal width per time id (`addition_time_embed_dim`: 256 in SDXL). */
  timeEmbedDim: number;
  /** `projection_class_embeddings_input_dim` = textEmbedsDim + timeIds · timeEmbedDim. */
  inputDim: number;
  /** 6 (base: original size, crop, target size) or 5 (refiner: original size, crop, aesthetic score). */
  timeIds: 5 | 6;
  textEmbedsDim: number;
}

export const DOWN_BLOCKS = ['DownBlock2D', 'CrossAttnDownBlock2D'] as const;
export const UP_BLOCKS = ['UpBlock2D', 'CrossAttnUpBlock2D'] as const;

export function readUnetConfig(raw: RawConfig, label = 'unet config'): UnetConfig {
  const blockOutChannels = intList(raw, 'block_out_channels', label);
  const n = blockOutChannels.length;
  const c: UnetConfig = {
    inChannels: int(raw, 'in_channels', label, 4),
    outChannels: int(raw, 'out_channels', label, 4),
    blockOutChannels,
    layersPerBlock: int(raw, 'layers_per_block', label, 2),
    downBlockTypes: strList(raw, 'down_block_types', label, DOWN_BLOCKS, n),
    upBlockTypes: strList(raw, 'up_block_types', label, UP_BLOCKS, n),
    crossAttentionDim: int(raw, 'cross_attention_dim', label, 1280),
    heads: perBlock(raw, raw.num_attention_heads != null ? 'num_attention_heads' : 'attention_head_dim', label, n, 8),
    transformerLayers: perBlock(raw, 'transformer_layers_per_block', label, n, 1),
    normGroups: int(raw, 'norm_num_groups', label, 32),
    normEps: float(raw, 'norm_eps', label, 1e-5),
    flipSinToCos: (raw.flip_sin_to_cos ?? true) === true,
    freqShift: float(raw, 'freq_shift', label, 0),
    useLinearProjection: raw.use_linear_projection === true,
    sampleSize: int(raw, 'sample_size', label, 64),
  };
  for (const [key, allowed, why] of [
    ['mid_block_type', ['UNetMidBlock2DCrossAttn', null], 'only UNetMidBlock2DCrossAttn is generated'],
    ['act_fn', ['silu'], 'only silu is generated'],
    ['class_embed_type', [null], 'class embeddings are not generated'],
    ['addition_embed_type', [null, 'text_time'], 'only the SDXL text_time addition embedding is generated'],
    ['encoder_hid_dim', [null], 'encoder_hid_proj is not generated'],
    ['time_cond_proj_dim', [null], 'timestep_cond is not generated'],
    ['time_embedding_type', ['positional'], 'only the positional (sinusoidal) time embedding is generated'],
    ['resnet_time_scale_shift', ['default'], 'only the default (additive) time conditioning is generated'],
    ['only_cross_attention', [false], 'only self+cross attention blocks are generated'],
    ['dual_cross_attention', [false], 'dual cross attention is not generated'],
    ['center_input_sample', [false], 'center_input_sample is not generated'],
    ['conv_in_kernel', [3], 'only 3×3 conv_in is generated'],
    ['conv_out_kernel', [3], 'only 3×3 conv_out is generated'],
    ['downsample_padding', [1], 'only downsample_padding 1 is generated'],
    ['mid_block_scale_factor', [1], 'only mid_block_scale_factor 1 is generated'],
    ['resnet_out_scale_factor', [1], 'only resnet_out_scale_factor 1 is generated'],
  ] as const) {
    requireValue(raw, key, label, [...allowed], why);
  }
  if (raw.addition_embed_type === 'text_time') c.textTime = readTextTime(raw, label);
  for (const ch of blockOutChannels) divisible(label, 'block_out_channels', ch, c.normGroups, 'norm_num_groups');
  blockOutChannels.forEach((ch, i) => divisible(label, 'block_out_channels', ch, c.heads[i], 'the attention heads of its block'));
  if (c.blockOutChannels[0] % 2 !== 0) throw bad(label, 'block_out_channels', blockOutChannels, 'the first width sets the sinusoidal embedding size and must be even');
  return c;
}

function readTextTime(raw: RawConfig, label: string): TextTimeConfig {
  const timeEmbedDim = int(raw, 'addition_time_embed_dim', label);
  const inputDim = int(raw, 'projection_class_embeddings_input_dim', label);
  if (timeEmbedDim % 2 !== 0) throw bad(label, 'addition_time_embed_dim', timeEmbedDim, 'must be even (sin and cos halves)');
  // The refiner conditions on an aesthetic score instead of the target size: 5 ids (optimum adds the flag to the config).
  const timeIds = raw.requires_aesthetics_score === true ? 5 : 6;
  const textEmbedsDim = inputDim - timeIds * timeEmbedDim;
  if (textEmbedsDim <= 0) throw bad(label, 'projection_class_embeddings_input_dim', inputDim, `leaves no room for text_embeds beside ${timeIds} time ids of ${timeEmbedDim}`);
  const declared = raw.text_encoder_projection_dim;
  if (typeof declared === 'number' && declared !== textEmbedsDim) {
    throw bad(label, 'text_encoder_projection_dim', declared, `does not match projection_class_embeddings_input_dim − ${timeIds} × addition_time_embed_dim = ${textEmbedsDim}`);
  }
  return { timeEmbedDim, inputDim, timeIds, textEmbedsDim };
}

export interface ClipTextConfig {
  hiddenSize: number;
  intermediateSize: number;
  heads: number;
  layers: number;
  maxPositions: number;
  vocabSize: number;
  hiddenAct: 'quick_gelu' | 'gelu';
  layerNormEps: number;
}

export function readClipTextConfig(raw: RawConfig, label = 'text_encoder config'): ClipTextConfig {
  const act = raw.hidden_act ?? 'quick_gelu';
  if (act !== 'quick_gelu' && act !== 'gelu') throw bad(label, 'hidden_act', act, 'expected quick_gelu or gelu');
  const c: ClipTextConfig = {
    hiddenSize: int(raw, 'hidden_size', label),
    intermediateSize: int(raw, 'intermediate_size', label),
    heads: int(raw, 'num_attention_heads', label),
    layers: int(raw, 'num_hidden_layers', label),
    maxPositions: int(raw, 'max_position_embeddings', label, 77),
    vocabSize: int(raw, 'vocab_size', label, 49408),
    hiddenAct: act,
    layerNormEps: float(raw, 'layer_norm_eps', label, 1e-5),
  };
  divisible(label, 'hidden_size', c.hiddenSize, c.heads, 'num_attention_heads');
  return c;
}

export interface VaeConfig {
  inChannels: number;
  outChannels: number;
  blockOutChannels: number[];
  layersPerBlock: number;
  latentChannels: number;
  normGroups: number;
  scalingFactor: number;
}

export function readVaeConfig(raw: RawConfig, label = 'vae config'): VaeConfig {
  const blockOutChannels = intList(raw, 'block_out_channels', label);
  const n = blockOutChannels.length;
  if (raw.down_block_types !== undefined) strList(raw, 'down_block_types', label, ['DownEncoderBlock2D'], n);
  if (raw.up_block_types !== undefined) strList(raw, 'up_block_types', label, ['UpDecoderBlock2D'], n);
  requireValue(raw, 'act_fn', label, ['silu'], 'only silu is generated');
  requireValue(raw, 'mid_block_add_attention', label, [true], 'the mid-block attention is always generated');
  const c: VaeConfig = {
    inChannels: int(raw, 'in_channels', label, 3),
    outChannels: int(raw, 'out_channels', label, 3),
    blockOutChannels,
    layersPerBlock: int(raw, 'layers_per_block', label, 1),
    latentChannels: int(raw, 'latent_channels', label, 4),
    normGroups: int(raw, 'norm_num_groups', label, 32),
    scalingFactor: float(raw, 'scaling_factor', label, 0.18215),
  };
  for (const ch of blockOutChannels) divisible(label, 'block_out_channels', ch, c.normGroups, 'norm_num_groups');
  return c;
}
