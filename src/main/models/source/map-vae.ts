import { AppError } from '../../../shared/errors';
import type { TensorRef } from './types';
import { plainRef, type TensorSource } from './refs';

/**
 * The VAE → diffusers `AutoencoderKL` keys, from either layout:
 *  - LDM (`first_stage_model.*` in a checkpoint, or bare in a standalone VAE file such as vae-ft-mse-840000):
 *    `encoder.down.I.block.J`, `decoder.up.I.block.J`, `mid.block_1/2`, `mid.attn_1` with q/k/v/proj_out as 1×1
 *    convolutions (squeezed to linear here), `norm_out`, `nin_shortcut`. The decoder's `up` list is stored
 *    deepest-last, so the indices present are taken in descending order as up_blocks 0, 1, … (real files have
 *    3…0; the conversion scripts write 3, 2 for a two-level VAE).
 *  - diffusers, including the pre-0.14 attention names (`query`/`key`/`value`/`proj_attn`) that older VAE
 *    releases such as sd-vae-ft-mse still use.
 */

const ATTN_LDM: Record<string, string> = { norm: 'group_norm', q: 'to_q', k: 'to_k', v: 'to_v', proj_out: 'to_out.0' };
const ATTN_OLD_DIFFUSERS: Record<string, string> = { query: 'to_q', key: 'to_k', value: 'to_v', proj_attn: 'to_out.0' };
/** Bookkeeping that VAE files may carry and the model does not use. */
const IGNORED = /^(model_ema\.|loss\.)/;

export function isLdmVae(keys: Iterable<string>): boolean {
  for (const k of keys) if (/^(encoder\.down\.|decoder\.up\.|encoder\.mid\.|decoder\.mid\.)/.test(k)) return true;
  return false;
}

export function mapVae(keys: Map<string, TensorSource>, file: string): { tensors: Map<string, TensorRef>; ignored: string[] } {
  const out = new Map<string, TensorRef>();
  const ignored: string[] = [];
  const fail = (message: string): never => {
    throw new AppError('model.source_layout', `${file}: ${message}`, { file });
  };
  const ldm = isLdmVae(keys.keys());
  const upIndices = [...new Set([...keys.keys()].map((k) => /^decoder\.up\.(\d+)\./.exec(k)?.[1]).filter((x): x is string => x !== undefined).map(Number))].sort((a, b) => b - a);

  for (const [key, src] of keys) {
    if (IGNORED.test(key)) {
      ignored.push(key);
      continue;
    }
    const target = ldm ? ldmName(key, upIndices) : diffusersName(key);
    if (target === undefined) fail(`unrecognised VAE tensor "${key}"`);
    if (out.has(target as string)) fail(`two tensors map to the VAE's "${target}"`);
    const shape = src.entry.shape;
    // Attention projections are linear in diffusers; LDM (and some old exports) hold them as 1×1 convolutions.
    const squeeze = /mid_block\.attentions\.0\.to_(q|k|v|out\.0)\.weight$/.test(target as string) && shape.length === 4;
    out.set(target as string, squeeze ? plainRef(target as string, src, [shape[0], shape[1]]) : plainRef(target as string, src));
  }
  return { tensors: out, ignored };
}

function ldmResnet(rest: string): string {
  return rest.replace(/^nin_shortcut\./, 'conv_shortcut.');
}

function ldmName(key: string, upIndices: number[]): string | undefined {
  let m: RegExpExecArray | null;
  if (/^(quant_conv|post_quant_conv)\./.test(key)) return key;
  if ((m = /^(encoder|decoder)\.(conv_in|conv_out)\.(weight|bias)$/.exec(key))) return key;
  if ((m = /^(encoder|decoder)\.norm_out\.(weight|bias)$/.exec(key))) return `${m[1]}.conv_norm_out.${m[2]}`;
  if ((m = /^encoder\.down\.(\d+)\.block\.(\d+)\.(.+)$/.exec(key))) return `encoder.down_blocks.${m[1]}.resnets.${m[2]}.${ldmResnet(m[3])}`;
  if ((m = /^encoder\.down\.(\d+)\.downsample\.conv\.(weight|bias)$/.exec(key))) return `encoder.down_blocks.${m[1]}.downsamplers.0.conv.${m[2]}`;
  if ((m = /^decoder\.up\.(\d+)\.block\.(\d+)\.(.+)$/.exec(key))) return `decoder.up_blocks.${upIndices.indexOf(Number(m[1]))}.resnets.${m[2]}.${ldmResnet(m[3])}`;
  if ((m = /^decoder\.up\.(\d+)\.upsample\.conv\.(weight|bias)$/.exec(key))) return `decoder.up_blocks.${upIndices.indexOf(Number(m[1]))}.upsamplers.0.conv.${m[2]}`;
  if ((m = /^(encoder|decoder)\.mid\.block_([12])\.(.+)$/.exec(key))) return `${m[1]}.mid_block.resnets.${Number(m[2]) - 1}.${ldmResnet(m[3])}`;
  if ((m = /^(encoder|decoder)\.mid\.attn_1\.(norm|q|k|v|proj_out)\.(weight|bias)$/.exec(key))) return `${m[1]}.mid_block.attentions.0.${ATTN_LDM[m[2]]}.${m[3]}`;
  return undefined;
}

function diffusersName(key: string): string | undefined {
  const m = /^(.*mid_block\.attentions\.0\.)(query|key|value|proj_attn)\.(weight|bias)$/.exec(key);
  if (m) return `${m[1]}${ATTN_OLD_DIFFUSERS[m[2]]}.${m[3]}`;
  if (/^(encoder|decoder)\.|^(quant_conv|post_quant_conv)\./.test(key)) return key;
  return undefined;
}
