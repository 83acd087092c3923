import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../shared/errors';
import { writeFileAtomic } from '../util/atomic-write';
import { buildGradientGraph, type GradientReport } from './autodiff';
import { Emitter } from './emitter';
import { pruneGraph, topologicalSort, valueInfoShape } from './graph';
import { hashModelFile } from './model-hash';
import { loadModel, saveModel } from './model-io';
import { makeStatic } from './shapes';
import { addMseLoss, bindInput, mergeInto, prefixModel } from './surgery';
import { cutAtTokenEmbedding } from './token-embedding-surgery';
import { widenHalfToFloat } from './widen-half';
import type { OnnxModel, ValueInfoProto } from './types';

export type TiModelFamily = 'sd1' | 'sd2' | 'sdxl';

export interface TensorSpec {
  name: string;
  /** ONNX element type name: float32, int64, … */
  type: string;
  dims: number[];
}

export interface TiGradModel {
  modelPath: string;
  family: TiModelFamily;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Placeholder-independent facts callers need: token table width per encoder, latent size. */
  embeddingWidths: number[];
  latentShape: number[];
  nodeCounts: { forward: number; gradient: number };
}

export interface TiGradOptions {
  height: number;
  width: number;
  cacheDir: string;
}

// v2: fp16 exports are widened to float32 before differentiation.
const CACHE_VERSION = 'ti-grad-v2';
const SEQUENCE = 77;

