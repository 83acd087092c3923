import { AppError } from '../../../shared/errors';
import type { LoadedModel } from '../loader/model-folder';
import type { NoiseSource, Scheduler } from '../schedulers/index';
import { roundHalfEven } from '../schedulers/schedule-math';
import { BatchNoise, SeededRandom } from './rng';

/**
 * The model-free steps of DiffusionPipeline.generate(), each testable alone: check the inputs (prompts, size,
 * fractions) into a request, prepare the starting latents from the seeds (or given latents / an encoded image),
 * and plan which schedule indices the base and the refiner run. The steps that need ONNX sessions (denoise,
 * refiner hand-off, decode) are the pipeline's own methods.
 */

/** What a step needs to know about a loaded model. */
export type ModelShape = Pick<LoadedModel, 'info' | 'unet' | 'schedulerConfig'>;

/** The options checkInputs reads (a subset of GenerateOptions). */
export interface GenerationInputs {
  prompt: string | string[];
  /** undefined: "" for SD 1/2, zeros for SDXL models with force_zeros_for_empty_prompt (as diffusers). */
  negativePrompt?: string | string[];
  /** Images per prompt (default 1). */
  batchSize?: number;
  /** Default: the model's native size. */
  width?: number;
  height?: number;
  /** img2img: the source image's size decides the output size. */
  image?: { width: number; height: number };
  /** Default 30. */
  steps?: number;
  /** Default 7.5 (SDXL 5); ≤ 1 turns classifier-free guidance off. */
  guidance?: number;
  /** Default: random. */
  seed?: number;
  /** With a refiner: the fraction of the schedule where it takes over (default 0.75). */
  refinerStart?: number;
  /** Stop the base at this fraction and return latents only (manual hand-off). */
  denoisingEnd?: number;
  /** img2img strength in (0, 1] (default 0.8). */
  strength?: number;
}

/** Checked, defaulted inputs of one generation. */
export interface GenerationRequest {
  /** One entry per image (each prompt repeated batchSize times). */
  prompts: string[];
  negatives: string[] | undefined;
  batch: number;
  width: number;
  height: number;
  /** Latent shape [batch, channels, height / f, width / f]. */
  dims: [number, number, number, number];
  /** Values per image in the latents. */
  plane: number;
  steps: number;
  guidance: number;
  cfg: boolean;
  /** Seed of each image: seed, seed + 1, … */
  seeds: number[];
  /** Where the base stops: the refiner's start fraction or denoisingEnd (undefined = runs to the end). */
  endFraction: number | undefined;
  /** img2img strength (only read when an image is given). */
  strength: number;
}

function asList(value: string | string[] | undefined): string[] | undefined {
  return value === undefined ? undefined : Array.isArray(value) ? value : [value];
}

function badRequest(message: string): AppError {
  return new AppError('diffusion.bad_request', message);
}

/** Validates and defaults the inputs; every refusal names the value it refuses. */
export function checkInputs(model: ModelShape, opts: GenerationInputs, refiner?: ModelShape): GenerationRequest {
  const info = model.info;
  const given = asList(opts.prompt) ?? [];
  if (given.length === 0) throw badRequest('at least one prompt is required');
  const perPrompt = opts.batchSize ?? 1;
  if (!Number.isInteger(perPrompt) || perPrompt < 1) throw badRequest(`batchSize must be a positive integer, got ${perPrompt}`);
  const prompts = given.flatMap((p) => Array<string>(perPrompt).fill(p));
  const negList = asList(opts.negativePrompt);
  const negatives = negList === undefined
    ? undefined
    : given.flatMap((_, i) => Array<string>(perPrompt).fill(negList.length === 1 ? negList[0] : (negList[i] ?? '')));
  if (refiner && (!model.unet.isSdxl || !refiner.unet.isSdxl || refiner.info.latentChannels !== info.latentChannels)) {
    throw badRequest(`a refiner hand-off needs SDXL models on both sides (base ${info.family}, refiner ${refiner.info.family})`);
  }
  const width = opts.image?.width ?? opts.width ?? info.defaultSize;
  const height = opts.image?.height ?? opts.height ?? info.defaultSize;
  const f = info.vaeScaleFactor;
  if (width % f !== 0 || height % f !== 0 || width <= 0 || height <= 0) {
    throw badRequest(`width and height must be positive multiples of ${f} for this model, got ${width}×${height}`);
  }
  // The scheduler refuses a step count outside its training range.
  const steps = opts.steps ?? 30;
  const guidance = opts.guidance ?? (model.unet.isSdxl ? 5 : 7.5);
  const endFraction = refiner ? (opts.refinerStart ?? 0.75) : opts.denoisingEnd;
  if (endFraction !== undefined && !(endFraction > 0 && endFraction < 1)) {
    throw badRequest(`the denoising fraction must be in (0, 1), got ${endFraction}`);
  }
  const strength = opts.strength ?? 0.8;
  if (opts.image && !(strength > 0 && strength <= 1)) throw badRequest(`strength must be in (0, 1], got ${strength}`);
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 32);
  const dims: GenerationRequest['dims'] = [prompts.length, info.latentChannels, height / f, width / f];
  return {
    prompts,
    negatives,
    batch: prompts.length,
    width,
    height,
    dims,
    plane: dims[1] * dims[2] * dims[3],
    steps,
    guidance,
    cfg: guidance > 1,
    seeds: prompts.map((_, b) => seed + b),
    endFraction,
    strength,
  };
}

