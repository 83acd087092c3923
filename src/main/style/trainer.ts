import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AppError } from '../../shared/errors';
import { adamwStep, clipGradNorm, createAdamWState, DEFAULT_ADAMW, type AdamWState } from './adamw';
import { loadCheckpoint, pruneStepSnapshots, saveCheckpoint, type LossPoint, type TrainingCheckpoint } from './checkpoint';
import type { ModelFamily, StyleEmbedding } from './embedding';
import { writeEmbeddingFile } from './formats/index';
import { formatLrSchedule, learningRateAt, parseLrSchedule, RELEASE_LR_SCHEDULE, scheduleLength } from './lr-schedule';
import type { TrainingNoiser } from './noising';
import { DEFAULT_PROMPT_TEMPLATES, fillTemplate, validateTemplates } from './prompt-templates';
import { TrainingRng } from './rng';

/**
 * Textual inversion of a style keyword, as the DreamFrame release does it: the keyword is an existing single
 * token whose row in each text encoder's token table is replaced by a learned vector (one per encoder).
 * Each micro-step draws a prompt template, a cached latent, a timestep and noise from one seeded PRNG, runs the
 * gradient model (text encoder(s) + UNet + MSE, differentiated w.r.t. inputs_embeds), and sums the gradient
 * rows at the keyword's positions. Every `accumulation × batchSize` micro-steps the averaged gradient is clipped
 * per encoder and AdamW takes a step. Checkpoints hold the complete state, so a resumed run is bit-identical to
 * an uninterrupted one. The loop is a plain async function with onProgress, checkpoints and an AbortSignal so
 * a persisted job can wrap it.
 */

/** What one forward/backward pass of the gradient model returns. */
export interface GradientResult {
  loss: number;
  /** d loss / d inputs_embeds for each encoder, [sequence, width] row-major. */
  grads: Float32Array[];
}

export interface GradientInputs {
  /** inputs_embeds per encoder, [sequence, width] row-major (batch 1). */
  embeds: Float32Array[];
  /** The token ids behind them, per encoder (CLIP pools at argmax(ids), so SDXL's pooled vector needs them). */
  ids: number[][];
  /** Noisy latent [1, C, h, w]. */
  sample: Float32Array;
  timestep: number;
  /** ε or v, same shape as sample. */
  target: Float32Array;
}

/** The gradient model, whatever builds it (the onnx module's TI gradient graph on an ORT session). */
export interface GradientModel {
  run(inputs: GradientInputs): Promise<GradientResult>;
}

/** Minimal tokenizer surface the trainer needs (the diffusion module's ClipTokenizer satisfies it). */
export interface TrainingTokenizer {
  encode(text: string): number[];
  encodeRaw(text: string): number[];
}

/** One text encoder as the trainer sees it: its tokenizer and token-embedding table. */
export interface TrainingEncoder {
  tokenizer: TrainingTokenizer;
  /** Row-major [vocab, width]. */
  tokenTable: Float32Array;
  width: number;
}

/** Everything model-specific the loop needs, prepared once (see trainer-setup.ts for the real one). */
export interface TrainerSetup {
  modelName: string;
  family: ModelFamily | null;
  encoders: TrainingEncoder[];
  gradient: GradientModel;
  /** Cached VAE latents (mean × scaling factor), each [1, C, h, w]. */
  latents: Float32Array[];
  noiser: TrainingNoiser;
}

export type InitSpec = { kind: 'random'; scale?: number } | { kind: 'token'; token: string };

export interface TrainingOptions {
  keyword: string;
  /** Optimizer steps; default: the schedule's last end step (400 for the release schedule). */
  steps?: number;
  /** `rate:step` pairs; default the release schedule. */
  lrSchedule?: string;
  /** Micro-batches averaged per optimizer step (the release: 2). */
  accumulation?: number;
  /** Samples per micro-batch; the gradient model runs batch 1, so samples are run one after another and averaged. */
  batchSize?: number;
  /** The release seeds torch with 46. */
  seed?: number;
  init?: InitSpec;
  templates?: readonly string[];
  /** Gradient-norm clipping per encoder (the release: 1.0); 0 disables. */
  maxGradNorm?: number;
  /** Folder for checkpoint.json and step snapshots; no checkpoints without it. */
  checkpointDir?: string;
  /** Save a checkpoint (and an embedding snapshot) every N optimizer steps; default 50. */
  checkpointEvery?: number;
  /** Continue from checkpointDir/checkpoint.json when present (default true). */
  resume?: boolean;
  /** Call onSnapshot every N steps (previews are rendered by the caller); 0 = never. */
  snapshotEvery?: number;
  onSnapshot?: (step: number, embedding: StyleEmbedding) => void | Promise<void>;
  onProgress?: (progress: TrainingProgress) => void;
  signal?: AbortSignal;
}

