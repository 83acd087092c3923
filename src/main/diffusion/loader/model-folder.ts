import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AppError } from '../../../shared/errors';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer';
import { readSchedulerConfig, schedulerNameForClass, type SchedulerConfig, type SchedulerName } from '../schedulers/index';
import { providerCandidates, type ProviderName, type ProviderRequest } from '../runtime/providers';
import { openModelSession, type ModelSession } from '../runtime/session';
import { TextEncoderModel } from '../runtime/text-encoder';
import { UnetModel } from '../runtime/unet';
import { VaeDecoderModel, VaeEncoderModel } from '../runtime/vae';
import { readModelGeometry } from './model-config';
import { scanOnnxFile, unsupportedOps, type OnnxScan } from './onnx-scan';

/**
 * Loads an ONNX Stable Diffusion folder in any of the common layouts (diffusers conversion script, optimum,
 * optimum-onnx), identifies the family from configs and the models' declared inputs/outputs, and opens one ORT
 * session per component (created once, reused for every image).
 */

export type ModelFamily = 'sd1' | 'sd2' | 'sdxl-base' | 'sdxl-refiner';
export type FolderLayout = 'diffusers-script' | 'optimum';

export interface ModelInfo {
  dir: string;
  layout: FolderLayout;
  family: ModelFamily;
  predictionType: SchedulerConfig['predictionType'];
  /** Pixel size per latent cell: 2 ** (len(vae block_out_channels) - 1). */
  vaeScaleFactor: number;
  latentChannels: number;
  scalingFactor: number;
  /** Default image size in pixels (unet sample_size × vae factor). */
  defaultSize: number;
  forceZerosForEmptyPrompt: boolean;
  defaultScheduler?: SchedulerName;
  /** "domain:Op" of non-default-domain operators per file, for the user to see. */
  contribOps: Record<string, string[]>;
}

export interface LoadedModel {
  info: ModelInfo;
  provider: ProviderName;
  warnings: string[];
  schedulerConfig: SchedulerConfig;
  tokenizer?: ClipTokenizer;
  tokenizer2?: ClipTokenizer;
  textEncoder?: TextEncoderModel;
  textEncoder2?: TextEncoderModel;
  unet: UnetModel;
  vaeDecoder: VaeDecoderModel;
  /** Opened on first use (img2img, encodeImage). */
  vaeEncoder(): Promise<VaeEncoderModel>;
  release(): Promise<void>;
}

export interface LoadOptions {
  provider?: ProviderRequest;
  /** Called for each warning (provider fallback); they are also collected in `warnings`. */
  onWarning?: (message: string) => void;
  /** ORT intra-op threads per session (default: ORT's choice). */
  threads?: number;
}

function readJsonFile(path: string): Record<string, any> {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AppError('diffusion.model_invalid', `${path}: invalid JSON (${(err as Error).message})`, { path });
  }
}

function optionalJson(path: string): Record<string, any> | undefined {
  return existsSync(path) ? readJsonFile(path) : undefined;
}

function incomplete(path: string, what: string): AppError {
  return new AppError('diffusion.model_incomplete', `${path}: ${what}`, { path });
}

const ONNX_COMPONENTS = ['text_encoder', 'text_encoder_2', 'unet', 'vae_encoder', 'vae_decoder'] as const;

/** Checks the folder's files without opening sessions; returns each component's model path that exists. */
export function inspectModelFolder(dirIn: string): {
  dir: string;
  index: Record<string, any>;
  models: Partial<Record<(typeof ONNX_COMPONENTS)[number], string>>;
  scans: Record<string, OnnxScan>;
} {
  const dir = resolve(dirIn);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw incomplete(dir, 'model folder does not exist');
  const indexPath = join(dir, 'model_index.json');
  if (!existsSync(indexPath)) throw incomplete(indexPath, 'missing (not a diffusers/optimum model folder)');
  const index = readJsonFile(indexPath);
  const models: Partial<Record<(typeof ONNX_COMPONENTS)[number], string>> = {};
  for (const name of ONNX_COMPONENTS) {
    const file = join(dir, name, 'model.onnx');
    if (existsSync(file)) models[name] = file;
  }
  // Components the index lists must be present (the index names `vae` for the two VAE halves).
  for (const [key, value] of Object.entries(index)) {
    if (key.startsWith('_') || !Array.isArray(value) || value[0] === null) continue;
    if (key === 'vae' || key === 'vae_decoder') {
      if (!models.vae_decoder) throw incomplete(join(dir, 'vae_decoder/model.onnx'), `missing (model_index.json lists ${key})`);
    } else if ((ONNX_COMPONENTS as readonly string[]).includes(key) && !models[key as keyof typeof models]) {
      if (key === 'vae_encoder') continue; // only needed for img2img; reported when used
      throw incomplete(join(dir, key, 'model.onnx'), `missing (model_index.json lists ${key})`);
    } else if ((key === 'tokenizer' || key === 'tokenizer_2') && !existsSync(join(dir, key))) {
      throw incomplete(join(dir, key), `missing (model_index.json lists ${key})`);
    }
  }
  if (!models.unet) throw incomplete(join(dir, 'unet/model.onnx'), 'missing');
  if (!models.vae_decoder) throw incomplete(join(dir, 'vae_decoder/model.onnx'), 'missing');
  if (!models.text_encoder && !models.text_encoder_2) throw incomplete(join(dir, 'text_encoder/model.onnx'), 'missing (no text encoder found)');
  for (const [enc, tok] of [['text_encoder', 'tokenizer'], ['text_encoder_2', 'tokenizer_2']] as const) {
    if (models[enc] && !existsSync(join(dir, tok))) throw incomplete(join(dir, tok), `missing (needed by ${enc})`);
  }
  const scans: Record<string, OnnxScan> = {};
  for (const [name, file] of Object.entries(models)) if (name !== 'vae_encoder') scans[name] = scanOnnxFile(file!);
  return { dir, index, models, scans };
}

