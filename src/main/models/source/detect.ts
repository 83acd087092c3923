import { AppError } from '../../../shared/errors';
import type { ModelFamily } from './types';

/**
 * What a single-file checkpoint is, from its tensor names and shapes alone (a header is enough). Files that are not
 * a whole Stable Diffusion 1.x/2.x/XL model are refused with what was found: LoRA/LyCORIS and textual-inversion
 * add-ons, ControlNets, SD3/Flux transformers, inpainting and other UNets whose input is not 4 latent channels.
 */

export const MODEL_UNSUPPORTED = 'model.unsupported';

export interface ShapeIndex {
  has(key: string): boolean;
  keys(): Iterable<string>;
  shape(key: string): number[] | undefined;
}

export const UNET_PREFIX = 'model.diffusion_model.';

/** The text-encoder prefixes, per family and component. */
export const TEXT_PREFIXES = {
  sd1: { text_encoder: 'cond_stage_model.transformer.' },
  sd2: { text_encoder: 'cond_stage_model.model.' },
  sdxl: { text_encoder: 'conditioner.embedders.0.transformer.', text_encoder_2: 'conditioner.embedders.1.model.' },
  'sdxl-refiner': { text_encoder_2: 'conditioner.embedders.0.model.' },
} as const satisfies Record<ModelFamily, Partial<Record<'text_encoder' | 'text_encoder_2', string>>>;

function refuse(file: string, what: string, found: string[], advice: string): never {
  throw new AppError(MODEL_UNSUPPORTED, `${file}: this is ${what} (found ${found.map((k) => `"${k}"`).join(', ')}), not a model the importer takes. ${advice}`, { file, found });
}

function firstMatching(keys: string[], test: (k: string) => boolean, n = 2): string[] {
  const out: string[] = [];
  for (const k of keys) {
    if (test(k)) out.push(k);
    if (out.length >= n) break;
  }
  return out;
}

/** Refuses every kind of file the importer does not take; returns quietly for a plausible SD checkpoint. */
export function refuseUnsupported(index: ShapeIndex, file: string): void {
  const keys = [...index.keys()];
  if (keys.length === 0) throw new AppError(MODEL_UNSUPPORTED, `${file}: the file holds no tensors`, { file });

  const lora = firstMatching(keys, (k) => /^lora_(unet|te\d?)_|^lycoris_|\.lora_(down|up)\.|\.lora\.(down|up)\.|\.lora_linear_layer\.|\.lora_[AB]\.|\.hada_w[12]_[ab]$|\.lokr_w[12]/.test(k));
  if (lora.length > 0) refuse(file, 'a LoRA/LyCORIS add-on', lora, 'Import the base model it was trained for instead; LoRAs are not applied by the importer.');

  const tiKeys = new Set(['emb_params', 'clip_l', 'clip_g', 'string_to_token', 'string_to_param', 'name', 'step', 'sd_checkpoint', 'sd_checkpoint_name']);
  const ti = keys.every((k) => tiKeys.has(k.split('.')[0]) || k.startsWith('string_to_param.') || k.startsWith('string_to_token.'));
  if (ti) refuse(file, 'a textual-inversion embedding', keys.slice(0, 2), 'Use it as a style embedding (dreamframe style) with a model of its family.');

  const control = firstMatching(keys, (k) => /^control_model\.|input_hint_block|^controlnet_cond_embedding\.|^controlnet_down_blocks\./.test(k));
  if (control.length > 0) refuse(file, 'a ControlNet', control, 'ControlNets are not supported; import the base model.');

  const mmdit = firstMatching(keys, (k) => /(^|\.)joint_blocks\.\d+\./.test(k));
  if (mmdit.length > 0) refuse(file, 'a Stable Diffusion 3 (MMDiT) model', mmdit, 'Only SD 1.x, SD 2.x and SDXL UNet models are supported.');
  const flux = firstMatching(keys, (k) => /(^|\.)(double_blocks|single_blocks)\.\d+\./.test(k));
  if (flux.length > 0) refuse(file, 'a Flux model', flux, 'Only SD 1.x, SD 2.x and SDXL UNet models are supported.');

  if (!keys.some((k) => k.startsWith(UNET_PREFIX))) {
    if (keys.some((k) => /^(conv_in|down_blocks|text_model|encoder\.down_blocks|decoder\.up_blocks)\./.test(k))) {
      throw new AppError(MODEL_UNSUPPORTED, `${file}: this is one component of a diffusers model (found "${keys[0]}"); import the folder holding model_index.json`, { file });
    }
    throw new AppError(
      MODEL_UNSUPPORTED,
      `${file}: no "${UNET_PREFIX}*" tensors, so this is not a single-file Stable Diffusion checkpoint (found ${keys.slice(0, 3).map((k) => `"${k}"`).join(', ')}${keys.length > 3 ? ', …' : ''})`,
      { file, found: keys.slice(0, 3) },
    );
  }

  const convIn = index.shape(`${UNET_PREFIX}input_blocks.0.0.weight`);
  if (!convIn || convIn.length !== 4) {
    throw new AppError(MODEL_UNSUPPORTED, `${file}: "${UNET_PREFIX}input_blocks.0.0.weight" (the UNet's conv_in) is missing or not 4-D`, { file });
  }
  if (convIn[1] !== 4) {
    const what = convIn[1] === 9 ? 'an inpainting UNet (9 input channels: latents, mask, masked image)' : convIn[1] === 8 ? 'an InstructPix2Pix-style UNet (8 input channels)' : `a UNet with ${convIn[1]} input channels`;
    throw new AppError(MODEL_UNSUPPORTED, `${file}: this is ${what}; only text-to-image UNets with 4 input channels are supported`, { file, inChannels: convIn[1] });
  }
}

