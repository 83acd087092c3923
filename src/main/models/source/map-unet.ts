import { AppError } from '../../../shared/errors';
import type { TensorRef } from './types';
import { plainRef, type TensorSource } from './refs';

/**
 * The UNet of a single-file (LDM / sgm `openaimodel`) checkpoint → diffusers `UNet2DConditionModel` keys.
 *
 * LDM keeps the UNet as flat sequences: `input_blocks.N` (conv_in, then per level `layers_per_block` × [resnet,
 * optional transformer] and a downsampler), `middle_block.{0,1,2}` (resnet, transformer, resnet) and
 * `output_blocks.N` (per level `layers_per_block + 1` × [resnet, optional transformer, optional upsampler]).
 * Rather than computing N from the config's stride, the blocks present are walked in order and counted, with the
 * config's `layers_per_block` deciding where a level ends. That reads real checkpoints (where the stride is
 * layers_per_block + 1) and the files diffusers' own conversion scripts write for non-standard depths (they
 * hard-code SD's stride 3 and leave gaps), and it names the block when a file does not fit the config.
 * Keys that are already in diffusers naming (those scripts leave some untranslated) pass through unchanged.
 */

export interface UnetMapOptions {
  layersPerBlock: number;
  useLinearProjection: boolean;
  /** The file, for errors. */
  file: string;
}

const RESNET_RENAMES: [string, string][] = [
  ['in_layers.0.', 'norm1.'],
  ['in_layers.2.', 'conv1.'],
  ['emb_layers.1.', 'time_emb_proj.'],
  ['out_layers.0.', 'norm2.'],
  ['out_layers.3.', 'conv2.'],
  ['skip_connection.', 'conv_shortcut.'],
];

const TOP_LEVEL: [string, string][] = [
  ['time_embed.0.', 'time_embedding.linear_1.'],
  ['time_embed.2.', 'time_embedding.linear_2.'],
  ['label_emb.0.0.', 'add_embedding.linear_1.'],
  ['label_emb.0.2.', 'add_embedding.linear_2.'],
  ['input_blocks.0.0.', 'conv_in.'],
  ['out.0.', 'conv_norm_out.'],
  ['out.2.', 'conv_out.'],
];

const DIFFUSERS_PREFIXES = ['conv_in.', 'conv_out.', 'conv_norm_out.', 'time_embedding.', 'add_embedding.', 'down_blocks.', 'mid_block.', 'up_blocks.'];

function renameResnet(rest: string): string | undefined {
  for (const [from, to] of RESNET_RENAMES) if (rest.startsWith(from)) return to + rest.slice(from.length);
  return undefined;
}

/** Sub-module index k of block b: `rest` is what follows `<blocks>.<b>.<k>.`. */
interface Part {
  key: string;
  rest: string;
  src: TensorSource;
}

function groupBlocks(prefix: string, keys: Map<string, TensorSource>): Map<number, Map<number, Part[]>> {
  const out = new Map<number, Map<number, Part[]>>();
  for (const [key, src] of keys) {
    if (!key.startsWith(prefix)) continue;
    const m = /^(\d+)\.(\d+)\.(.+)$/.exec(key.slice(prefix.length));
    if (!m) continue;
    const b = Number(m[1]);
    const k = Number(m[2]);
    if (!out.has(b)) out.set(b, new Map());
    const block = out.get(b) as Map<number, Part[]>;
    if (!block.has(k)) block.set(k, []);
    (block.get(k) as Part[]).push({ key, rest: m[3], src });
  }
  return new Map([...out.entries()].sort((a, b) => a[0] - b[0]));
}

const isResnet = (parts: Part[]): boolean => parts.some((p) => p.rest.startsWith('in_layers.'));
const isResample = (parts: Part[], name: 'op' | 'conv'): boolean => parts.every((p) => p.rest === `${name}.weight` || p.rest === `${name}.bias`);

