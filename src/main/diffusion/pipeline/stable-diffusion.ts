import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AppError } from '../../../shared/errors';
import { loadModelFolder, type LoadedModel, type LoadOptions } from '../loader/model-folder';
import type { ProviderName } from '../runtime/providers';
import { runTimer } from '../runtime/session';
import { createScheduler, type NoiseSource, type Scheduler, type SchedulerName } from '../schedulers/index';
import { encodePrompts, type Conditioning, type EmbeddingOverride } from './conditioning';
import { decodedToUnit, encodePng, unitToUint8 } from './image-io';
import { LearnedEmbeddings, type EmbeddingPlacement } from './learned-embeddings';
import {
  checkInputs, planStages, prepareLatents, type GenerationInputs, type GenerationRequest, type LatentSources, type StagePlan, type StartLatents,
} from './generate-steps';

/**
 * Stable Diffusion pipelines on onnxruntime-node: text-to-image with classifier-free guidance, SDXL conditioning
 * (pooled text_embeds, time_ids), the SDXL base → refiner hand-off at a denoising fraction, image-to-image, batches,
 * a documented seeded generator (rng.ts), a per-step progress callback and cancellation between steps.
 */

export interface StepInfo {
  stage: 'base' | 'refiner';
  /** 1-based UNet call number over all stages */
  step: number;
  totalSteps: number;
  timestep: number;
  /** Wall time of this step (scale, UNet, guidance, scheduler) in ms. */
  stepMs: number;
  /** Of which inside onnxruntime's session.run. */
  sessionMs: number;
}

export interface ImageInput {
  /** RGB, NCHW [B, 3, H, W] in [0, 1] (B = 1 is repeated over the batch) */
  data: Float32Array;
  width: number;
  height: number;
}

/** Everything generate() takes: the inputs checkInputs reads, the latent sources, and how to run and report. */
export interface GenerateOptions extends GenerationInputs, Omit<LatentSources, 'posterior'> {
  scheduler?: SchedulerName;
  karras?: boolean;
  /** A1111 prompt weighting; false tokenizes brackets literally (default true). */
  weighting?: boolean;
  /** SDXL refiner stage, run from `refinerStart` (fraction of the schedule, default 0.75). */
  refiner?: DiffusionPipeline;
  /** img2img source image (`strength` default 0.8). */
  image?: ImageInput;
  /** Refiner micro-conditioning (5 time ids): aesthetic score of the cond / uncond rows. */
  aestheticScore?: number;
  negativeAestheticScore?: number;
  /** 'png' (default) decodes and encodes images; 'latents' skips the VAE. */
  output?: 'png' | 'latents';
  onStep?: (info: StepInfo) => void;
  signal?: AbortSignal;
}

export interface GenerateResult {
  /** PNG bytes per image (empty when output = 'latents'). */
  images: Buffer[];
  /** Final latents [B, C, h, w] (unscaled, as the VAE decoder expects × scaling factor). */
  latents: Float32Array;
  latentShape: [number, number, number, number];
  /** Decoded RGB per image, NHWC in [0, 1] (empty when output = 'latents'). */
  rgb: Float32Array[];
  provider: ProviderName;
  refinerProvider?: ProviderName;
  seeds: number[];
  timesteps: number[];
  timings: { totalMs: number; sessionRunMs: number; sessionRuns: number };
}

interface StageConditioning {
  hidden: Float32Array;
  hiddenDims: number[];
  textEmbeds?: Float32Array;
  timeIds?: Float32Array;
  cfg: boolean;
}

type ClipTokenizerLike = NonNullable<LoadedModel['tokenizer']>;

/** What the denoising stages of one generate() call share. */
interface DenoiseRun {
  /** Updated in place by each stage. */
  latents: Float32Array;
  noise: NoiseSource;
  plan: StagePlan;
  weighting?: boolean;
  onStep?: (info: StepInfo) => void;
  signal?: AbortSignal;
}

function cancelled(): AppError {
  return new AppError('diffusion.cancelled', 'generation was cancelled');
}

export class DiffusionPipeline {
  /** Learned keyword embeddings per encoder (set by setLearnedEmbedding). */
  embeddingOverrides: { first?: EmbeddingOverride; second?: EmbeddingOverride } = {};
  private learned: { first?: LearnedEmbeddings; second?: LearnedEmbeddings } = {};

  constructor(readonly model: LoadedModel, private readonly loadOptions: LoadOptions = {}) {}

  static async load(dir: string, opts: LoadOptions = {}): Promise<DiffusionPipeline> {
    return new DiffusionPipeline(await loadModelFolder(dir, opts), opts);
  }

