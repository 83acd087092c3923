import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import { readModelGeometry } from '../diffusion/loader/model-config';
import { providerCandidates, type ProviderName, type ProviderRequest } from '../diffusion/runtime/providers';
import { openModelSession, type ModelSession } from '../diffusion/runtime/session';
import { VaeEncoderModel } from '../diffusion/runtime/vae';
import { readSchedulerConfig } from '../diffusion/schedulers/index';
import { ClipTokenizer } from '../diffusion/tokenizer/clip-tokenizer';
import { hashModelFile } from '../onnx/model-hash';
import { prepareTextEncoderForEmbeds } from '../onnx/text-encoder-embeds';
import { buildTiGradModel, readTiModelFolder } from '../onnx/ti-grad';
import { encodeStyleLatents, latentCacheKey, latentCachePath, loadStyleLatents, saveStyleLatents, type StyleLatents } from './latent-cache';
import { TrainingNoiser } from './noising';
import { OnnxGradientModel } from './onnx-gradient';
import { prepareStyleImages, type TrainingSize } from './preprocess';
import type { TrainerSetup, TrainingEncoder } from './trainer';

/**
 * Prepares a model folder for style training: tokenizers and token tables per text encoder, the cached
 * gradient model on an ORT session, the DDPM noiser from the scheduler config, and (separately) the cached
 * VAE latents of the style images.
 */

export interface TrainingModelOptions {
  /** Where derived models and latents are cached (the project's cache folder). */
  cacheDir: string;
  provider?: ProviderRequest;
  /** Training resolution; default: the model's default image size (unet sample_size × VAE factor). */
  size?: TrainingSize;
  /** ORT intra-op threads (default: ORT's choice). */
  threads?: number;
}

export interface TrainingModel extends Omit<TrainerSetup, 'latents'> {
  size: TrainingSize;
  provider: ProviderName;
  scalingFactor: number;
  gradientModel: OnnxGradientModel;
  release(): Promise<void>;
}

function readJson(path: string): Record<string, any> {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return {};
  }
}

async function openWithFallback(file: string, request: ProviderRequest, threads?: number): Promise<ModelSession> {
  let lastError: unknown;
  for (const provider of providerCandidates(request)) {
    try {
      return await openModelSession(file, provider, { threads });
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

export async function openTrainingModel(modelDirIn: string, options: TrainingModelOptions): Promise<TrainingModel> {
  const modelDir = resolve(modelDirIn);
  const folder = readTiModelFolder(modelDir);
  const vaeConfig = readJson(join(modelDir, 'vae_decoder', 'config.json'));
  // The same native size renders default to (unet sample_size × VAE factor, or the family's).
  const defaultSize = readModelGeometry(modelDir, folder.family).nativeSize;
  const size = options.size ?? { width: defaultSize, height: defaultSize };
  const scalingFactor = typeof vaeConfig.scaling_factor === 'number' ? vaeConfig.scaling_factor : folder.family === 'sdxl' ? 0.13025 : 0.18215;

  const encoders: TrainingEncoder[] = [];
  for (const [i, te] of folder.textEncoders.entries()) {
    const tokDir = join(modelDir, i === 0 ? 'tokenizer' : 'tokenizer_2');
    if (!existsSync(tokDir)) throw new AppError('style.model_incomplete', `${tokDir} is missing (needed by ${te.file})`);
    const prepared = await prepareTextEncoderForEmbeds(te.file, options.cacheDir);
    encoders.push({ tokenizer: ClipTokenizer.fromDir(tokDir), tokenTable: prepared.tokenEmbedding, width: prepared.width });
  }

  const built = await buildTiGradModel(modelDir, { height: size.height, width: size.width, cacheDir: options.cacheDir });
  const session = await openWithFallback(built.modelPath, options.provider ?? 'cpu', options.threads);
  // SDXL micro-conditioning as the release trains: original size = the training images, target = the model's default.
  const timeIds = folder.family === 'sdxl' ? Float32Array.of(size.height, size.width, 0, 0, defaultSize, defaultSize) : undefined;
  const gradientModel = new OnnxGradientModel(session, built, timeIds);
  return {
    modelName: basename(modelDir),
    family: folder.family,
    encoders,
    gradient: gradientModel,
    gradientModel,
    noiser: new TrainingNoiser(readSchedulerConfig(join(modelDir, 'scheduler', 'scheduler_config.json'))),
    size,
    provider: session.provider,
    scalingFactor,
    async release() {
      await session.session.release();
    },
  };
}

export interface LatentOptions {
  cacheDir: string;
  size: TrainingSize;
  provider?: ProviderRequest;
  /** Add mirrored copies (default true, as the release). */
  flip?: boolean;
  scalingFactor: number;
}

/** VAE-encodes the preprocessed style images once (mean × scaling factor), reusing the cache when it matches. */
export async function loadTrainingLatents(modelDirIn: string, images: string[], options: LatentOptions): Promise<StyleLatents & { cached: boolean }> {
  const modelDir = resolve(modelDirIn);
  const vaeFile = join(modelDir, 'vae_encoder', 'model.onnx');
  if (!existsSync(vaeFile)) throw new AppError('style.model_incomplete', `${vaeFile} is missing; it is needed to encode the style images`);
  const flip = options.flip ?? true;
  const key = latentCacheKey(hashModelFile(vaeFile), options.size, images, flip, options.scalingFactor);
  const path = latentCachePath(options.cacheDir, key);
  const cached = loadStyleLatents(path, key);
  if (cached) return { ...cached, cached: true };
  const session = await openWithFallback(vaeFile, options.provider ?? 'cpu');
  try {
    const prepared = await prepareStyleImages(images, options.size, { flip });
    const latents = await encodeStyleLatents(new VaeEncoderModel(session), prepared, options.scalingFactor);
    saveStyleLatents(path, key, latents);
    return { ...latents, cached: false };
  } finally {
    await session.session.release();
  }
}
