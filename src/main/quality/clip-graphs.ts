import { AppError } from '../../shared/errors';
import { makeValueInfo } from '../onnx/graph';
import { floatInfo, GraphBuilder } from '../onnx/synthetic/builder';
import { buildClipTextModel } from '../onnx/synthetic/clip-text';
import type { RawConfig } from '../onnx/synthetic/configs';
import { attention, gelu, layerNorm, linear, quickGelu } from '../onnx/synthetic/layers';
import type { WeightStore } from '../onnx/synthetic/weights';
import { DataType, type ModelProto } from '../onnx/types';

/**
 * The two halves of a transformers CLIPModel as ONNX graphs with the optimum export's interface:
 *   text:   input_ids [N, S] → text_embeds [N, P] (text_projection of the pooled EOS state), last_hidden_state
 *   vision: pixel_values [N, C, H, W] → image_embeds [N, P] (visual_projection of post_layernorm(CLS)), last_hidden_state
 * The text half reuses the synthetic CLIPTextModel builder; the vision half is built here with the same layers.
 */

export interface ClipVisionConfig {
  hiddenSize: number;
  intermediateSize: number;
  heads: number;
  layers: number;
  imageSize: number;
  patchSize: number;
  channels: number;
  hiddenAct: 'quick_gelu' | 'gelu';
  layerNormEps: number;
}

function field(raw: RawConfig, key: string, label: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new AppError('quality.model_invalid', `${label}: "${key}" = ${JSON.stringify(raw[key])}: expected a positive number`, { config: label, key });
  }
  return v;
}

export function readClipVisionConfig(raw: RawConfig, label = 'vision_config'): ClipVisionConfig {
  const act = raw.hidden_act ?? 'quick_gelu';
  if (act !== 'quick_gelu' && act !== 'gelu') throw new AppError('quality.model_invalid', `${label}: "hidden_act" = ${JSON.stringify(act)}: expected quick_gelu or gelu`, { config: label, key: 'hidden_act' });
  const c: ClipVisionConfig = {
    hiddenSize: field(raw, 'hidden_size', label),
    intermediateSize: field(raw, 'intermediate_size', label),
    heads: field(raw, 'num_attention_heads', label),
    layers: field(raw, 'num_hidden_layers', label),
    imageSize: field(raw, 'image_size', label),
    patchSize: field(raw, 'patch_size', label),
    channels: field(raw, 'num_channels', label, 3),
    hiddenAct: act,
    layerNormEps: field(raw, 'layer_norm_eps', label, 1e-5),
  };
  if (c.imageSize % c.patchSize !== 0) throw new AppError('quality.model_invalid', `${label}: image_size ${c.imageSize} is not a multiple of patch_size ${c.patchSize}`, { config: label });
  if (c.hiddenSize % c.heads !== 0) throw new AppError('quality.model_invalid', `${label}: hidden_size ${c.hiddenSize} is not a multiple of num_attention_heads ${c.heads}`, { config: label });
  return c;
}

/** CLIPEncoderLayer: pre-LN self-attention and MLP, each with a residual. */
function encoderLayer(b: GraphBuilder, h: string, scope: string, d: number, inner: number, heads: number, act: string, eps: number): string {
  const n1 = layerNorm(b, h, `${scope}.layer_norm1`, d, eps);
  const attn = attention(b, {
    scope: `${scope}.self_attn`, query: n1, context: n1, dim: d, contextDim: d, heads,
    names: ['q_proj', 'k_proj', 'v_proj', 'out_proj'], qkvBias: 'zero', outBias: 'zero',
  });
  const h1 = b.op('Add', [h, attn], {}, scope);
  const n2 = layerNorm(b, h1, `${scope}.layer_norm2`, d, eps);
  const fc1 = linear(b, n2, `${scope}.mlp.fc1`, d, inner, 'zero');
  const a = act === 'quick_gelu' ? quickGelu(b, fc1, `${scope}.mlp`) : gelu(b, fc1, `${scope}.mlp`);
  return b.op('Add', [h1, linear(b, a, `${scope}.mlp.fc2`, inner, d, 'zero')], {}, scope);
}

