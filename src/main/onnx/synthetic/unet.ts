import { makeValueInfo } from '../graph';
import { DataType, type ModelProto } from '../types';
import { floatInfo, type GraphBuilder } from './builder';
import { readUnetConfig, type RawConfig, type UnetConfig } from './configs';
import { attention, conv2d, gelu, gemmLinear, groupNorm, layerNorm, linear, resnetBlock, silu, upsample2d } from './layers';

/**
 * diffusers UNet2DConditionModel (SD 1.x/2.x: DownBlock2D/CrossAttnDownBlock2D, UNetMidBlock2DCrossAttn,
 * UpBlock2D/CrossAttnUpBlock2D) with the diffusers conversion script's graph interface:
 *   sample f32 [batch, C, h, w], timestep f32 [batch] (a [1] tensor is broadcast), encoder_hidden_states
 *   f32 [batch, sequence, cross_attention_dim] → out_sample f32 [batch, C, h, w].
 * Parameter names follow the torch state dict (linear weights stored [in, out], as the exporter folds them).
 */
export interface UnetIo {
  /** float32 (default: the diffusers script; keeps fractional Euler/LMS timesteps) or int64 (optimum's SDXL). */
  timestepType?: 'float32' | 'int64';
}

export function buildUnet(b: GraphBuilder, raw: RawConfig, label?: string, io: UnetIo = {}): ModelProto {
  const c = readUnetConfig(raw, label);
  const timestep = io.timestepType === 'int64' ? b.op('Cast', ['timestep'], { to: DataType.FLOAT }, 'time_proj') : 'timestep';
  const temb = { tensor: timeEmbedding(b, c, timestep), channels: c.blockOutChannels[0] * 4 };
  const norm = { groups: c.normGroups, eps: c.normEps };
  let h = conv2d(b, 'sample', 'conv_in', c.inChannels, c.blockOutChannels[0], { kernel: 3 });
  let channels = c.blockOutChannels[0];
  const skips: { name: string; channels: number }[] = [{ name: h, channels }];
  const last = c.blockOutChannels.length - 1;

  c.downBlockTypes.forEach((type, i) => {
    const out = c.blockOutChannels[i];
    for (let j = 0; j < c.layersPerBlock; j++) {
      h = resnetBlock(b, h, `down_blocks.${i}.resnets.${j}`, channels, out, norm, temb);
      channels = out;
      if (type === 'CrossAttnDownBlock2D') h = transformer2d(b, h, `down_blocks.${i}.attentions.${j}`, out, c.heads[i], c.transformerLayers[i], c);
      skips.push({ name: h, channels });
    }
    if (i < last) {
      h = conv2d(b, h, `down_blocks.${i}.downsamplers.0.conv`, out, out, { kernel: 3, stride: 2, pad: 1 });
      skips.push({ name: h, channels });
    }
  });

  h = resnetBlock(b, h, 'mid_block.resnets.0', channels, channels, norm, temb);
  h = transformer2d(b, h, 'mid_block.attentions.0', channels, c.heads[last], c.transformerLayers[last], c);
  h = resnetBlock(b, h, 'mid_block.resnets.1', channels, channels, norm, temb);

  const reversed = [...c.blockOutChannels].reverse();
  const heads = [...c.heads].reverse();
  const depths = [...c.transformerLayers].reverse();
  c.upBlockTypes.forEach((type, i) => {
    const out = reversed[i];
    for (let j = 0; j <= c.layersPerBlock; j++) {
      const skip = skips.pop()!;
      h = b.op('Concat', [h, skip.name], { axis: 1 }, `up_blocks.${i}`);
      h = resnetBlock(b, h, `up_blocks.${i}.resnets.${j}`, channels + skip.channels, out, norm, temb);
      channels = out;
      if (type === 'CrossAttnUpBlock2D') h = transformer2d(b, h, `up_blocks.${i}.attentions.${j}`, out, heads[i], depths[i], c);
    }
    if (i < last) h = upsample2d(b, h, `up_blocks.${i}.upsamplers.0`, out);
  });

  h = silu(b, groupNorm(b, h, 'conv_norm_out', channels, c.normGroups, c.normEps), 'conv_act');
  b.rename(conv2d(b, h, 'conv_out', channels, c.outChannels, { kernel: 3 }), 'out_sample');
  const inputs = [
    floatInfo('sample', ['batch', 'channels', 'height', 'width']),
    io.timestepType === 'int64' ? makeValueInfo('timestep', DataType.INT64, ['steps']) : floatInfo('timestep', ['batch']),
    floatInfo('encoder_hidden_states', ['batch', 'sequence', c.crossAttentionDim]),
  ];
  if (c.textTime) inputs.push(floatInfo('text_embeds', ['batch', c.textTime.textEmbedsDim]), floatInfo('time_ids', ['batch', c.textTime.timeIds]));
  return b.model('unet', inputs, [floatInfo('out_sample', ['batch', c.outChannels, 'height', 'width'])]);
}

/** diffusers get_timestep_embedding on a [N] float tensor: [N, dim] of cos ‖ sin (flip_sin_to_cos) or sin ‖ cos. */
function sinusoidal(b: GraphBuilder, t: string, dim: number, c: UnetConfig, scope: string): string {
  const half = dim / 2;
  const column = b.op('Unsqueeze', [t, b.ints([1])], {}, scope); // [N, 1]
  // exp(-ln(10000)·i / (half − freq_shift)), i = 0..half−1
  const freqs = Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / (half - c.freqShift)));
  const args = b.op('Mul', [column, b.constant(DataType.FLOAT, [1, half], freqs)], {}, scope);
  const sin = b.op('Sin', [args], {}, scope);
  const cos = b.op('Cos', [args], {}, scope);
  return b.op('Concat', c.flipSinToCos ? [cos, sin] : [sin, cos], { axis: -1 }, scope);
}