  /**
   * Makes `keyword` in prompts stand for learned vectors: `vectors[0]` for text_encoder (SD 1.x/2.x: the only one;
   * SDXL: the 768-wide CLIP-L row) and `vectors[1]` for SDXL's text_encoder_2 (1280-wide); an SDXL refiner, which
   * has only text_encoder_2, takes `vectors[1]` (or a single vector of its width). Each entry may hold k rows for a
   * k-token keyword. The model files stay untouched; a cached inputs_embeds copy of each encoder is made once.
   * `placement` (see learned-embeddings.ts) defaults to overwriting the keyword's own row when it is a single token
   * of the vocabulary — how DreamFrame learns and renders styles — and to a new token otherwise (`<kw>` placeholders).
   */
  async setLearnedEmbedding(spec: { keyword: string; vectors: Float32Array[]; cacheDir?: string; placement?: EmbeddingPlacement }): Promise<void> {
    const cacheDir = spec.cacheDir ?? join(tmpdir(), 'dreamframe-onnx-cache');
    const { textEncoder, textEncoder2, tokenizer, tokenizer2 } = this.model;
    const sdxl = this.model.unet.isSdxl;
    const wanted = sdxl ? (textEncoder ? 2 : 1) : 1;
    if (spec.vectors.length !== wanted && !(sdxl && !textEncoder && spec.vectors.length === 2)) {
      throw new AppError('diffusion.bad_request', `${this.model.info.family} needs ${wanted} learned vector(s) for ${JSON.stringify(spec.keyword)}, got ${spec.vectors.length}`);
    }
    const open = (file: string, tok: ClipTokenizerLike) => LearnedEmbeddings.open(file, cacheDir, tok, this.provider, this.loadOptions.threads);
    if (textEncoder && tokenizer) {
      this.learned.first ??= await open(textEncoder.s.file, tokenizer);
      this.learned.first.set(spec.keyword, spec.vectors[0], placementFor(spec, tokenizer));
    }
    if (sdxl && textEncoder2 && tokenizer2) {
      this.learned.second ??= await open(textEncoder2.s.file, tokenizer2);
      this.learned.second.set(spec.keyword, spec.vectors[spec.vectors.length - 1], placementFor(spec, tokenizer2));
    }
    this.embeddingOverrides = { first: this.learned.first, second: this.learned.second };
  }

  get provider(): ProviderName {
    return this.model.provider;
  }

  async release(): Promise<void> {
    await this.learned.first?.release();
    await this.learned.second?.release();
    await this.model.release();
  }

  /** Prompt conditioning rows in the UNet's layout ([uncond…, cond…] when guidance is on). */
  async conditioning(
    prompts: string[],
    negatives: string[] | undefined,
    cfg: boolean,
    size: { width: number; height: number },
    opts: { weighting?: boolean; aestheticScore?: number; negativeAestheticScore?: number } = {},
  ): Promise<StageConditioning> {
    const info = this.model.info;
    const sdxl = this.model.unet.isSdxl;
    const zeroUncond = cfg && negatives === undefined && sdxl && info.forceZerosForEmptyPrompt;
    const texts = cfg && !zeroUncond ? [...(negatives ?? prompts.map(() => '')), ...prompts] : prompts;
    const enc: Conditioning = await encodePrompts(this.model, texts, { weighting: opts.weighting, learned: this.embeddingOverrides });
    let hidden = enc.hidden;
    let pooled = enc.pooled;
    if (zeroUncond) {
      hidden = new Float32Array(enc.hidden.length * 2);
      hidden.set(enc.hidden, enc.hidden.length);
      if (enc.pooled) {
        pooled = new Float32Array(enc.pooled.length * 2);
        pooled.set(enc.pooled, enc.pooled.length);
      }
    }
    const rows = cfg ? prompts.length * 2 : prompts.length;
    const out: StageConditioning = { hidden, hiddenDims: [rows, enc.seq, enc.width], cfg };
    if (sdxl) {
      out.textEmbeds = pooled;
      const k = this.model.unet.timeIdsLength;
      const ids = new Float32Array(rows * k);
      for (let r = 0; r < rows; r++) {
        const uncondRow = cfg && r < rows / 2;
        const row =
          k === 5
            ? [size.height, size.width, 0, 0, uncondRow ? (opts.negativeAestheticScore ?? 2.5) : (opts.aestheticScore ?? 6)]
            : [size.height, size.width, 0, 0, size.height, size.width];
        ids.set(row.slice(0, k), r * k);
      }
      out.timeIds = ids;
    }
    return out;
  }

  /** VAE encode: image [B, 3, H, W] in [0, 1] → posterior mean × scaling factor (deterministic). */
  async encodeImage(image: ImageInput): Promise<{ latents: Float32Array; dims: number[] }> {
    const { mean, dims } = await this.encodePosterior(image);
    const s = this.model.info.scalingFactor;
    return { latents: mean.map((v) => v * s), dims };
  }