/** What this module needs to know about a diffusers/optimum ONNX model folder (read locally, not shared). */
export interface TiModelFolder {
  family: TiModelFamily;
  textEncoders: { file: string; output: string }[];
  unetFile: string;
  vaeScaleFactor: number;
  latentChannels: number;
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function readTiModelFolder(modelDir: string): TiModelFolder {
  const te1 = join(modelDir, 'text_encoder/model.onnx');
  const te2 = join(modelDir, 'text_encoder_2/model.onnx');
  const unetFile = join(modelDir, 'unet/model.onnx');
  for (const f of [te1, unetFile]) {
    if (!existsSync(f)) throw new AppError('model_folder_incomplete', `model folder ${modelDir} has no ${f.slice(modelDir.length + 1)}`, { modelDir });
  }
  const vae = readJson(join(modelDir, 'vae_decoder/config.json'));
  const blocks = Array.isArray(vae?.block_out_channels) ? (vae!.block_out_channels as unknown[]).length : 4;
  const unetCfg = readJson(join(modelDir, 'unet/config.json'));
  const latentChannels = typeof unetCfg?.in_channels === 'number' ? unetCfg.in_channels : 4;
  const penultimate = (dir: string) => {
    const cfg = readJson(join(modelDir, dir, 'config.json'));
    const layers = cfg?.num_hidden_layers;
    if (typeof layers !== 'number') throw new AppError('model_config_missing', `${dir}/config.json in ${modelDir} lacks num_hidden_layers`, { modelDir });
    return `hidden_states.${layers - 1}`;
  };
  if (existsSync(te2)) {
    return {
      family: 'sdxl',
      textEncoders: [
        { file: te1, output: penultimate('text_encoder') },
        { file: te2, output: penultimate('text_encoder_2') },
      ],
      unetFile,
      vaeScaleFactor: 2 ** (blocks - 1),
      latentChannels,
    };
  }
  const teCfg = readJson(join(modelDir, 'text_encoder/config.json'));
  return {
    family: teCfg?.hidden_size === 1024 ? 'sd2' : 'sd1',
    textEncoders: [{ file: te1, output: 'last_hidden_state' }],
    unetFile,
    vaeScaleFactor: 2 ** (blocks - 1),
    latentChannels,
  };
}

const TYPE_NAMES: Record<number, string> = { 1: 'float32', 6: 'int32', 7: 'int64', 10: 'float16', 11: 'float64', 9: 'bool' };

function specs(list: ValueInfoProto[]): TensorSpec[] {
  return list.map((v) => {
    const s = valueInfoShape(v);
    return { name: v.name, type: TYPE_NAMES[s.elemType] ?? String(s.elemType), dims: (s.dims ?? []) as number[] };
  });
}

/**
 * Builds the textual-inversion gradient model of a model folder: text encoder(s) cut at the token embedding,
 * chained into the UNet, MSE loss against `target`, and d loss / d inputs_embeds[_2]. Static shapes for batch
 * 1, 77 tokens and the latent size of height × width. Cached by model hash and shapes.
 *
 * Inputs: inputs_embeds [1,77,D] (token embeddings before position embeddings), sample, timestep, target;
 * SDXL adds inputs_embeds_2, input_ids_2 (text_encoder_2 pools at argmax(ids)) and time_ids.
 * Outputs: loss (scalar), grad_inputs_embeds [1,77,D] (and grad_inputs_embeds_2).
 */
export async function buildTiGradModel(modelDir: string, opts: TiGradOptions): Promise<TiGradModel> {
  const folder = readTiModelFolder(modelDir);
  const factor = folder.vaeScaleFactor;
  if (!(opts.height > 0 && opts.width > 0) || opts.height % factor !== 0 || opts.width % factor !== 0) {
    throw new AppError('bad_image_size', `height ${opts.height} and width ${opts.width} must be positive multiples of the VAE factor ${factor}`);
  }
  const latent = [1, folder.latentChannels, opts.height / factor, opts.width / factor];
  const hash = createHash('sha256');
  hash.update(`${CACHE_VERSION}|${latent.join('x')}|`);
  for (const te of folder.textEncoders) hash.update(hashModelFile(te.file) + te.output);
  hash.update(hashModelFile(folder.unetFile));
  const dir = join(opts.cacheDir, 'ti-grad', hash.digest('hex').slice(0, 24));
  const modelPath = join(dir, 'model.onnx');
  const metaPath = join(dir, 'meta.json');
  if (existsSync(modelPath) && existsSync(metaPath)) {
    return JSON.parse(readFileSync(metaPath, 'utf8')) as TiGradModel;
  }

  const { model: unet, embedInputs, widths } = buildTiForwardModel(folder, latent);
  const forwardNodes = unet.proto.graph.node.length;
  const report: GradientReport = buildGradientGraph(unet, {
    wrt: embedInputs,
    loss: 'loss',
    gradNames: Object.fromEntries(embedInputs.map((n) => [n, `grad_${n}`])),
  });
  orderInputs(unet);
  topologicalSort(unet.proto.graph);
  mkdirSync(dir, { recursive: true });
  saveModel(unet, modelPath, { externalData: { location: 'model.onnx_data' } });
  const result: TiGradModel = {
    modelPath,
    family: folder.family,
    inputs: specs(unet.proto.graph.input),
    outputs: specs(unet.proto.graph.output),
    embeddingWidths: widths,
    latentShape: latent,
    nodeCounts: { forward: forwardNodes, gradient: report.backwardNodes },
  };
  writeFileAtomic(metaPath, JSON.stringify(result, null, 2));
  return result;
}

/**
 * The forward half of the TI gradient model: text encoder(s) cut at the token embedding (fp16 exports widened to
 * float32 first), chained into the UNet, MSE loss against `target`, static shapes for batch 1 / 77 tokens / `latent`. Output: `loss`.
 */
export function buildTiForwardModel(folder: TiModelFolder, latent: number[]): { model: OnnxModel; embedInputs: string[]; widths: number[] } {
  const unet = loadModel(folder.unetFile);
  widenHalfToFloat(unet);
  const widths: number[] = [];
  const embedInputs: string[] = [];
  const wiring: { te: OnnxModel; output: string }[] = [];
  folder.textEncoders.forEach((te, i) => {
    const m = loadModel(te.file);
    widenHalfToFloat(m);
    const cut = cutAtTokenEmbedding(m, 'inputs_embeds');
    const suffix = i === 0 ? '' : `_${i + 1}`;
    const keep: Record<string, string> = { inputs_embeds: `inputs_embeds${suffix}` };
    if (cut.inputIdsName) keep[cut.inputIdsName] = `input_ids${suffix}`;
    if (!m.proto.graph.output.some((o) => o.name === te.output)) {
      throw new AppError('model_output_missing', `${te.file} has no output "${te.output}"`, { file: te.file });
    }
    prefixModel(m, `te${i + 1}/`, keep);
    widths.push(cut.width);
    embedInputs.push(`inputs_embeds${suffix}`);
    wiring.push({ te: m, output: `te${i + 1}/${te.output}` });
  });
  for (const { te } of wiring) mergeInto(unet, te);

  const e = new Emitter(unet, 'chain');
  if (folder.family === 'sdxl') {
    const ehs = e.op('Concat', [wiring[0].output, wiring[1].output], { axis: -1 });
    unet.proto.graph.node.push(...e.nodes);
    bindInput(unet, 'encoder_hidden_states', ehs);
    bindInput(unet, 'text_embeds', 'te2/text_embeds');
  } else {
    bindInput(unet, 'encoder_hidden_states', wiring[0].output);
  }
  const pred = unet.proto.graph.output[0].name;
  addMseLoss(unet, pred, { targetInput: 'target' });

  const shapes: Record<string, number[]> = { sample: latent, target: latent, timestep: [1], inputs_embeds: [1, SEQUENCE, widths[0]] };
  if (folder.family === 'sdxl') {
    shapes.inputs_embeds_2 = [1, SEQUENCE, widths[1]];
    shapes.input_ids_2 = [1, SEQUENCE];
    shapes.time_ids = [1, 6];
  }
  for (const v of unet.proto.graph.input) {
    if (v.name === 'timestep') {
      const d = valueInfoShape(v).dims;
      shapes.timestep = d && d.length === 0 ? [] : [1];
    }
    if (v.name === 'input_ids') shapes.input_ids = [1, SEQUENCE];
  }
  makeStatic(unet, shapes);
  pruneGraph(unet.proto.graph);
  orderInputs(unet);
  return { model: unet, embedInputs, widths };
}

const INPUT_ORDER = ['inputs_embeds', 'inputs_embeds_2', 'input_ids', 'input_ids_2', 'sample', 'timestep', 'target', 'time_ids'];

function orderInputs(model: OnnxModel): void {
  const g = model.proto.graph;
  const rank = (n: string) => {
    const i = INPUT_ORDER.indexOf(n);
    return i < 0 ? INPUT_ORDER.length : i;
  };
  g.input = [...g.input].sort((a, b) => rank(a.name) - rank(b.name));
}
