import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../../shared/errors';
import type { RawConfig } from './configs';

/** The three configs a Stable Diffusion 1.x folder is generated from (the VAE config serves both halves). */
export interface SdConfigs {
  unet: RawConfig;
  textEncoder: RawConfig;
  vae: RawConfig;
}

export const PRESETS = ['sd15', 'tiny'] as const;
export type PresetName = (typeof PRESETS)[number];

/**
 * The published Stable Diffusion 1.5 configs (runwayml/stable-diffusion-v1-5 unet/, text_encoder/ and vae/
 * config.json): UNet 859,520,964 parameters, CLIP ViT-L/14 text model 123,060,480, AutoencoderKL 83,653,863.
 */
export function sd15Configs(): SdConfigs {
  return {
    unet: {
      _class_name: 'UNet2DConditionModel',
      _diffusers_version: '0.6.0',
      act_fn: 'silu',
      attention_head_dim: 8,
      block_out_channels: [320, 640, 1280, 1280],
      center_input_sample: false,
      cross_attention_dim: 768,
      down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
      downsample_padding: 1,
      flip_sin_to_cos: true,
      freq_shift: 0,
      in_channels: 4,
      layers_per_block: 2,
      mid_block_scale_factor: 1,
      norm_eps: 1e-5,
      norm_num_groups: 32,
      out_channels: 4,
      sample_size: 64,
      up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
    },
    textEncoder: {
      architectures: ['CLIPTextModel'],
      attention_dropout: 0.0,
      bos_token_id: 0,
      dropout: 0.0,
      eos_token_id: 2,
      hidden_act: 'quick_gelu',
      hidden_size: 768,
      initializer_factor: 1.0,
      initializer_range: 0.02,
      intermediate_size: 3072,
      layer_norm_eps: 1e-5,
      max_position_embeddings: 77,
      model_type: 'clip_text_model',
      num_attention_heads: 12,
      num_hidden_layers: 12,
      pad_token_id: 1,
      projection_dim: 768,
      torch_dtype: 'float32',
      vocab_size: 49408,
    },
    vae: {
      _class_name: 'AutoencoderKL',
      _diffusers_version: '0.6.0',
      act_fn: 'silu',
      block_out_channels: [128, 256, 512, 512],
      down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D'],
      in_channels: 3,
      latent_channels: 4,
      layers_per_block: 2,
      norm_num_groups: 32,
      out_channels: 3,
      sample_size: 512,
      scaling_factor: 0.18215,
      up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D'],
    },
  };
}

function readJson(path: string): RawConfig {
  if (!existsSync(path)) throw new AppError('synthetic_template_incomplete', `${path} is missing`, { path });
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RawConfig;
  } catch (err) {
    throw new AppError('synthetic_template_invalid', `${path}: invalid JSON (${(err as Error).message})`, { path });
  }
}

/** The configs of an existing SD 1.x model folder (the `tiny` preset reads the tiny-sd15 fixture's pipeline/). */
export function folderConfigs(modelDir: string): SdConfigs {
  return {
    unet: readJson(join(modelDir, 'unet/config.json')),
    textEncoder: readJson(join(modelDir, 'text_encoder/config.json')),
    vae: readJson(join(modelDir, 'vae_decoder/config.json')),
  };
}

/** A preset's configs; `templateDir` is the SD 1.x folder the tiny preset copies its configs from. */
export function presetConfigs(preset: string, templateDir: string): SdConfigs {
  if (preset === 'sd15') return sd15Configs();
  if (preset === 'tiny') return folderConfigs(templateDir);
  throw new AppError('synthetic_unknown_preset', `unknown preset "${preset}" (expected one of ${PRESETS.join(', ')})`, { preset });
}
