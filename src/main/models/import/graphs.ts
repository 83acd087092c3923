import { AppError } from '../../../shared/errors';
import type { ModelProto } from '../../onnx/types';
import { GraphBuilder, OPTIMUM_OPSET } from '../../onnx/synthetic/builder';
import { buildClipTextModel } from '../../onnx/synthetic/clip-text';
import type { RawConfig } from '../../onnx/synthetic/configs';
import { buildUnet } from '../../onnx/synthetic/unet';
import { buildVaeDecoder, buildVaeEncoder } from '../../onnx/synthetic/vae';
import type { WeightStore } from '../../onnx/synthetic/weights';
import type { ImportComponent, ImportFamily, ImportSource } from './types';

/** The ONNX models of an imported folder (optimum's layout), in the order they are written. */
export type OnnxModelName = 'text_encoder' | 'text_encoder_2' | 'unet' | 'vae_encoder' | 'vae_decoder';

export interface GraphPlan {
  name: OnnxModelName;
  /** The source component whose state dict fills it (the VAE's two halves share one). */
  component: ImportComponent;
  config: RawConfig;
  build(store: WeightStore): ModelProto;
}

const isSdxl = (f: ImportFamily) => f === 'sdxl' || f === 'sdxl-refiner';

/**
 * The graphs to build for a family, with optimum's interfaces (opset 17, LayerNormalization, int64 input_ids):
 *  - SD 1.x/2.x: text_encoder → last_hidden_state, pooler_output; UNet timestep float32 [batch] (fractional
 *    Euler/LMS timesteps reach the model unrounded, as in the diffusers script and newer optimum);
 *  - SDXL base: text_encoder (CLIPTextModel) and text_encoder_2 (CLIPTextModelWithProjection) with
 *    hidden_states.0…N, UNet with text_embeds and 6 time_ids and an int64 timestep, as the tiny-sdxl export;
 *  - SDXL refiner: text_encoder_2 only, 5 time ids (aesthetic score);
 *  - the VAE as encoder (→ latent_parameters, deterministic) and decoder.
 */
export function graphPlans(source: ImportSource): GraphPlan[] {
  const { family, configs } = source;
  const sdxl = isSdxl(family);
  const builder = (store: WeightStore) => new GraphBuilder(store, { opset: OPTIMUM_OPSET });
  const plans: GraphPlan[] = [];
  const requireConfig = (key: 'text_encoder' | 'text_encoder_2'): RawConfig => {
    const c = configs[key];
    if (!c) throw new AppError('import.config_missing', `the ${family} source has no ${key} config`, { component: key });
    return c;
  };
  if (family !== 'sdxl-refiner') {
    const config = requireConfig('text_encoder');
    plans.push({
      name: 'text_encoder',
      component: 'text_encoder',
      config,
      build: (s) => buildClipTextModel(builder(s), config, 'text_encoder config', { idsType: 'int64', hiddenStates: sdxl }),
    });
  }
  if (sdxl) {
    const config = requireConfig('text_encoder_2');
    plans.push({
      name: 'text_encoder_2',
      component: 'text_encoder_2',
      config,
      build: (s) => buildClipTextModel(builder(s), config, 'text_encoder_2 config', { idsType: 'int64', hiddenStates: true, projection: true }),
    });
  }
  const unetConfig = unetConfigFor(source);
  if (sdxl && unetConfig.addition_embed_type !== 'text_time') {
    throw new AppError('import.config_mismatch', `the unet config of an ${family} model must have addition_embed_type "text_time"`, { family });
  }
  plans.push({
    name: 'unet',
    component: 'unet',
    config: unetConfig,
    build: (s) => buildUnet(builder(s), unetConfig, 'unet config', { timestepType: sdxl ? 'int64' : 'float32' }),
  });
  plans.push({ name: 'vae_encoder', component: 'vae', config: configs.vae, build: (s) => buildVaeEncoder(builder(s), configs.vae, 'vae config') });
  plans.push({ name: 'vae_decoder', component: 'vae', config: configs.vae, build: (s) => buildVaeDecoder(builder(s), configs.vae, 'vae config') });
  return plans;
}

/**
 * The UNet config as written beside the model: the refiner's 5 time ids follow from `requires_aesthetics_score`,
 * which optimum adds to SDXL UNet configs (with text_encoder_projection_dim) and the loader reads.
 */
export function unetConfigFor(source: ImportSource): RawConfig {
  const c: RawConfig = { ...source.configs.unet };
  if (isSdxl(source.family)) {
    c.requires_aesthetics_score = source.family === 'sdxl-refiner';
    const te2 = source.configs.text_encoder_2;
    if (c.text_encoder_projection_dim === undefined && typeof te2?.projection_dim === 'number') c.text_encoder_projection_dim = te2.projection_dim;
  }
  return c;
}