export function mapUnet(keys: Map<string, TensorSource>, opts: UnetMapOptions): Map<string, TensorRef> {
  const out = new Map<string, TensorRef>();
  const used = new Set<string>();
  const lpb = opts.layersPerBlock;
  const fail = (message: string): never => {
    throw new AppError('model.source_layout', `${opts.file}: ${message}`, { file: opts.file });
  };
  const put = (target: string, p: Part): void => {
    if (out.has(target)) fail(`two tensors map to the UNet's "${target}" (the second is "model.diffusion_model.${p.key}")`);
    out.set(target, projectionRef(target, p.src, opts.useLinearProjection));
    used.add(p.key);
  };
  const putResnet = (base: string, parts: Part[]): void => {
    for (const p of parts) {
      const r = renameResnet(p.rest);
      if (r === undefined) fail(`unrecognised resnet tensor "model.diffusion_model.${p.key}"`);
      put(base + r, p);
    }
  };
  const putAll = (base: string, parts: Part[]): void => {
    for (const p of parts) put(base + p.rest, p);
  };

  for (const [key, src] of keys) {
    for (const [from, to] of TOP_LEVEL) {
      if (key.startsWith(from)) {
        put(to + key.slice(from.length), { key, rest: '', src });
        break;
      }
    }
    if (!used.has(key) && DIFFUSERS_PREFIXES.some((p) => key.startsWith(p))) put(key, { key, rest: '', src });
  }

  // Down path: resnets counted across blocks; a downsampler closes the level of the resnet before it.
  let resnets = 0;
  for (const [b, block] of groupBlocks('input_blocks.', keys)) {
    if (b === 0) continue;
    const first = block.get(0) ?? fail(`input_blocks.${b} has no sub-module 0`);
    if (isResample(first, 'op')) {
      if (resnets === 0 || resnets % lpb !== 0) fail(`input_blocks.${b} is a downsampler after ${resnets} resnets, which does not fit layers_per_block ${lpb} (wrong --config?)`);
      for (const p of first) put(`down_blocks.${resnets / lpb - 1}.downsamplers.0.conv.${p.rest.slice('op.'.length)}`, p);
      if (block.size > 1) fail(`input_blocks.${b} holds more than a downsampler`);
      continue;
    }
    if (!isResnet(first)) fail(`input_blocks.${b}.0 is neither a resnet nor a downsampler`);
    const level = Math.floor(resnets / lpb);
    const j = resnets % lpb;
    resnets++;
    putResnet(`down_blocks.${level}.resnets.${j}.`, first);
    for (const [k, parts] of block) {
      if (k === 0) continue;
      if (k !== 1) fail(`input_blocks.${b}.${k} is not expected (a down block holds a resnet and at most one transformer)`);
      putAll(`down_blocks.${level}.attentions.${j}.`, parts);
    }
  }

  for (const [key, src] of keys) {
    const m = /^middle_block\.(\d+)\.(.+)$/.exec(key);
    if (!m) continue;
    const part = { key, rest: m[2], src };
    if (m[1] === '0') putResnet('mid_block.resnets.0.', [part]);
    else if (m[1] === '1') putAll('mid_block.attentions.0.', [part]);
    else if (m[1] === '2') putResnet('mid_block.resnets.1.', [part]);
    else fail(`middle_block.${m[1]} is not expected (the middle block is resnet, transformer, resnet)`);
  }

  // Up path: layers_per_block + 1 resnets per level; an upsampler belongs to the level of the latest resnet.
  resnets = 0;
  const perUp = lpb + 1;
  for (const [b, block] of groupBlocks('output_blocks.', keys)) {
    let j = -1;
    let level = -1;
    const first = block.get(0);
    if (first && isResnet(first)) {
      level = Math.floor(resnets / perUp);
      j = resnets % perUp;
      resnets++;
      putResnet(`up_blocks.${level}.resnets.${j}.`, first);
    }
    for (const [k, parts] of block) {
      if (k === 0 && j >= 0) continue;
      if (isResample(parts, 'conv')) {
        if (resnets === 0) fail(`output_blocks.${b}.${k} is an upsampler before any resnet`);
        const upLevel = Math.floor((resnets - 1) / perUp);
        for (const p of parts) put(`up_blocks.${upLevel}.upsamplers.0.conv.${p.rest.slice('conv.'.length)}`, p);
      } else if (j >= 0 && k === 1) {
        putAll(`up_blocks.${level}.attentions.${j}.`, parts);
      } else {
        fail(`output_blocks.${b}.${k} is neither a transformer after a resnet nor an upsampler`);
      }
    }
  }

  const unused = [...keys.keys()].filter((k) => !used.has(k));
  if (unused.length > 0) {
    fail(`${unused.length} UNet tensor(s) could not be placed, e.g. ${unused.slice(0, 3).map((k) => `"model.diffusion_model.${k}"`).join(', ')}`);
  }
  return out;
}

/**
 * A transformer's proj_in/proj_out is a 1×1 convolution in SD 1.x and a linear layer in SD 2.x/SDXL
 * (`use_linear_projection`); checkpoints hold either form. Give the form the config asks for.
 */
function projectionRef(target: string, src: TensorSource, linear: boolean): TensorRef {
  const shape = src.entry.shape;
  if (/attentions\.\d+\.proj_(in|out)\.weight$/.test(target)) {
    if (linear && shape.length === 4 && shape[2] === 1 && shape[3] === 1) return plainRef(target, src, [shape[0], shape[1]]);
    if (!linear && shape.length === 2) return plainRef(target, src, [shape[0], shape[1], 1, 1]);
  }
  return plainRef(target, src);
}
