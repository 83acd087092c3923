import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AppError } from '../../../shared/errors';

/**
 * What a model folder's configs say about its shapes, read without opening any ONNX session: the native
 * image size, the VAE factor and, per UNet block, the resolution, head count and number of self-attentions.
 * The render settings resolve "unset = model default" from it and the memory estimate sizes tensors with it.
 */

export type FamilyHint = 'sd1' | 'sd2' | 'sdxl';

/** One UNet block that holds self-attention (CrossAttn* down/up blocks and the mid block). */
export interface AttentionBlock {
  /** e.g. "down block 1", "mid block", "up block 0" */
  name: string;
  /** Latent side ÷ this = the block's side (1 at the first level, 2 one level down, …). */
  divisor: number;
  channels: number;
  heads: number;
  /** Self-attention layers in the block (transformers per layer × layers). */
  selfAttentions: number;
}

export interface ModelGeometry {
  dir: string;
  /** Pixels per latent cell: 2 ** (len(vae block_out_channels) − 1). */
  vaeScaleFactor: number;
  latentChannels: number;
  /** unet sample_size (latent cells); a family default when the config lacks it. */
  sampleSize: number;
  /** sampleSize × vaeScaleFactor: the size the model was trained at. */
  nativeSize: number;
  /** Latent side must be a multiple of this (each UNet down level halves it). */
  latentMultiple: number;
  /** null when unet/config.json is missing or does not describe its blocks (the memory estimate is then unavailable). */
  unetAttention: AttentionBlock[] | null;
  /** UNet block_out_channels (empty when unknown). */
  unetChannels: number[];
  /** VAE block_out_channels (decoder/encoder share them). */
  vaeChannels: number[];
  /** Whether the VAE mid block has its (single-head) self-attention at latent resolution. */
  vaeMidAttention: boolean;
  /** Config files the values came from, for messages. */
  sources: string[];
}

function readJson(path: string): Record<string, any> | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, any>) : undefined;
  } catch (err) {
    throw new AppError('diffusion.model_invalid', `${path}: invalid JSON (${(err as Error).message})`, { path });
  }
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** A per-block config value given either once for all blocks or as a list per down block. */
function perBlock(value: unknown, blocks: number): number[] | null {
  if (isCount(value)) return Array<number>(blocks).fill(value);
  if (Array.isArray(value) && value.length === blocks && value.every(isCount)) return value as number[];
  return null;
}

/** The family a folder looks like from its configs alone (used only where a config lacks sample_size). */
function guessFamily(dir: string, unetConfig: Record<string, any> | undefined): FamilyHint {
  if (unetConfig?.addition_embed_type === 'text_time' || existsSync(join(dir, 'text_encoder_2'))) return 'sdxl';
  const text = readJson(join(dir, 'text_encoder', 'config.json'));
  return text?.hidden_size === 1024 ? 'sd2' : 'sd1';
}

const DEFAULT_SAMPLE_SIZE: Record<FamilyHint, number> = { sd1: 64, sd2: 96, sdxl: 128 };

/**
 * The self-attention blocks of a diffusers UNet2DConditionModel config. diffusers reads `attention_head_dim`
 * as the number of heads when `num_attention_heads` is absent (a historical naming slip that SD 1.x/2.x and
 * SDXL configs rely on); up blocks mirror the down blocks with one more layer each.
 */
function unetAttentionBlocks(config: Record<string, any>): AttentionBlock[] | null {
  const down: unknown = config.down_block_types;
  const channels: unknown = config.block_out_channels;
  if (!Array.isArray(down) || !Array.isArray(channels) || down.length !== channels.length || !channels.every(isCount)) return null;
  const n = down.length;
  const heads = perBlock(config.num_attention_heads ?? config.attention_head_dim ?? 8, n);
  const transformers = perBlock(config.transformer_layers_per_block ?? 1, n);
  const layers = perBlock(config.layers_per_block ?? 2, n);
  if (!heads || !transformers || !layers) return null;
  const up: unknown = Array.isArray(config.up_block_types) ? config.up_block_types : [...down].reverse().map((t: string) => t.replace('Down', 'Up'));
  const hasAttention = (type: unknown) => typeof type === 'string' && type.includes('CrossAttn');
  const blocks: AttentionBlock[] = [];
  down.forEach((type: unknown, i: number) => {
    if (hasAttention(type)) {
      blocks.push({ name: `down block ${i}`, divisor: 2 ** i, channels: channels[i], heads: heads[i], selfAttentions: layers[i] * transformers[i] });
    }
  });
  const midType = config.mid_block_type ?? 'UNetMidBlock2DCrossAttn';
  if (typeof midType === 'string' && midType.includes('CrossAttn')) {
    blocks.push({ name: 'mid block', divisor: 2 ** (n - 1), channels: channels[n - 1], heads: heads[n - 1], selfAttentions: transformers[n - 1] });
  }
  if (Array.isArray(up)) {
    up.forEach((type: unknown, j: number) => {
      const i = n - 1 - j; // the down level this up block mirrors
      if (hasAttention(type) && i >= 0) {
        blocks.push({ name: `up block ${j}`, divisor: 2 ** i, channels: channels[i], heads: heads[i], selfAttentions: (layers[i] + 1) * transformers[i] });
      }
    });
  }
  return blocks;
}

/** Reads the geometry of a model folder from unet/ and vae_decoder/ (or vae/) config.json; `family` fills gaps. */
export function readModelGeometry(dirIn: string, family?: FamilyHint): ModelGeometry {
  const dir = resolve(dirIn);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new AppError('diffusion.model_incomplete', `${dir}: model folder does not exist`, { path: dir });
  }
  const sources: string[] = [];
  const read = (...rel: string[][]) => {
    for (const parts of rel) {
      const path = join(dir, ...parts);
      const json = readJson(path);
      if (json) {
        sources.push(path);
        return json;
      }
    }
    return undefined;
  };
  const unet = read(['unet', 'config.json']);
  const vae = read(['vae_decoder', 'config.json'], ['vae', 'config.json'], ['vae_encoder', 'config.json']) ?? {};
  const vaeChannels = Array.isArray(vae.block_out_channels) && vae.block_out_channels.every(isCount) ? (vae.block_out_channels as number[]) : [];
  const vaeScaleFactor = vaeChannels.length > 0 ? 2 ** (vaeChannels.length - 1) : 8;
  const sampleSize = isCount(unet?.sample_size) ? unet.sample_size : DEFAULT_SAMPLE_SIZE[family ?? guessFamily(dir, unet)];
  const unetChannels = Array.isArray(unet?.block_out_channels) && unet.block_out_channels.every(isCount) ? (unet.block_out_channels as number[]) : [];
  return {
    dir,
    vaeScaleFactor,
    latentChannels: isCount(vae.latent_channels) ? vae.latent_channels : 4,
    sampleSize,
    nativeSize: sampleSize * vaeScaleFactor,
    latentMultiple: unetChannels.length > 0 ? 2 ** (unetChannels.length - 1) : 1,
    unetAttention: unet ? unetAttentionBlocks(unet) : null,
    unetChannels,
    // SD VAEs use 512 channels when a config does not say (the mid block runs at the widest).
    vaeChannels: vaeChannels.length > 0 ? vaeChannels : [128, 256, 512, 512],
    vaeMidAttention: vae.mid_block_add_attention !== false,
    sources,
  };
}