async function openAll(
  files: Record<string, string>,
  scans: Record<string, OnnxScan>,
  request: ProviderRequest,
  warn: (m: string) => void,
  threads?: number,
): Promise<{ provider: ProviderName; sessions: Record<string, ModelSession> }> {
  const candidates = providerCandidates(request);
  let lastError: unknown;
  for (const provider of candidates) {
    const blocked = Object.entries(scans).flatMap(([name, scan]) => unsupportedOps(scan, provider).map((op) => `${files[name]}: ${op}`));
    if (blocked.length > 0) {
      lastError = new AppError(
        'diffusion.unsupported_op',
        `${blocked[0].split(': ')[0]}: the ${provider} execution provider cannot run ${blocked.map((b) => b.split(': ')[1]).join(', ')} (an ORT-optimized export for GPU providers; use --provider cuda/webgpu/dml or a plain export)`,
        { provider, ops: blocked },
      );
      if (provider !== 'cpu') warn(`${provider}: ${(lastError as Error).message}`);
      continue;
    }
    const sessions: Record<string, ModelSession> = {};
    try {
      for (const [name, file] of Object.entries(files)) sessions[name] = await openModelSession(file, provider, { threads });
      return { provider, sessions };
    } catch (err) {
      await Promise.all(Object.values(sessions).map((s) => s.session.release()));
      lastError = err;
      if (provider !== 'cpu') warn(`execution provider ${provider} failed (${(err as Error).message}); falling back to CPU`);
    }
  }
  throw lastError;
}

export async function loadModelFolder(dirIn: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const { dir, index, models, scans } = inspectModelFolder(dirIn);
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    opts.onWarning?.(m);
  };
  const files: Record<string, string> = {};
  for (const name of ['text_encoder', 'text_encoder_2', 'unet', 'vae_decoder'] as const) if (models[name]) files[name] = models[name]!;
  const { provider, sessions } = await openAll(files, scans, opts.provider ?? 'cpu', warn, opts.threads);
  try {
    return assemble({ dir, index, models, files, scans, provider, sessions, warnings, opts });
  } catch (err) {
    // A model refused after its session opened (unexpected inputs, mismatched widths) must not keep native memory.
    await Promise.all(Object.values(sessions).map((s) => s.session.release()));
    throw err;
  }
}

/** What a loaded folder is made of once its sessions are open. */
interface OpenedFolder {
  dir: string;
  index: Record<string, any>;
  models: ReturnType<typeof inspectModelFolder>['models'];
  files: Record<string, string>;
  scans: Record<string, OnnxScan>;
  provider: ProviderName;
  sessions: Record<string, ModelSession>;
  warnings: string[];
  opts: LoadOptions;
}