  private async encodePosterior(image: ImageInput): Promise<{ mean: Float32Array; logvar?: Float32Array; dims: number[] }> {
    const encoder = await this.model.vaeEncoder();
    const batch = image.data.length / (3 * image.width * image.height);
    if (!Number.isInteger(batch) || batch < 1) {
      throw new AppError('diffusion.bad_request', `image data has ${image.data.length} values, not a multiple of 3×${image.height}×${image.width}`);
    }
    const m11 = image.data.map((v) => 2 * v - 1);
    return encoder.encode(m11, [batch, 3, image.height, image.width]);
  }

  /** Decodes final latents [B, C, h, w] to NHWC RGB in [0, 1] per image. */
  async decodeLatents(latents: Float32Array, dims: readonly number[]): Promise<Float32Array[]> {
    const s = this.model.info.scalingFactor;
    const [b] = dims;
    const plane = latents.length / b;
    const out: Float32Array[] = [];
    for (let i = 0; i < b; i++) {
      // One image per call keeps the decoder's peak memory at one image (full-size VAEs are the memory hog).
      const scaled = latents.subarray(i * plane, (i + 1) * plane).map((v) => v / s);
      const decoded = await this.model.vaeDecoder.decode(scaled, [1, dims[1], dims[2], dims[3]]);
      const [, , h, w] = decoded.dims;
      out.push(decodedToUnit(decoded.data, h, w));
    }
    return out;
  }

  private scheduleFor(opts: GenerateOptions, steps: number): Scheduler {
    const name = opts.scheduler ?? this.model.info.defaultScheduler ?? 'euler';
    return createScheduler(name, this.model.schedulerConfig, steps, { karras: opts.karras });
  }

  private async runStage(p: {
    stage: 'base' | 'refiner';
    scheduler: Scheduler;
    indices: number[];
    cond: StageConditioning;
    latents: Float32Array;
    dims: number[];
    guidance: number;
    noise: NoiseSource;
    stepOffset: number;
    totalSteps: number;
    onStep?: (info: StepInfo) => void;
    signal?: AbortSignal;
  }): Promise<void> {
    const { latents, dims, cond } = p;
    const n = latents.length;
    const rows = cond.cfg ? dims[0] * 2 : dims[0];
    // Buffers live for the whole stage: no per-step allocation of latent-sized arrays.
    const modelIn = new Float32Array(rows * (n / dims[0]));
    const pred = new Float32Array(modelIn.length);
    const guided = cond.cfg ? new Float32Array(n) : pred;
    const sampleDims = [rows, dims[1], dims[2], dims[3]];
    for (let k = 0; k < p.indices.length; k++) {
      if (p.signal?.aborted) throw cancelled();
      const stepStart = performance.now();
      const sessionBefore = runTimer.ms;
      const idx = p.indices[k];
      const t = p.scheduler.timesteps[idx];
      p.scheduler.scaleModelInput(latents, idx, modelIn.subarray(0, n));
      if (cond.cfg) modelIn.copyWithin(n, 0, n);
      await this.model.unet.predict(
        { sample: modelIn, sampleDims, timestep: t, encoderHiddenStates: cond.hidden, ehsDims: cond.hiddenDims, textEmbeds: cond.textEmbeds, timeIds: cond.timeIds },
        pred,
      );
      if (cond.cfg) {
        const g = p.guidance;
        for (let i = 0; i < n; i++) {
          const u = pred[i];
          guided[i] = u + g * (pred[n + i] - u);
        }
      }
      p.scheduler.step(idx, guided, latents, latents, p.noise);
      p.onStep?.({
        stage: p.stage,
        step: p.stepOffset + k + 1,
        totalSteps: p.totalSteps,
        timestep: t,
        stepMs: performance.now() - stepStart,
        sessionMs: runTimer.ms - sessionBefore,
      });
    }
  }