/**
 * SDXL's `text_time` added embedding: each time id through the sinusoidal embedding (addition_time_embed_dim),
 * flattened per sample, after the pooled text embedding; then add_embedding (linear_1 → SiLU → linear_2).
 */
function addedEmbedding(b: GraphBuilder, c: UnetConfig, timeDim: number): string {
  const tt = c.textTime!;
  const flat = b.op('Reshape', ['time_ids', b.ints([-1])], {}, 'add_time_proj');
  const features = sinusoidal(b, flat, tt.timeEmbedDim, c, 'add_time_proj'); // [B·ids, d]
  const perSample = b.op('Reshape', [features, b.ints([-1, tt.timeIds * tt.timeEmbedDim])], {}, 'add_time_proj');
  const joined = b.op('Concat', ['text_embeds', perSample], { axis: -1 }, 'add_embedding');
  const hidden = silu(b, gemmLinear(b, joined, 'add_embedding.linear_1', tt.inputDim, timeDim), 'add_embedding.act');
  return gemmLinear(b, hidden, 'add_embedding.linear_2', timeDim, timeDim);
}

/**
 * Timesteps (broadcast to the batch) → sinusoidal features → linear_1 → SiLU → linear_2 (+ SDXL's added
 * embedding), then the SiLU every resnet applies.
 */
function timeEmbedding(b: GraphBuilder, c: UnetConfig, timestep: string): string {
  const dim = c.blockOutChannels[0];
  const batch = b.op('Slice', [b.op('Shape', ['sample'], {}, 'time_proj'), b.ints([0]), b.ints([1])], {}, 'time_proj');
  const t = b.op('Expand', [timestep, batch], {}, 'time_proj');
  const features = sinusoidal(b, t, dim, c, 'time_proj');
  const timeDim = dim * 4;
  let emb = gemmLinear(b, silu(b, gemmLinear(b, features, 'time_embedding.linear_1', dim, timeDim), 'time_embedding.act'), 'time_embedding.linear_2', timeDim, timeDim);
  if (c.textTime) emb = b.op('Add', [emb, addedEmbedding(b, c, timeDim)], {}, 'add_embedding');
  return silu(b, emb, 'time_embedding.resnet_act');
}

/** Transformer2DModel: GroupNorm, proj_in (1×1 conv, or linear for use_linear_projection), blocks, proj_out, residual. */
function transformer2d(b: GraphBuilder, x: string, scope: string, channels: number, heads: number, depth: number, c: UnetConfig): string {
  let h = groupNorm(b, x, `${scope}.norm`, channels, c.normGroups, 1e-6);
  if (!c.useLinearProjection) h = conv2d(b, h, `${scope}.proj_in`, channels, channels, { kernel: 1, pad: 0 });
  // [B, C, H, W] → [B, H·W, C]
  h = b.op('Reshape', [b.op('Transpose', [h], { perm: [0, 2, 3, 1] }, scope), b.ints([0, -1, channels])], {}, scope);
  if (c.useLinearProjection) h = linear(b, h, `${scope}.proj_in`, channels, channels);
  for (let k = 0; k < depth; k++) h = basicTransformerBlock(b, h, `${scope}.transformer_blocks.${k}`, channels, heads, c.crossAttentionDim);
  if (c.useLinearProjection) h = linear(b, h, `${scope}.proj_out`, channels, channels);
  // [B, H·W, C] → [B, C, H, W]
  h = b.op('Reshape', [b.op('Transpose', [h], { perm: [0, 2, 1] }, scope), b.op('Shape', [x], {}, scope)], {}, scope);
  if (!c.useLinearProjection) h = conv2d(b, h, `${scope}.proj_out`, channels, channels, { kernel: 1, pad: 0 });
  return b.op('Add', [h, x], {}, scope);
}

/** Pre-LN self-attention, cross-attention on encoder_hidden_states, GEGLU feed-forward; residual after each. */
function basicTransformerBlock(b: GraphBuilder, x: string, scope: string, dim: number, heads: number, contextDim: number): string {
  const names: [string, string, string, string] = ['to_q', 'to_k', 'to_v', 'to_out.0'];
  let n = layerNorm(b, x, `${scope}.norm1`, dim, 1e-5);
  let h = b.op('Add', [attention(b, { scope: `${scope}.attn1`, query: n, context: n, dim, contextDim: dim, heads, names, qkvBias: 'none', outBias: 'random' }), x], {}, scope);
  n = layerNorm(b, h, `${scope}.norm2`, dim, 1e-5);
  const cross = attention(b, { scope: `${scope}.attn2`, query: n, context: 'encoder_hidden_states', dim, contextDim, heads, names, qkvBias: 'none', outBias: 'random' });
  h = b.op('Add', [cross, h], {}, scope);
  n = layerNorm(b, h, `${scope}.norm3`, dim, 1e-5);
  const inner = dim * 4;
  const proj = linear(b, n, `${scope}.ff.net.0.proj`, dim, inner * 2);
  const value = b.op('Slice', [proj, b.ints([0]), b.ints([inner]), b.ints([-1])], {}, `${scope}.ff`);
  const gate = b.op('Slice', [proj, b.ints([inner]), b.ints([inner * 2]), b.ints([-1])], {}, `${scope}.ff`);
  const geglu = b.op('Mul', [value, gelu(b, gate, `${scope}.ff`)], {}, `${scope}.ff`);
  return b.op('Add', [linear(b, geglu, `${scope}.ff.net.2`, inner, dim), h], {}, scope);
}