function hasPrefix(index: ShapeIndex, prefix: string): boolean {
  for (const k of index.keys()) if (k.startsWith(prefix)) return true;
  return false;
}

/** The family by the text encoders present. Throws naming the prefixes found when none fits. */
export function detectFamily(index: ShapeIndex, file: string): ModelFamily {
  const e0hf = hasPrefix(index, 'conditioner.embedders.0.transformer.');
  const e0oc = hasPrefix(index, 'conditioner.embedders.0.model.');
  const e1oc = hasPrefix(index, 'conditioner.embedders.1.model.');
  if (e0hf && e1oc) return 'sdxl';
  if (e0oc && !hasPrefix(index, 'conditioner.embedders.1.')) return 'sdxl-refiner';
  if (hasPrefix(index, 'cond_stage_model.model.')) return 'sd2';
  if (hasPrefix(index, 'cond_stage_model.transformer.')) return 'sd1';
  const found = [...new Set([...index.keys()].filter((k) => k.startsWith('cond_stage_model.') || k.startsWith('conditioner.')).map((k) => k.split('.').slice(0, 3).join('.')))];
  throw new AppError(
    MODEL_UNSUPPORTED,
    `${file}: cannot tell the family: no text encoder in a known layout (${found.length > 0 ? `found ${found.slice(0, 4).join(', ')}` : 'no cond_stage_model.* or conditioner.* tensors'}); a checkpoint without its text encoder cannot be imported`,
    { file, found },
  );
}

/** The shapes that distinguish the standard architectures, read from the header. */
export interface ArchitectureFacts {
  /** conv_in output channels (block_out_channels[0]). */
  modelChannels?: number;
  /** Cross-attention context width. */
  contextDim?: number;
  /** label_emb input width (SDXL's projection_class_embeddings_input_dim). */
  admInChannels?: number;
}

export function architectureFacts(index: ShapeIndex): ArchitectureFacts {
  const convIn = index.shape(`${UNET_PREFIX}input_blocks.0.0.weight`);
  let contextDim: number | undefined;
  for (const k of index.keys()) {
    if (k.startsWith(UNET_PREFIX) && k.endsWith('.attn2.to_k.weight')) {
      contextDim = index.shape(k)?.[1];
      break;
    }
  }
  return { modelChannels: convIn?.[0], contextDim, admInChannels: index.shape(`${UNET_PREFIX}label_emb.0.0.weight`)?.[1] };
}

export const STANDARD_FACTS: Record<ModelFamily, Required<Pick<ArchitectureFacts, 'modelChannels' | 'contextDim'>> & { admInChannels?: number }> = {
  sd1: { modelChannels: 320, contextDim: 768 },
  sd2: { modelChannels: 320, contextDim: 1024 },
  sdxl: { modelChannels: 320, contextDim: 2048, admInChannels: 2816 },
  'sdxl-refiner': { modelChannels: 384, contextDim: 1280, admInChannels: 2560 },
};

/** Differences from the family's standard shapes, as readable phrases (empty when the file is standard). */
export function nonStandardShapes(family: ModelFamily, facts: ArchitectureFacts): string[] {
  const want = STANDARD_FACTS[family];
  const out: string[] = [];
  if (facts.modelChannels !== want.modelChannels) out.push(`conv_in has ${facts.modelChannels} channels (standard ${want.modelChannels})`);
  if (facts.contextDim !== want.contextDim) out.push(`cross-attention context is ${facts.contextDim ?? 'absent'} wide (standard ${want.contextDim})`);
  if (facts.admInChannels !== want.admInChannels) out.push(`label_emb input is ${facts.admInChannels ?? 'absent'} (standard ${want.admInChannels ?? 'absent'})`);
  return out;
}