  /**
   * Text-to-image (or image-to-image when `image` is given), optionally finished by an SDXL refiner, in five
   * named steps: check the inputs, prepare the starting latents, denoise with the base, hand off to the
   * refiner, decode.
   */
  async generate(opts: GenerateOptions): Promise<GenerateResult> {
    const started = performance.now();
    const runMsBefore = runTimer.ms;
    const callsBefore = runTimer.calls;
    const req = checkInputs(this.model, opts, opts.refiner?.model);
    const scheduler = this.scheduleFor(opts, req.steps);
    const { latents, first, noise } = await this.startLatents(req, scheduler, opts);
    const refinerScheduler = opts.refiner?.scheduleFor(opts, req.steps);
    const plan = planStages(req, first, scheduler, this.model, refinerScheduler);
    const run = { latents, noise, plan, onStep: opts.onStep, signal: opts.signal, weighting: opts.weighting };
    await this.denoise(req, scheduler, run);
    const finalPipeline = opts.refiner && refinerScheduler
      ? await opts.refiner.finishAsRefiner(req, refinerScheduler, { ...run, aestheticScore: opts.aestheticScore, negativeAestheticScore: opts.negativeAestheticScore })
      : this;
    const stoppedEarly = opts.denoisingEnd !== undefined && !opts.refiner;
    const wantImages = (opts.output ?? 'png') === 'png' && !stoppedEarly;
    const { images, rgb } = wantImages ? await finalPipeline.decode(req, latents, opts.signal) : { images: [], rgb: [] };
    return {
      images,
      rgb,
      latents,
      latentShape: req.dims,
      provider: this.provider,
      refinerProvider: opts.refiner?.provider,
      seeds: req.seeds,
      timesteps: [...plan.baseIndices.map((i) => scheduler.timesteps[i]), ...plan.refinerIndices.map((i) => refinerScheduler!.timesteps[i])],
      timings: { totalMs: performance.now() - started, sessionRunMs: runTimer.ms - runMsBefore, sessionRuns: runTimer.calls - callsBefore },
    };
  }

  /** Step 2: the starting latents (img2img encodes the source image first). */
  private async startLatents(req: GenerationRequest, scheduler: Scheduler, opts: GenerateOptions): Promise<StartLatents> {
    const posterior = opts.image && !opts.startLatents ? await this.encodePosterior(opts.image) : undefined;
    return prepareLatents(req, scheduler, this.model, {
      initLatents: opts.initLatents,
      startLatents: opts.startLatents,
      denoisingStart: opts.denoisingStart,
      posterior,
      posteriorNoise: opts.posteriorNoise,
      stepNoise: opts.stepNoise,
    });
  }

  /** Step 3: the base model's share of the schedule, updating `run.latents` in place. */
  private async denoise(req: GenerationRequest, scheduler: Scheduler, run: DenoiseRun): Promise<void> {
    const cond = await this.conditioning(req.prompts, req.negatives, req.cfg, req, { weighting: run.weighting });
    if (run.signal?.aborted) throw cancelled();
    await this.runStage({
      stage: 'base', scheduler, indices: run.plan.baseIndices, cond, latents: run.latents, dims: req.dims, guidance: req.guidance,
      noise: run.noise, stepOffset: 0, totalSteps: run.plan.totalSteps, onStep: run.onStep, signal: run.signal,
    });
  }

  /** Step 4 (on the refiner): takes the base's latents over and runs the rest of the schedule with its own conditioning. */
  private async finishAsRefiner(
    req: GenerationRequest,
    scheduler: Scheduler,
    run: DenoiseRun & { aestheticScore?: number; negativeAestheticScore?: number },
  ): Promise<DiffusionPipeline> {
    const cond = await this.conditioning(req.prompts, req.negatives, req.cfg, req, {
      weighting: run.weighting,
      aestheticScore: run.aestheticScore,
      negativeAestheticScore: run.negativeAestheticScore,
    });
    await this.runStage({
      stage: 'refiner', scheduler, indices: run.plan.refinerIndices, cond, latents: run.latents, dims: req.dims, guidance: req.guidance,
      noise: run.noise, stepOffset: run.plan.baseIndices.length, totalSteps: run.plan.totalSteps, onStep: run.onStep, signal: run.signal,
    });
    return this;
  }

  /** Step 5: VAE-decodes the final latents (with the last stage's VAE) and encodes each image as PNG. */
  private async decode(req: GenerationRequest, latents: Float32Array, signal?: AbortSignal): Promise<{ images: Buffer[]; rgb: Float32Array[] }> {
    if (signal?.aborted) throw cancelled();
    const rgb = await this.decodeLatents(latents, req.dims);
    const images: Buffer[] = [];
    for (const img of rgb) images.push(await encodePng(unitToUint8(img), req.width, req.height));
    return { images, rgb };
  }

  /** Alias of generate() for callers that think in pipeline names. */
  txt2img(opts: GenerateOptions): Promise<GenerateResult> {
    return this.generate(opts);
  }

  img2img(opts: GenerateOptions & { image: ImageInput }): Promise<GenerateResult> {
    return this.generate(opts);
  }
}

export function loadPipeline(dir: string, opts: LoadOptions = {}): Promise<DiffusionPipeline> {
  return DiffusionPipeline.load(dir, opts);
}

/** In place when the caller says so or when the keyword is one vocabulary token; a new token otherwise. */
function placementFor(spec: { keyword: string; placement?: EmbeddingPlacement }, tokenizer: ClipTokenizerLike): EmbeddingPlacement {
  if (spec.placement) return spec.placement;
  return tokenizer.encodeRaw(spec.keyword).length === 1 && !/^<.*>$/.test(spec.keyword) ? 'existing-token' : 'new-token';
}
