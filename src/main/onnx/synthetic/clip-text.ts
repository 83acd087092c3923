import { AppError } from '../../../shared/errors';
import { makeValueInfo } from '../graph';
import { DataType, type ModelProto } from '../types';
import { floatInfo, type GraphBuilder } from './builder';
import { readClipTextConfig, type RawConfig } from './configs';
import { attention, fillValue, gelu, layerNorm, linear, quickGelu } from './layers';

/** Most negative float32: transformers fills the causal mask with torch.finfo(float32).min. */
const FLOAT32_MIN = -3.4028234663852886e38;

/**
 * The graph interface of a text encoder:
 *  - `diffusers-script` (default): int32 input_ids → last_hidden_state, pooler_output (the tiny-sd15 fixture);
 *  - `optimum`: int64 input_ids; with `hiddenStates` also hidden_states.0…N (embeddings, then each layer's output
 *    before the final LayerNorm: what SDXL takes the penultimate of); with `projection` (CLIPTextModelWithProjection,
 *    SDXL's second encoder) `text_embeds` = pooled · text_projection replaces pooler_output, first in the outputs.
 */
export interface TextEncoderIo {
  idsType?: 'int32' | 'int64';
  hiddenStates?: boolean;
  projection?: boolean;
}

/**
 * transformers CLIPTextModel (pre-LN encoder, causal mask, final LayerNorm, pooled output at argmax(input_ids))
 * with the diffusers conversion script's interface: input_ids int32 [batch, sequence] → last_hidden_state
 * f32 [batch, sequence, hidden], pooler_output f32 [batch, hidden].
 * The token table is gathered straight from `input_ids`, which is what the TI gradient builder cuts
 * (token-embedding-surgery.ts); linear biases start at zero as transformers initialises CLIP.
 */
export function buildClipTextModel(b: GraphBuilder, raw: RawConfig, label?: string, io: TextEncoderIo = {}): ModelProto {
  const c = readClipTextConfig(raw, label);
  const projectionDim = io.projection ? readProjectionDim(raw, label ?? 'text_encoder config') : 0;
  const d = c.hiddenSize;
  const s = 'text_model';
  const table = b.param(`${s}.embeddings.token_embedding.weight`, [c.vocabSize, d], { kind: 'normal', std: 0.02 });
  const positions = b.param(`${s}.embeddings.position_embedding.weight`, [c.maxPositions, d], { kind: 'normal', std: 0.01 });
  const tokens = b.op('Gather', [table, 'input_ids'], { axis: 0 }, `${s}.embeddings`);
  const idsShape = b.op('Shape', ['input_ids'], {}, s);
  const seq = b.op('Slice', [idsShape, b.ints([1]), b.ints([2])], {}, s); // [1]
  const posRows = b.op('Slice', [positions, b.ints([0]), seq, b.ints([0])], {}, `${s}.embeddings`); // [S, D]
  let h = b.op('Add', [tokens, posRows], {}, `${s}.embeddings`);
  const hidden: string[] = [];
  if (io.hiddenStates) hidden.push((h = b.rename(h, 'hidden_states.0')));

  // Causal mask [S, S]: FLOAT32_MIN strictly above the diagonal, 0 elsewhere; broadcast over batch and heads.
  const square = b.op('Concat', [seq, seq], { axis: 0 }, s);
  const mask = b.op('Trilu', [b.op('ConstantOfShape', [square], { value: fillValue(FLOAT32_MIN) }, s), b.constant(DataType.INT64, [], [1])], { upper: 1 }, s);

  for (let i = 0; i < c.layers; i++) {
    const scope = `${s}.encoder.layers.${i}`;
    const n1 = layerNorm(b, h, `${scope}.layer_norm1`, d, c.layerNormEps);
    const attn = attention(b, {
      scope: `${scope}.self_attn`,
      query: n1,
      context: n1,
      dim: d,
      contextDim: d,
      heads: c.heads,
      names: ['q_proj', 'k_proj', 'v_proj', 'out_proj'],
      qkvBias: 'zero',
      outBias: 'zero',
      mask,
    });
    h = b.op('Add', [h, attn], {}, scope);
    const n2 = layerNorm(b, h, `${scope}.layer_norm2`, d, c.layerNormEps);
    const fc1 = linear(b, n2, `${scope}.mlp.fc1`, d, c.intermediateSize, 'zero');
    const act = c.hiddenAct === 'quick_gelu' ? quickGelu(b, fc1, `${scope}.mlp`) : gelu(b, fc1, `${scope}.mlp`);
    h = b.op('Add', [h, linear(b, act, `${scope}.mlp.fc2`, c.intermediateSize, d, 'zero')], {}, scope);
    if (io.hiddenStates) hidden.push((h = b.rename(h, `hidden_states.${i + 1}`)));
  }
  const last = b.rename(layerNorm(b, h, `${s}.final_layer_norm`, d, c.layerNormEps), 'last_hidden_state');

  // pooled = last[b, argmax(ids[b])]: gather rows of the [B·S, D] flattening at b·S + argmax.
  const eos = b.op('ArgMax', ['input_ids'], { axis: -1, keepdims: 0 }, s);
  const batch = b.op('Gather', [idsShape, b.constant(DataType.INT64, [], [0])], { axis: 0 }, s);
  const seqScalar = b.op('Gather', [idsShape, b.constant(DataType.INT64, [], [1])], { axis: 0 }, s);
  const rowStarts = b.op('Mul', [b.op('Range', [b.constant(DataType.INT64, [], [0]), batch, b.constant(DataType.INT64, [], [1])], {}, s), seqScalar], {}, s);
  const flat = b.op('Flatten', [last], { axis: 2 }, s);
  const pooled = b.op('Gather', [flat, b.op('Add', [rowStarts, eos], {}, s)], { axis: 0 }, s);

  const outputs = [floatInfo('last_hidden_state', ['batch', 'sequence', d])];
  if (io.projection) {
    // CLIPTextModelWithProjection: text_projection is an nn.Linear without bias, [projection, hidden] in torch.
    const w = b.param('text_projection.weight', [d, projectionDim], { kind: 'normal', std: 1 / Math.sqrt(d) }, 'transposed');
    b.rename(b.op('MatMul', [pooled, w], {}, 'text_projection'), 'text_embeds');
    outputs.unshift(floatInfo('text_embeds', ['batch', projectionDim]));
  } else {
    b.rename(pooled, 'pooler_output');
    outputs.push(floatInfo('pooler_output', ['batch', d]));
  }
  for (const name of hidden) outputs.push(floatInfo(name, ['batch', 'sequence', d]));
  const idsType = io.idsType === 'int64' ? DataType.INT64 : DataType.INT32;
  return b.model(io.projection ? 'text_encoder_2' : 'text_encoder', [makeValueInfo('input_ids', idsType, ['batch', 'sequence'])], outputs);
}

function readProjectionDim(raw: RawConfig, label: string): number {
  const v = raw.projection_dim;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new AppError('synthetic_config_invalid', `${label}: "projection_dim" = ${JSON.stringify(v)}: expected a positive integer (CLIPTextModelWithProjection)`, { config: label, key: 'projection_dim', value: v });
  }
  return v;
}
