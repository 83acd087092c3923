import { AppError } from '../../../shared/errors';
import type { TensorRef } from './types';
import { plainRef, rowsRef, transposedRef, type TensorSource } from './refs';

/**
 * Text encoders → transformers `CLIPTextModel` / `CLIPTextModelWithProjection` keys.
 *
 * Hugging Face layout (SD 1.x `cond_stage_model.transformer.*`, SDXL `conditioner.embedders.0.transformer.*`):
 * already the target names, under `text_model.` (very old files lack that level; it is added).
 *
 * OpenCLIP layout (SD 2.x `cond_stage_model.model.*`, SDXL `conditioner.embedders.1.model.*`, refiner
 * `conditioner.embedders.0.model.*`): `token_embedding`, `positional_embedding`, `transformer.resblocks.N`
 * (`ln_1`, `attn.in_proj_weight/bias` = q, k, v stacked on the first axis, `attn.out_proj`, `ln_2`, `mlp.c_fc`,
 * `mlp.c_proj`), `ln_final`, and `text_projection` stored [in, out] (nn.Linear wants [out, in]: transposed).
 *
 * In both, only the config's `num_hidden_layers` blocks are used; surplus blocks are dropped with a note (SD 2.x
 * files hold 24 OpenCLIP blocks; diffusers' encoder is the first 23, whose output is the penultimate layer).
 */

export interface TextMapOptions {
  numHiddenLayers: number;
  hiddenSize: number;
  /** Keep `text_projection` (CLIPTextModelWithProjection). */
  withProjection: boolean;
  file: string;
  /** The checkpoint prefix, for messages. */
  prefix: string;
}

export interface MappedText {
  tensors: Map<string, TensorRef>;
  notes: string[];
}

/** Buffers and training leftovers that are not weights of the diffusers module. */
const HF_IGNORED = /^text_model\.embeddings\.position_ids$/;
const OPENCLIP_IGNORED = /^(logit_scale|attn_mask)$/;

function layerIndex(key: string, pattern: RegExp): number | undefined {
  const m = pattern.exec(key);
  return m ? Number(m[1]) : undefined;
}

function surplusNote(opts: TextMapOptions, dropped: Set<number>): string[] {
  if (dropped.size === 0) return [];
  const sorted = [...dropped].sort((a, b) => a - b);
  return [`${opts.prefix}: ${opts.numHiddenLayers} of ${opts.numHiddenLayers + dropped.size} transformer blocks used (num_hidden_layers); block(s) ${sorted.join(', ')} ignored`];
}

export function mapHfClip(keys: Map<string, TensorSource>, opts: TextMapOptions): MappedText {
  const tensors = new Map<string, TensorRef>();
  const dropped = new Set<number>();
  for (const [raw, src] of keys) {
    const key = raw.startsWith('text_model.') || raw === 'text_projection.weight' ? raw : `text_model.${raw}`;
    if (HF_IGNORED.test(key)) continue;
    const layer = layerIndex(key, /^text_model\.encoder\.layers\.(\d+)\./);
    if (layer !== undefined && layer >= opts.numHiddenLayers) {
      dropped.add(layer);
      continue;
    }
    if (key === 'text_projection.weight' && !opts.withProjection) continue;
    if (!/^text_model\.(embeddings\.(token|position)_embedding\.weight|encoder\.layers\.\d+\.|final_layer_norm\.)|^text_projection\.weight$/.test(key)) {
      throw new AppError('model.source_layout', `${opts.file}: unrecognised text-encoder tensor "${opts.prefix}${raw}"`, { file: opts.file, tensor: opts.prefix + raw });
    }
    tensors.set(key, plainRef(key, src));
  }
  return { tensors, notes: surplusNote(opts, dropped) };
}

const OPENCLIP_RENAMES: [RegExp, string][] = [
  [/^ln_1\./, 'layer_norm1.'],
  [/^ln_2\./, 'layer_norm2.'],
  [/^mlp\.c_fc\./, 'mlp.fc1.'],
  [/^mlp\.c_proj\./, 'mlp.fc2.'],
  [/^attn\.out_proj\./, 'self_attn.out_proj.'],
];

export function mapOpenClip(keys: Map<string, TensorSource>, opts: TextMapOptions): MappedText {
  const tensors = new Map<string, TensorRef>();
  const dropped = new Set<number>();
  const d = opts.hiddenSize;
  const fail = (key: string, why: string): never => {
    throw new AppError('model.source_layout', `${opts.file}: OpenCLIP tensor "${opts.prefix}${key}" ${why}`, { file: opts.file, tensor: opts.prefix + key });
  };
  const set = (target: string, ref: TensorRef): void => {
    tensors.set(target, ref);
  };
  for (const [key, src] of keys) {
    if (OPENCLIP_IGNORED.test(key)) continue;
    if (key === 'token_embedding.weight') set('text_model.embeddings.token_embedding.weight', plainRef('text_model.embeddings.token_embedding.weight', src));
    else if (key === 'positional_embedding') set('text_model.embeddings.position_embedding.weight', plainRef('text_model.embeddings.position_embedding.weight', src));
    else if (key === 'ln_final.weight' || key === 'ln_final.bias') {
      const t = `text_model.final_layer_norm.${key.slice('ln_final.'.length)}`;
      set(t, plainRef(t, src));
    } else if (key === 'text_projection') {
      if (opts.withProjection) set('text_projection.weight', transposedRef('text_projection.weight', src));
    } else {
      const m = /^transformer\.resblocks\.(\d+)\.(.+)$/.exec(key);
      if (!m) fail(key, 'is not part of the OpenCLIP text tower');
      const [, n, rest] = m as RegExpExecArray;
      const layer = Number(n);
      if (layer >= opts.numHiddenLayers) {
        dropped.add(layer);
        continue;
      }
      const base = `text_model.encoder.layers.${layer}.`;
      const fused = /^attn\.in_proj_(weight|bias)$/.exec(rest);
      if (fused) {
        if (src.entry.shape[0] !== 3 * d) fail(key, `has ${src.entry.shape[0]} rows; q, k and v of width ${d} need ${3 * d}`);
        ['q_proj', 'k_proj', 'v_proj'].forEach((name, i) => {
          const t = `${base}self_attn.${name}.${fused[1]}`;
          set(t, rowsRef(t, src, i * d, d));
        });
        continue;
      }
      const rename = OPENCLIP_RENAMES.find(([re]) => re.test(rest));
      if (!rename) fail(key, 'is not a known resblock tensor');
      const t = base + rest.replace((rename as [RegExp, string])[0], (rename as [RegExp, string])[1]);
      set(t, plainRef(t, src));
    }
  }
  return { tensors, notes: surplusNote(opts, dropped) };
}
