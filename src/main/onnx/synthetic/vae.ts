import type { ModelProto } from '../types';
import { floatInfo, type GraphBuilder } from './builder';
import { readVaeConfig, type RawConfig, type VaeConfig } from './configs';
import { attention, conv2d, groupNorm, resnetBlock, silu, upsample2d, type NormSettings } from './layers';

/**
 * diffusers AutoencoderKL split as the conversion script splits it, quant convs included:
 *   encoder: sample f32 [batch, in, H, W] → latent_parameters f32 [batch, 2·latent, H/f, W/f] = mean ‖ logvar
 *            (the deterministic variant newer optimum exports; our loader clamps logvar and samples in JS),
 *   decoder: latent_sample f32 [batch, latent, h, w] → sample f32 [batch, out, h·f, w·f] (raw, about [-1, 1]).
 * Parameter names are the state dict's (`encoder.*` + `quant_conv.*`, `post_quant_conv.*` + `decoder.*`).
 */
const VAE_EPS = 1e-6;

export function buildVaeEncoder(b: GraphBuilder, raw: RawConfig, label?: string): ModelProto {
  const c = readVaeConfig(raw, label);
  const norm: NormSettings = { groups: c.normGroups, eps: VAE_EPS };
  const last = c.blockOutChannels.length - 1;
  let h = conv2d(b, 'sample', 'encoder.conv_in', c.inChannels, c.blockOutChannels[0], { kernel: 3 });
  let channels = c.blockOutChannels[0];
  c.blockOutChannels.forEach((out, i) => {
    for (let j = 0; j < c.layersPerBlock; j++) {
      h = resnetBlock(b, h, `encoder.down_blocks.${i}.resnets.${j}`, channels, out, norm);
      channels = out;
    }
    if (i < last) {
      // Downsample2D(padding=0): pad right and bottom by one, then a stride-2 conv without padding.
      const scope = `encoder.down_blocks.${i}.downsamplers.0`;
      const padded = b.op('Pad', [h, b.ints([0, 0, 0, 0, 0, 0, 1, 1]), b.scalar(0)], { mode: 'constant' }, scope);
      h = conv2d(b, padded, `${scope}.conv`, out, out, { kernel: 3, stride: 2, pad: 0 });
    }
  });
  h = midBlock(b, h, 'encoder.mid_block', channels, norm);
  h = silu(b, groupNorm(b, h, 'encoder.conv_norm_out', channels, c.normGroups, VAE_EPS), 'encoder.conv_act');
  h = conv2d(b, h, 'encoder.conv_out', channels, 2 * c.latentChannels, { kernel: 3 });
  b.rename(conv2d(b, h, 'quant_conv', 2 * c.latentChannels, 2 * c.latentChannels, { kernel: 1, pad: 0 }), 'latent_parameters');
  return b.model('vae_encoder', [floatInfo('sample', ['batch', 'channels', 'height', 'width'])], [
    floatInfo('latent_parameters', ['batch', 2 * c.latentChannels, 'latent_height', 'latent_width']),
  ]);
}

export function buildVaeDecoder(b: GraphBuilder, raw: RawConfig, label?: string): ModelProto {
  const c: VaeConfig = readVaeConfig(raw, label);
  const norm: NormSettings = { groups: c.normGroups, eps: VAE_EPS };
  const reversed = [...c.blockOutChannels].reverse();
  let h = conv2d(b, 'latent_sample', 'post_quant_conv', c.latentChannels, c.latentChannels, { kernel: 1, pad: 0 });
  h = conv2d(b, h, 'decoder.conv_in', c.latentChannels, reversed[0], { kernel: 3 });
  let channels = reversed[0];
  h = midBlock(b, h, 'decoder.mid_block', channels, norm);
  reversed.forEach((out, i) => {
    for (let j = 0; j <= c.layersPerBlock; j++) {
      h = resnetBlock(b, h, `decoder.up_blocks.${i}.resnets.${j}`, channels, out, norm);
      channels = out;
    }
    if (i < reversed.length - 1) h = upsample2d(b, h, `decoder.up_blocks.${i}.upsamplers.0`, out);
  });
  h = silu(b, groupNorm(b, h, 'decoder.conv_norm_out', channels, c.normGroups, VAE_EPS), 'decoder.conv_act');
  b.rename(conv2d(b, h, 'decoder.conv_out', channels, c.outChannels, { kernel: 3 }), 'sample');
  return b.model('vae_decoder', [floatInfo('latent_sample', ['batch', 'channels', 'height', 'width'])], [
    floatInfo('sample', ['batch', c.outChannels, 'image_height', 'image_width']),
  ]);
}

/** UNetMidBlock2D without time embedding: resnet, single-head spatial self-attention, resnet. */
function midBlock(b: GraphBuilder, x: string, scope: string, channels: number, norm: NormSettings): string {
  let h = resnetBlock(b, x, `${scope}.resnets.0`, channels, channels, norm);
  h = spatialAttention(b, h, `${scope}.attentions.0`, channels, norm);
  return resnetBlock(b, h, `${scope}.resnets.1`, channels, channels, norm);
}

/**
 * The VAE's Attention block (one head over all H·W positions): GroupNorm on [B, C, H·W] (affine [C,1]),
 * q/k/v/out projections with biases, residual.
 */
function spatialAttention(b: GraphBuilder, x: string, scope: string, channels: number, norm: NormSettings): string {
  const flat = b.op('Reshape', [x, b.ints([0, channels, -1])], {}, scope); // [B, C, HW]
  const normed = groupNorm(b, flat, `${scope}.group_norm`, channels, norm.groups, norm.eps, 1);
  const seq = b.op('Transpose', [normed], { perm: [0, 2, 1] }, scope); // [B, HW, C]
  const attended = attention(b, {
    scope,
    query: seq,
    context: seq,
    dim: channels,
    contextDim: channels,
    heads: 1,
    names: ['to_q', 'to_k', 'to_v', 'to_out.0'],
    qkvBias: 'random',
    outBias: 'random',
  });
  const back = b.op('Reshape', [b.op('Transpose', [attended], { perm: [0, 2, 1] }, scope), b.op('Shape', [x], {}, scope)], {}, scope);
  return b.op('Add', [back, x], {}, scope);
}