/** Where the starting latents come from, besides the seeds. */
export interface LatentSources {
  /**
   * Explicit N(0,1) starting noise [B, C, H/f, W/f] (before scaling by the scheduler's initial sigma); replaces the
   * seeded draw. For img2img it is the noise added to the encoded image.
   */
  initLatents?: Float32Array;
  /** Latents to continue from `denoisingStart` (a refiner run on its own). */
  startLatents?: Float32Array;
  denoisingStart?: number;
  /** img2img: the VAE posterior of the source image (one image is repeated over the batch). */
  posterior?: { mean: Float32Array; logvar?: Float32Array };
  /** img2img: the posterior's N(0,1) sample replacing the seeded draw. */
  posteriorNoise?: Float32Array;
  /** Per-step noise for ancestral schedulers replacing the seeded stream. */
  stepNoise?: NoiseSource;
}

export interface StartLatents {
  latents: Float32Array;
  /** First schedule index to run (0 for text-to-image). */
  first: number;
  /** The per-step noise source; the seeded generators continue after the starting draws. */
  noise: NoiseSource;
}

/**
 * The latents the first denoising step starts from. Seeded draws come in a fixed order per image generator:
 * the initial latents (txt2img), or the posterior sample then the start noise (img2img); ancestral step noise
 * continues the same streams, so a seed always gives the same image.
 */
export function prepareLatents(
  req: GenerationRequest,
  scheduler: Scheduler,
  model: Pick<ModelShape, 'info' | 'schedulerConfig'>,
  sources: LatentSources = {},
): StartLatents {
  const { batch, plane, dims } = req;
  const generators = req.seeds.map((s) => new SeededRandom(s));
  const noise: NoiseSource = sources.stepNoise ?? new BatchNoise(generators);
  const checkLength = (arr: Float32Array, what: string) => {
    if (arr.length !== batch * plane) {
      throw badRequest(`${what} has ${arr.length} values, expected ${batch * plane} = [${dims.join(', ')}]`);
    }
  };
  const drawEach = (out: Float32Array) => generators.forEach((g, b) => g.fillNormal(out.subarray(b * plane, (b + 1) * plane)));
  const ts = scheduler.timesteps;
  let latents = new Float32Array(batch * plane);
  let first = 0;
  if (sources.startLatents) {
    checkLength(sources.startLatents, 'startLatents');
    latents.set(sources.startLatents);
    const cutoff = roundHalfEven(model.schedulerConfig.numTrainTimesteps * (1 - (sources.denoisingStart ?? 0)));
    first = ts.findIndex((t) => t < cutoff);
    if (first < 0) first = ts.length;
  } else if (sources.posterior) {
    const { mean, logvar } = sources.posterior;
    const encoded = new Float32Array(batch * plane);
    const per = mean.length === plane ? 0 : plane; // one image is repeated over the batch
    const eps = sources.posteriorNoise ?? new Float32Array(batch * plane);
    if (sources.posteriorNoise) checkLength(sources.posteriorNoise, 'posteriorNoise');
    else drawEach(eps);
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < plane; i++) {
        const m = mean[b * per + i];
        const sample = logvar ? m + Math.exp(0.5 * logvar[b * per + i]) * eps[b * plane + i] : m;
        encoded[b * plane + i] = sample * model.info.scalingFactor;
      }
    }
    const steps = req.steps;
    first = Math.max(steps - Math.min(Math.floor(steps * req.strength), steps), 0);
    const startNoise = sources.initLatents ?? new Float32Array(batch * plane);
    if (sources.initLatents) checkLength(sources.initLatents, 'initLatents');
    else drawEach(startNoise);
    if (first < ts.length) scheduler.addNoise(encoded, startNoise, first, latents);
    else latents = encoded;
  } else {
    if (sources.initLatents) {
      checkLength(sources.initLatents, 'initLatents');
      latents.set(sources.initLatents);
    } else drawEach(latents);
    const sigma = scheduler.initNoiseSigma;
    for (let i = 0; i < latents.length; i++) latents[i] *= sigma;
  }
  return { latents, first, noise };
}

export interface StagePlan {
  /** Schedule indices the base runs. */
  baseIndices: number[];
  /** Indices of the refiner's schedule it runs (empty without a refiner). */
  refinerIndices: number[];
  totalSteps: number;
}

/** Splits the schedule at the request's end fraction: the base runs from `first` down to it, the refiner below. */
export function planStages(
  req: GenerationRequest,
  first: number,
  scheduler: Scheduler,
  model: Pick<ModelShape, 'schedulerConfig'>,
  refinerScheduler?: Scheduler,
): StagePlan {
  const ts = Array.from(scheduler.timesteps);
  const cutoff = req.endFraction === undefined ? -Infinity : roundHalfEven(model.schedulerConfig.numTrainTimesteps * (1 - req.endFraction));
  const baseIndices = ts.map((_, i) => i).filter((i) => i >= first && ts[i] >= cutoff);
  const rts = refinerScheduler ? Array.from(refinerScheduler.timesteps) : [];
  const refinerIndices = rts.map((_, i) => i).filter((i) => rts[i] < cutoff);
  return { baseIndices, refinerIndices, totalSteps: baseIndices.length + refinerIndices.length };
}
