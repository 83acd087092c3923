/**
 * The published diffusers configs of the standard families (the facts of the Hugging Face repositories'
 * `<component>/config.json` and `scheduler/scheduler_config.json`), used when a single-file checkpoint of a standard shape
 * is imported without `--config`:
 *  - sd15: runwayml/stable-diffusion-v1-5;
 *  - sd2-base: stabilityai/stable-diffusion-2-1-base (512², epsilon); sd2-v: stabilityai/stable-diffusion-2-1
 *    (768², v-prediction) — the weights of the two have the same shapes, only the config and prediction differ;
 *  - sdxl: stabilityai/stable-diffusion-xl-base-1.0; sdxl-refiner: stabilityai/stable-diffusion-xl-refiner-1.0.
 * Keys that only restate a diffusers default are kept where the published file has them, so a reader that looks
 * for them finds the same values.
 */

export type Config = Record<string, unknown>;

export interface FamilyConfigs {
  unet: Config;
  vae: Config;
  text_encoder?: Config;
  text_encoder_2?: Config;
  scheduler: Config;
}

export type BuiltinConfigName = 'sd15' | 'sd2-base' | 'sd2-v' | 'sdxl' | 'sdxl-refiner';

const SCALED_LINEAR = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', num_train_timesteps: 1000, trained_betas: null, clip_sample: false, set_alpha_to_one: false, steps_offset: 1 };

const UNET_COMMON = {
  _class_name: 'UNet2DConditionModel',
  act_fn: 'silu',
  center_input_sample: false,
  downsample_padding: 1,
  flip_sin_to_cos: true,
  freq_shift: 0,
  in_channels: 4,
  out_channels: 4,
  layers_per_block: 2,
  mid_block_scale_factor: 1,
  norm_eps: 1e-5,
  norm_num_groups: 32,
};

function vae(sampleSize: number, scalingFactor: number, extra: Config = {}): Config {
  return {
    _class_name: 'AutoencoderKL',
    act_fn: 'silu',
    block_out_channels: [128, 256, 512, 512],
    down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D'],
    up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D'],
    in_channels: 3,
    out_channels: 3,
    latent_channels: 4,
    layers_per_block: 2,
    norm_num_groups: 32,
    sample_size: sampleSize,
    scaling_factor: scalingFactor,
    ...extra,
  };
}

/** CLIP ViT-L/14's text tower (SD 1.x, and SDXL's first encoder). */
function clipL(projectionDim: number, ids: { bos: number; eos: number; pad: number }): Config {
  return {
    architectures: ['CLIPTextModel'],
    model_type: 'clip_text_model',
    attention_dropout: 0.0,
    dropout: 0.0,
    hidden_act: 'quick_gelu',
    hidden_size: 768,
    intermediate_size: 3072,
    initializer_factor: 1.0,
    initializer_range: 0.02,
    layer_norm_eps: 1e-5,
    max_position_embeddings: 77,
    num_attention_heads: 12,
    num_hidden_layers: 12,
    projection_dim: projectionDim,
    vocab_size: 49408,
    bos_token_id: ids.bos,
    eos_token_id: ids.eos,
    pad_token_id: ids.pad,
    torch_dtype: 'float32',
  };
}

/** OpenCLIP ViT-H/14 (SD 2.x): 24 blocks in the checkpoint, 23 used (the penultimate layer's output). */
function openClipH(): Config {
  return {
    architectures: ['CLIPTextModel'],
    model_type: 'clip_text_model',
    attention_dropout: 0.0,
    dropout: 0.0,
    hidden_act: 'gelu',
    hidden_size: 1024,
    intermediate_size: 4096,
    initializer_factor: 1.0,
    initializer_range: 0.02,
    layer_norm_eps: 1e-5,
    max_position_embeddings: 77,
    num_attention_heads: 16,
    num_hidden_layers: 23,
    projection_dim: 512,
    vocab_size: 49408,
    bos_token_id: 0,
    eos_token_id: 2,
    pad_token_id: 1,
    torch_dtype: 'float32',
  };
}

/** OpenCLIP ViT-bigG/14 with its projection (SDXL's second encoder, and the refiner's only one). */
function openClipBigG(): Config {
  return {
    architectures: ['CLIPTextModelWithProjection'],
    model_type: 'clip_text_model',
    attention_dropout: 0.0,
    dropout: 0.0,
    hidden_act: 'gelu',
    hidden_size: 1280,
    intermediate_size: 5120,
    initializer_factor: 1.0,
    initializer_range: 0.02,
    layer_norm_eps: 1e-5,
    max_position_embeddings: 77,
    num_attention_heads: 20,
    num_hidden_layers: 32,
    projection_dim: 1280,
    vocab_size: 49408,
    bos_token_id: 0,
    eos_token_id: 2,
    pad_token_id: 1,
    torch_dtype: 'float32',
  };
}