/** CLIPVisionModelWithProjection. */
export function buildClipVisionModel(store: WeightStore, raw: RawConfig, projectionDim: number, label?: string): ModelProto {
  const c = readClipVisionConfig(raw, label);
  const b = new GraphBuilder(store);
  const d = c.hiddenSize;
  const s = 'vision_model';
  const grid = c.imageSize / c.patchSize;
  const patches = grid * grid;
  const e = `${s}.embeddings`;
  const convW = b.param(`${e}.patch_embedding.weight`, [d, c.channels, c.patchSize, c.patchSize], { kind: 'normal', std: 0.02 });
  const conv = b.op('Conv', ['pixel_values', convW], { dilations: [1, 1], group: 1, kernel_shape: [c.patchSize, c.patchSize], pads: [0, 0, 0, 0], strides: [c.patchSize, c.patchSize] }, e);
  const tokens = b.op('Transpose', [b.op('Reshape', [conv, b.ints([0, d, patches])], {}, e)], { perm: [0, 2, 1] }, e); // [N, P, D]
  const cls = b.param(`${e}.class_embedding`, [d], { kind: 'normal', std: 0.02 });
  const batch = b.op('Slice', [b.op('Shape', ['pixel_values'], {}, e), b.ints([0]), b.ints([1])], {}, e);
  const clsShape = b.op('Concat', [batch, b.ints([1, d])], { axis: 0 }, e);
  const clsRows = b.op('Expand', [b.op('Reshape', [cls, b.ints([1, 1, d])], {}, e), clsShape], {}, e);
  const positions = b.param(`${e}.position_embedding.weight`, [patches + 1, d], { kind: 'normal', std: 0.02 });
  let h = b.op('Add', [b.op('Concat', [clsRows, tokens], { axis: 1 }, e), positions], {}, e);
  h = layerNorm(b, h, `${s}.pre_layrnorm`, d, c.layerNormEps); // sic: transformers' parameter name
  for (let i = 0; i < c.layers; i++) h = encoderLayer(b, h, `${s}.encoder.layers.${i}`, d, c.intermediateSize, c.heads, c.hiddenAct, c.layerNormEps);
  const last = b.rename(h, 'last_hidden_state');
  const clsState = b.op('Gather', [last, b.constant(DataType.INT64, [], [0])], { axis: 1 }, s); // [N, D]
  const pooled = layerNorm(b, clsState, `${s}.post_layernorm`, d, c.layerNormEps);
  b.rename(linear(b, pooled, 'visual_projection', d, projectionDim, 'none'), 'image_embeds');
  return b.model('vision_model', [floatInfo('pixel_values', ['batch_size', c.channels, c.imageSize, c.imageSize])], [
    floatInfo('image_embeds', ['batch_size', projectionDim]),
    floatInfo('last_hidden_state', ['batch_size', patches + 1, d]),
  ]);
}

/** CLIPTextModelWithProjection: the synthetic text encoder plus text_projection on its pooled output. */
export function buildClipTextProjectionModel(store: WeightStore, raw: RawConfig, projectionDim: number, label?: string): ModelProto {
  const b = new GraphBuilder(store);
  const model = buildClipTextModel(b, raw, label);
  const hidden = field(raw, 'hidden_size', label ?? 'text_config');
  // The builder's graph shares the node and initializer arrays with `b`, so appending here extends the model.
  b.rename(linear(b, 'pooler_output', 'text_projection', hidden, projectionDim, 'none'), 'text_embeds');
  model.graph.input = [makeValueInfo('input_ids', DataType.INT64, ['batch_size', 'sequence_length'])];
  model.graph.output = [floatInfo('text_embeds', ['batch_size', projectionDim]), floatInfo('last_hidden_state', ['batch_size', 'sequence_length', hidden])];
  return model;
}