export interface TrainingProgress {
  step: number;
  totalSteps: number;
  loss: number;
  learningRate: number;
  /** Gradient norms per encoder before clipping. */
  gradNorms: number[];
  elapsedMs: number;
  etaMs: number;
  stepsPerSecond: number;
}

export interface TrainingResult {
  embedding: StyleEmbedding;
  /** Optimizer steps completed (equals the target unless cancelled). */
  steps: number;
  losses: LossPoint[];
  cancelled: boolean;
  /** Step the run resumed from (0 for a fresh start). */
  resumedFrom: number;
}

export const CHECKPOINT_FILE = 'checkpoint.json';
const DEFAULTS = { accumulation: 2, batchSize: 1, seed: 46, maxGradNorm: 1, checkpointEvery: 50 };

/** Id of `word` in a tokenizer, which must be exactly one BPE token (as the release requires). */
export function singleTokenId(tokenizer: TrainingTokenizer, word: string, which: string): number {
  const ids = tokenizer.encodeRaw(word);
  if (ids.length !== 1) {
    throw new AppError(
      'style.keyword_not_single_token',
      `the keyword "${word}" is ${ids.length} tokens in ${which} (ids ${ids.join(', ')}); choose a word that is a single token, ` +
        'as the keyword\'s own token row is what training replaces',
      { keyword: word, ids },
    );
  }
  return ids[0];
}

/** Mean loss of the last `window` recorded steps. */
export function recentLoss(losses: LossPoint[], window = 10): number {
  const tail = losses.slice(-window);
  return tail.reduce((s, p) => s + p.loss, 0) / Math.max(1, tail.length);
}

/** A tokenised prompt for one encoder and where the keyword sits in it. */
export interface PromptTokens {
  ids: number[];
  positions: number[];
}

/** One training sample's random draws. */
export interface TrainingDraw {
  /** One entry per encoder. */
  prompt: PromptTokens[];
  /** Clean latent x₀ [1, C, h, w] (already × scaling factor). */
  latent: Float32Array;
  noise: Float32Array;
  timestep: number;
}

/**
 * The gradient training uses for one sample: looks the prompt's tokens up in each encoder's table, puts the
 * learned vector at the keyword positions, noises the latent, runs the gradient model, and sums the gradient
 * rows at the keyword positions (the keyword's row is shared by every position it occupies).
 */
export interface KeywordGradient {
  loss: number;
  /** d loss / d (learned vector), one [width] row per encoder. */
  rows: Float32Array[];
}

export async function keywordGradient(
  setup: Pick<TrainerSetup, 'encoders' | 'gradient' | 'noiser'>,
  draw: TrainingDraw,
  vectors: Float32Array[],
): Promise<KeywordGradient> {
  const embeds = setup.encoders.map((enc, e) => {
    const { ids, positions } = draw.prompt[e];
    const out = new Float32Array(ids.length * enc.width);
    for (let p = 0; p < ids.length; p++) {
      if (positions.includes(p)) out.set(vectors[e], p * enc.width);
      else out.set(enc.tokenTable.subarray(ids[p] * enc.width, (ids[p] + 1) * enc.width), p * enc.width);
    }
    return out;
  });
  const result = await setup.gradient.run({
    embeds,
    ids: draw.prompt.map((p) => p.ids),
    sample: setup.noiser.addNoise(draw.latent, draw.noise, draw.timestep),
    timestep: draw.timestep,
    target: setup.noiser.target(draw.latent, draw.noise, draw.timestep),
  });
  const rows = setup.encoders.map((enc, e) => {
    const g = result.grads[e];
    const row = new Float32Array(enc.width);
    for (const p of draw.prompt[e].positions) for (let i = 0; i < enc.width; i++) row[i] += g[p * enc.width + i];
    return row;
  });
  return { loss: result.loss, rows };
}

interface State {
  step: number;
  vectors: Float32Array[];
  adam: AdamWState;
  rng: TrainingRng;
  losses: LossPoint[];
}