/** Wraps the open sessions, identifies the family and reads the configs (throws on a model that does not fit). */
function assemble({ dir, index, models, files, scans, provider, sessions, warnings, opts }: OpenedFolder): LoadedModel {
  const unetConfig = optionalJson(join(dir, 'unet/config.json')) ?? {};
  // A refiner (aesthetic score in its time ids) says so in its configs, or has no first text encoder.
  const aestheticConfig = unetConfig.requires_aesthetics_score === true || index.requires_aesthetics_score === true;
  const unet = new UnetModel(sessions.unet, { symbolicTimeIds: aestheticConfig || !sessions.text_encoder ? 5 : 6 });
  const vaeDecoder = new VaeDecoderModel(sessions.vae_decoder);
  const textEncoder = sessions.text_encoder ? new TextEncoderModel(sessions.text_encoder) : undefined;
  const textEncoder2 = sessions.text_encoder_2 ? new TextEncoderModel(sessions.text_encoder_2) : undefined;
  const tokenizer = textEncoder ? ClipTokenizer.fromDir(join(dir, 'tokenizer')) : undefined;
  const tokenizer2 = textEncoder2 ? ClipTokenizer.fromDir(join(dir, 'tokenizer_2')) : undefined;

  const schedulerPath = join(dir, 'scheduler/scheduler_config.json');
  const schedulerConfig = readSchedulerConfig(schedulerPath);
  const schedulerClass = optionalJson(schedulerPath)?._class_name as string | undefined;
  const vaeConfig = optionalJson(join(dir, 'vae_decoder/config.json')) ?? optionalJson(join(dir, 'vae/config.json')) ?? {};
  const textConfig = optionalJson(join(dir, 'text_encoder/config.json')) ?? {};

  if (unet.isSdxl && !textEncoder2) {
    throw incomplete(join(dir, 'text_encoder_2/model.onnx'), `missing: ${files.unet} takes text_embeds/time_ids (SDXL), which come from text_encoder_2`);
  }
  if (!unet.isSdxl && !textEncoder) throw incomplete(join(dir, 'text_encoder/model.onnx'), 'missing (SD 1.x/2.x need text_encoder)');
  let family: ModelFamily;
  if (unet.isSdxl) {
    const refiner = unet.timeIdsLength === 5 || aestheticConfig || !textEncoder;
    family = refiner ? 'sdxl-refiner' : 'sdxl-base';
  } else {
    const width = textConfig.hidden_size ?? textEncoder!.width;
    family = width === 1024 ? 'sd2' : width === 768 ? 'sd1' : tokenizer!.special.padToken === '!' ? 'sd2' : 'sd1';
  }
  // Context width the UNet expects must match what the encoders give (catches mixed-up folders early).
  const contextWidth = unet.isSdxl ? (textEncoder?.width ?? 0) + (textEncoder2?.width ?? 0) : textEncoder!.width;
  if (unet.contextWidth && contextWidth && unet.contextWidth !== contextWidth) {
    throw new AppError(
      'diffusion.model_mismatch',
      `${files.unet}: encoder_hidden_states width ${unet.contextWidth} does not match the text encoders' ${contextWidth}`,
      { path: files.unet },
    );
  }
  // The same reading of the configs as the render settings' "model default" size and the memory estimate.
  const geometry = readModelGeometry(dir, unet.isSdxl ? 'sdxl' : family === 'sd2' ? 'sd2' : 'sd1');
  const { vaeScaleFactor, latentChannels } = geometry;
  const scalingFactor: number = vaeConfig.scaling_factor ?? (unet.isSdxl ? 0.13025 : 0.18215);
  const contribOps: Record<string, string[]> = {};
  for (const [name, scan] of Object.entries(scans)) {
    const ops = Object.keys(scan.opCounts).filter((k) => k.includes(':'));
    if (ops.length > 0) contribOps[name] = ops;
  }

  let encoder: VaeEncoderModel | undefined;
  const info: ModelInfo = {
    dir,
    layout: String(index._class_name ?? '').startsWith('Onnx') || String(index._class_name ?? '').startsWith('StableDiffusionOnnx') ? 'diffusers-script' : 'optimum',
    family,
    predictionType: schedulerConfig.predictionType,
    vaeScaleFactor,
    latentChannels,
    scalingFactor,
    defaultSize: geometry.nativeSize,
    forceZerosForEmptyPrompt: index.force_zeros_for_empty_prompt === true,
    defaultScheduler: schedulerNameForClass(schedulerClass),
    contribOps,
  };
  return {
    info,
    provider,
    warnings,
    schedulerConfig,
    tokenizer,
    tokenizer2,
    textEncoder,
    textEncoder2,
    unet,
    vaeDecoder,
    async vaeEncoder() {
      if (encoder) return encoder;
      const file = models.vae_encoder;
      if (!file) throw incomplete(join(dir, 'vae_encoder/model.onnx'), 'missing (needed to encode images: img2img, training)');
      scanOnnxFile(file);
      encoder = new VaeEncoderModel(await openModelSession(file, provider, { threads: opts.threads }));
      return encoder;
    },
    async release() {
      await Promise.all([...Object.values(sessions).map((s) => s.session.release()), encoder?.s.session.release()]);
    },
  };
}