const SD_DOWN = ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'];
const SD_UP = ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'];

function sd2Unet(sampleSize: number): Config {
  return {
    ...UNET_COMMON,
    attention_head_dim: [5, 10, 20, 20],
    block_out_channels: [320, 640, 1280, 1280],
    cross_attention_dim: 1024,
    down_block_types: SD_DOWN,
    up_block_types: SD_UP,
    dual_cross_attention: false,
    num_class_embeds: null,
    only_cross_attention: false,
    sample_size: sampleSize,
    upcast_attention: sampleSize === 96,
    use_linear_projection: true,
  };
}

/** The two SD 2.x releases differ only in size (512² base, 768² v), scheduler and prediction target. */
function sd2Configs(latentSize: 64 | 96, scheduler: 'PNDMScheduler' | 'DDIMScheduler', prediction: 'epsilon' | 'v_prediction'): FamilyConfigs {
  return {
    unet: sd2Unet(latentSize),
    vae: vae(latentSize * 8, 0.18215),
    text_encoder: openClipH(),
    scheduler: { _class_name: scheduler, ...SCALED_LINEAR, prediction_type: prediction, skip_prk_steps: true },
  };
}

/** What the SDXL base and refiner UNets share beyond every UNet's common keys (the size/time conditioning). */
const SDXL_UNET_COMMON = {
  ...UNET_COMMON,
  addition_embed_type: 'text_time',
  addition_embed_type_num_heads: 64,
  addition_time_embed_dim: 256,
};

const EULER_SDXL = {
  _class_name: 'EulerDiscreteScheduler',
  ...SCALED_LINEAR,
  interpolation_type: 'linear',
  prediction_type: 'epsilon',
  sample_max_value: 1.0,
  skip_prk_steps: true,
  timestep_spacing: 'leading',
  use_karras_sigmas: false,
};

export function builtinConfigs(name: BuiltinConfigName): FamilyConfigs {
  switch (name) {
    case 'sd15':
      return {
        unet: {
          ...UNET_COMMON,
          attention_head_dim: 8,
          block_out_channels: [320, 640, 1280, 1280],
          cross_attention_dim: 768,
          down_block_types: SD_DOWN,
          up_block_types: SD_UP,
          sample_size: 64,
        },
        vae: vae(512, 0.18215),
        text_encoder: clipL(768, { bos: 0, eos: 2, pad: 1 }),
        scheduler: { _class_name: 'PNDMScheduler', ...SCALED_LINEAR, skip_prk_steps: true },
      };
    case 'sd2-base':
      return sd2Configs(64, 'PNDMScheduler', 'epsilon');
    case 'sd2-v':
      return sd2Configs(96, 'DDIMScheduler', 'v_prediction');
    case 'sdxl':
      return {
        unet: {
          ...SDXL_UNET_COMMON,
          attention_head_dim: [5, 10, 20],
          block_out_channels: [320, 640, 1280],
          cross_attention_dim: 2048,
          down_block_types: ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
          up_block_types: ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
          projection_class_embeddings_input_dim: 2816,
          sample_size: 128,
          transformer_layers_per_block: [1, 2, 10],
          use_linear_projection: true,
        },
        vae: vae(1024, 0.13025, { force_upcast: true }),
        text_encoder: clipL(768, { bos: 0, eos: 2, pad: 1 }),
        text_encoder_2: openClipBigG(),
        scheduler: EULER_SDXL,
      };
    case 'sdxl-refiner':
      return {
        unet: {
          ...SDXL_UNET_COMMON,
          attention_head_dim: [6, 12, 24, 24],
          block_out_channels: [384, 768, 1536, 1536],
          cross_attention_dim: 1280,
          down_block_types: ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
          up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
          projection_class_embeddings_input_dim: 2560,
          sample_size: 128,
          transformer_layers_per_block: 4,
          use_linear_projection: true,
        },
        vae: vae(1024, 0.13025, { force_upcast: true }),
        text_encoder_2: openClipBigG(),
        scheduler: EULER_SDXL,
      };
  }
}

/** The model_index.json facts a pipeline folder needs beyond the components (SDXL's empty-prompt rule, refiner's aesthetic score). */
export function builtinPipelineFlags(name: BuiltinConfigName): Config {
  if (name === 'sdxl') return { force_zeros_for_empty_prompt: true };
  if (name === 'sdxl-refiner') return { force_zeros_for_empty_prompt: false, requires_aesthetics_score: true };
  return {};
}