function toEmbedding(setup: TrainerSetup, keyword: string, state: State): StyleEmbedding {
  const embedding: StyleEmbedding = {
    vectors: state.vectors.map((v) => ({ rows: 1, width: v.length, data: Float32Array.from(v) })),
    family: setup.family,
    keyword,
    steps: state.step,
  };
  if (state.losses.length > 0) embedding.loss = recentLoss(state.losses);
  return embedding;
}

function toCheckpoint(state: State, rngState: TrainingCheckpoint['rng'], fingerprint: string): TrainingCheckpoint {
  return {
    version: 1,
    step: state.step,
    vectors: state.vectors.map((v) => Float32Array.from(v)),
    adam: { step: state.adam.step, m: state.adam.m.map((a) => Float32Array.from(a)), v: state.adam.v.map((a) => Float32Array.from(a)) },
    rng: rngState,
    losses: state.losses.slice(),
    fingerprint,
  };
}

export async function trainStyleEmbedding(setup: TrainerSetup, options: TrainingOptions): Promise<TrainingResult> {
  const keyword = options.keyword.trim();
  if (!keyword) throw new AppError('style.keyword_required', 'a style keyword is required');
  const phases = parseLrSchedule(options.lrSchedule ?? RELEASE_LR_SCHEDULE);
  const totalSteps = options.steps ?? scheduleLength(phases);
  if (totalSteps === null) {
    throw new AppError('style.steps_required', 'the learning-rate schedule has an open-ended last rate; give the number of steps');
  }
  if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new AppError('style.steps_invalid', `steps must be a positive integer, not ${totalSteps}`);
  const accumulation = options.accumulation ?? DEFAULTS.accumulation;
  const batchSize = options.batchSize ?? DEFAULTS.batchSize;
  for (const [name, v] of [['accumulation', accumulation], ['batch size', batchSize]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new AppError('style.option_invalid', `${name} must be a positive integer, not ${v}`);
  }
  const seed = options.seed ?? DEFAULTS.seed;
  const templates = options.templates ?? DEFAULT_PROMPT_TEMPLATES;
  validateTemplates(templates);
  const maxGradNorm = options.maxGradNorm ?? DEFAULTS.maxGradNorm;
  const init = options.init ?? { kind: 'random' };
  if (setup.latents.length === 0) throw new AppError('style.no_images', 'no training latents: add style images first');

  const keywordIds = setup.encoders.map((e, i) => singleTokenId(e.tokenizer, keyword, i === 0 ? 'tokenizer' : `tokenizer_${i + 1}`));
  // Tokenise every template once; each must put the keyword somewhere.
  const prompts = templates.map((t) => {
    const text = fillTemplate(t, keyword);
    return setup.encoders.map((enc, e) => {
      const ids = enc.tokenizer.encode(text);
      const positions = ids.flatMap((id, p) => (id === keywordIds[e] ? [p] : []));
      if (positions.length === 0) {
        throw new AppError('style.templates_invalid', `prompt "${text}" does not contain the keyword token after tokenisation (truncated?)`);
      }
      return { ids, positions };
    });
  });

  const fingerprint = JSON.stringify({
    model: setup.modelName,
    widths: setup.encoders.map((e) => e.width),
    keyword,
    seed,
    schedule: formatLrSchedule(phases),
    accumulation,
    batchSize,
    templates,
    init,
    maxGradNorm,
    latents: setup.latents.length,
  });

  // Fresh state: the initial vectors are the first thing drawn from the seeded PRNG.
  const rng = TrainingRng.fromSeed(seed);
  let vectors: Float32Array[];
  if (init.kind === 'random') {
    const scale = init.scale ?? 0.01;
    vectors = setup.encoders.map((e) => {
      const v = new Float32Array(e.width);
      rng.fillNormal(v);
      for (let i = 0; i < v.length; i++) v[i] *= scale;
      return v;
    });
  } else {
    vectors = setup.encoders.map((e, i) => {
      const id = singleTokenId(e.tokenizer, init.token, i === 0 ? 'tokenizer' : `tokenizer_${i + 1}`);
      return Float32Array.from(e.tokenTable.subarray(id * e.width, (id + 1) * e.width));
    });
  }
  let state: State = { step: 0, vectors, adam: createAdamWState(vectors), rng, losses: [] };

  const checkpointPath = options.checkpointDir ? join(options.checkpointDir, CHECKPOINT_FILE) : null;
  let resumedFrom = 0;
  if (checkpointPath && (options.resume ?? true)) {
    const cp = loadCheckpoint(checkpointPath);
    if (cp) {
      if (cp.fingerprint !== fingerprint) {
        throw new AppError(
          'style.checkpoint_mismatch',
          `${checkpointPath} was written with other settings (model, keyword, seed, schedule, accumulation, templates or images); ` +
            'remove it or use another checkpoint folder to start over',
          { expected: fingerprint, found: cp.fingerprint },
        );
      }
      if (cp.vectors.length !== setup.encoders.length || cp.vectors.some((v, i) => v.length !== setup.encoders[i].width)) {
        throw new AppError('style.checkpoint_mismatch', `${checkpointPath}: vector widths do not fit the model`);
      }
      state = {
        step: cp.step,
        vectors: cp.vectors,
        adam: { step: cp.adam.step, m: cp.adam.m, v: cp.adam.v },
        rng: TrainingRng.fromState(cp.rng),
        losses: cp.losses,
      };
      resumedFrom = cp.step;
    }
  }

  const checkpointEvery = options.checkpointEvery ?? DEFAULTS.checkpointEvery;
  const save = (rngState: TrainingCheckpoint['rng']): void => {
    if (!checkpointPath || !options.checkpointDir) return;
    saveCheckpoint(checkpointPath, toCheckpoint(state, rngState, fingerprint));
  };

  const microSteps = accumulation * batchSize;
  const latentSize = setup.latents[0].length;
  const noise = new Float32Array(latentSize);
  const gradSums = setup.encoders.map((e) => new Float32Array(e.width));
  const started = performance.now();
  const startStep = state.step;
  let cancelled = false;

  steps: while (state.step < totalSteps) {
    // Vectors and moments change only at the end of a step, so the state at this boundary plus this PRNG
    // state is a consistent checkpoint even if the step is abandoned half-way.
    const rngAtBoundary = state.rng.state();
    for (const g of gradSums) g.fill(0);
    let lossSum = 0;
    for (let micro = 0; micro < microSteps; micro++) {
      if (options.signal?.aborted) {
        cancelled = true;
        save(rngAtBoundary);
        break steps;
      }
      const prompt = prompts[state.rng.nextInt(prompts.length)];
      const latent = setup.latents[state.rng.nextInt(setup.latents.length)];
      const timestep = state.rng.nextInt(setup.noiser.numTrainTimesteps);
      state.rng.fillNormal(noise);
      const result = await keywordGradient(setup, { prompt, latent, noise, timestep }, state.vectors);
      if (!Number.isFinite(result.loss)) {
        throw new AppError('style.training_diverged', `the loss became ${result.loss} at step ${state.step + 1}; lower the learning rate`);
      }
      lossSum += result.loss;
      result.rows.forEach((g, e) => {
        const sum = gradSums[e];
        for (let i = 0; i < g.length; i++) sum[i] += g[i];
      });
    }
    const grads = gradSums.map((g) => Float32Array.from(g, (x) => x / microSteps));
    // The release clips each encoder's gradient separately (clip_grad_norm_ per encoder).
    const gradNorms = grads.map((g) => (maxGradNorm > 0 ? clipGradNorm([g], maxGradNorm) : Math.hypot(...g)));
    const step = state.step + 1;
    const lr = learningRateAt(phases, step);
    adamwStep(state.vectors, grads, state.adam, lr, DEFAULT_ADAMW);
    state.step = step;
    state.losses.push({ step, loss: lossSum / microSteps });

    const elapsedMs = performance.now() - started;
    const done = step - startStep;
    const stepsPerSecond = done / Math.max(elapsedMs / 1000, 1e-9);
    options.onProgress?.({
      step,
      totalSteps,
      loss: lossSum / microSteps,
      learningRate: lr,
      gradNorms,
      elapsedMs,
      etaMs: ((totalSteps - step) / stepsPerSecond) * 1000,
      stepsPerSecond,
    });
    if (checkpointPath && (step % checkpointEvery === 0 || step === totalSteps)) {
      save(state.rng.state());
      writeEmbeddingFile(join(options.checkpointDir as string, `step-${String(step).padStart(6, '0')}.safetensors`), toEmbedding(setup, keyword, state), 'ours');
      pruneStepSnapshots(options.checkpointDir as string);
    }
    if (options.onSnapshot && options.snapshotEvery && step % options.snapshotEvery === 0) {
      await options.onSnapshot(step, toEmbedding(setup, keyword, state));
    }
  }

  return { embedding: toEmbedding(setup, keyword, state), steps: state.step, losses: state.losses, cancelled, resumedFrom };
}
