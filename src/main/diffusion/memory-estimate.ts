import { totalmem } from 'node:os';
import { AppError } from '../../shared/errors';
import { readModelGeometry, type ModelGeometry } from './loader/model-config';

/**
 * Memory a generation or a style-learning run needs at a given size, from the model's configs, checked
 * against what the execution provider has before a job starts. A plain ONNX export computes attention as
 * MatMul → Softmax → MatMul, so every self-attention materialises a batch × heads × (h·w)² float32 score
 * matrix; it grows with the fourth power of the image side and is what fails first when a model runs above
 * its native size (the tiny SD 1.5 fixture at 1024² asks for 256 GiB). The estimate is the largest single
 * tensor, so it is a lower bound of the peak: weights and the tensors alive beside it come on top.
 */

const FLOAT32 = 4;
const GIB = 2 ** 30;
const MIB = 2 ** 20;

/** What a GPU provider is assumed to have when nothing says otherwise: 80 GiB, the largest common single card. */
export const ASSUMED_GPU_MEMORY_GIB = 80;
/** Environment variable that sets the limit for jobs run by the app or `dreamframe serve` (GiB). */
export const MAX_MEMORY_ENV = 'DREAMFRAME_MAX_MEMORY_GIB';

export interface TensorEstimate {
  /** What the tensor is, for messages. */
  what: string;
  bytes: number;
}

export interface MemoryEstimate {
  /** The estimate: the largest tensor for generation, the kept activations for training. */
  bytes: number;
  /** The largest single tensor. */
  largest: TensorEstimate;
  /** Every tensor considered (one per attention block / VAE stage). */
  parts: TensorEstimate[];
  /** How the estimate was made, for the refusal message. */
  basis: string;
}

export interface SizeRequest {
  width: number;
  height: number;
}

function latentSide(px: number, geometry: ModelGeometry): number {
  return Math.ceil(px / geometry.vaeScaleFactor);
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** Score matrices of the UNet's self-attentions: rows × heads × tokens² × 4 bytes per block. */
function unetScores(geometry: ModelGeometry, size: SizeRequest, rows: number): (TensorEstimate & { layers: number })[] {
  const h = latentSide(size.height, geometry);
  const w = latentSide(size.width, geometry);
  return (geometry.unetAttention ?? []).map((block) => {
    const tokens = Math.ceil(h / block.divisor) * Math.ceil(w / block.divisor);
    return {
      what: `the UNet self-attention scores in its ${block.name} (${rows} × ${block.heads} heads × ${count(tokens)}² tokens × 4 bytes)`,
      bytes: rows * block.heads * tokens * tokens * FLOAT32,
      layers: block.selfAttentions,
    };
  });
}

/** The VAE's single-head mid-block attention at latent resolution, one image per call. */
function vaeMidScores(geometry: ModelGeometry, size: SizeRequest, part: 'decoder' | 'encoder'): TensorEstimate[] {
  if (!geometry.vaeMidAttention) return [];
  const tokens = latentSide(size.height, geometry) * latentSide(size.width, geometry);
  return [{ what: `the VAE ${part}'s mid-block attention scores (1 × ${count(tokens)}² tokens × 4 bytes)`, bytes: tokens * tokens * FLOAT32 }];
}

/** The VAE decoder's widest feature map: each up block works at twice the side of the one before. */
function vaeDecoderFeatures(geometry: ModelGeometry, size: SizeRequest): TensorEstimate {
  const reversed = [...geometry.vaeChannels].reverse();
  const h = latentSide(size.height, geometry);
  const w = latentSide(size.width, geometry);
  let best: TensorEstimate = { what: '', bytes: 0 };
  reversed.forEach((out, i) => {
    const channels = Math.max(out, reversed[Math.max(i - 1, 0)]);
    const side = 2 ** i;
    const bytes = channels * h * side * w * side * FLOAT32;
    if (bytes > best.bytes) {
      best = { what: `the VAE decoder's feature map in up block ${i} (${channels} channels × ${h * side}×${w * side} × 4 bytes)`, bytes };
    }
  });
  return best;
}

function largestOf(parts: TensorEstimate[]): TensorEstimate {
  return parts.reduce((a, b) => (b.bytes > a.bytes ? b : a), { what: 'nothing', bytes: 0 });
}

/**
 * Text-to-image at `size`: `batch` images per UNet call, doubled by classifier-free guidance (the pipeline
 * stacks the unconditional rows in front of the conditional ones); the VAE decodes one image at a time.
 */
export function estimateGenerationMemory(geometry: ModelGeometry, size: SizeRequest & { batch: number; cfg: boolean }): MemoryEstimate {
  const rows = size.batch * (size.cfg ? 2 : 1);
  const parts = [...unetScores(geometry, size, rows), ...vaeMidScores(geometry, size, 'decoder'), vaeDecoderFeatures(geometry, size)];
  const largest = largestOf(parts);
  return { bytes: largest.bytes, largest, parts, basis: `largest tensor: ${largest.what}` };
}

/**
 * Style learning at `size` (batch 1, no guidance). Conservative: the gradient graph keeps the softmax output
 * of every UNet self-attention for the backward pass, and the backward adds the gradient of the largest one
 * twice (of the softmax output and of the scores); the VAE encoding of the style images and the previews run
 * apart from it and count only when they are larger.
 */
export function estimateTrainingMemory(geometry: ModelGeometry, size: SizeRequest & { previews?: boolean }): MemoryEstimate {
  const scores = unetScores(geometry, size, 1);
  const kept = scores.reduce((sum, s) => sum + s.bytes * s.layers, 0);
  const largestScore = largestOf(scores);
  const graph: TensorEstimate = {
    what: `the gradient graph's kept self-attention scores (${scores.reduce((n, s) => n + s.layers, 0)} layers) plus the backward of the largest`,
    bytes: kept + 2 * largestScore.bytes,
  };
  const encoder = vaeMidScores(geometry, size, 'encoder');
  const previews = size.previews ? estimateGenerationMemory(geometry, { ...size, batch: 1, cfg: true }).parts : [];
  const parts = [graph, ...encoder, ...previews];
  const largest = largestOf(parts);
  return {
    bytes: largest.bytes,
    largest,
    parts,
    basis: `a conservative estimate, ${largest.what}`,
  };
}

export interface MemoryBudget {
  bytes: number;
  /** Where the number comes from, for messages. */
  basis: string;
}

/**
 * What the provider can use: `maxMemoryGiB` (a --max-memory option) or the environment's
 * DREAMFRAME_MAX_MEMORY_GIB when set; otherwise the machine's RAM for the CPU (and CoreML, whose GPU shares
 * it), and an assumed 80 GiB for CUDA, DirectML and WebGPU, whose card size onnxruntime-node does not report.
 */
export function memoryBudget(provider: string, maxMemoryGiB?: number, env: NodeJS.ProcessEnv = process.env): MemoryBudget {
  if (maxMemoryGiB !== undefined) return { bytes: maxMemoryGiB * GIB, basis: `the --max-memory limit of ${formatBytes(maxMemoryGiB * GIB)}` };
  const fromEnv = env[MAX_MEMORY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    const gib = Number(fromEnv);
    if (!(gib > 0)) throw new AppError('invalid_input', `${MAX_MEMORY_ENV}=${JSON.stringify(fromEnv)}: must be a number of GiB > 0`);
    return { bytes: gib * GIB, basis: `the ${MAX_MEMORY_ENV} limit of ${formatBytes(gib * GIB)}` };
  }
  const ram = totalmem();
  const ramText = `this machine's ${formatBytes(ram)} of RAM`;
  const gpuText = `the ${ASSUMED_GPU_MEMORY_GIB} GiB assumed for a GPU (--max-memory or ${MAX_MEMORY_ENV} sets the real size)`;
  if (provider === 'cpu' || provider === 'coreml') return { bytes: ram, basis: ramText };
  if (provider === 'auto') {
    return ram >= ASSUMED_GPU_MEMORY_GIB * GIB ? { bytes: ram, basis: ramText } : { bytes: ASSUMED_GPU_MEMORY_GIB * GIB, basis: gpuText };
  }
  return { bytes: ASSUMED_GPU_MEMORY_GIB * GIB, basis: gpuText };
}

/** "256 GiB", "1.5 GiB", "64 MiB". */
export function formatBytes(bytes: number): string {
  const [unit, size] = bytes >= GIB ? ['GiB', GIB] : bytes >= MIB ? ['MiB', MIB] : ['KiB', 1024];
  const v = bytes / size;
  return `${v >= 10 ? Math.round(v) : Math.round(v * 10) / 10} ${unit}`;
}

export interface FitCheck {
  /** "1024×1024 on this model" or "Learning a style at 1024×1024 on this model". */
  subject: string;
  estimate: MemoryEstimate;
  budget: MemoryBudget;
  nativeSize: number;
}

/** Refuses, naming the size, the need, the model's native size and why, when the estimate exceeds the budget. */
export function assertFits({ subject, estimate, budget, nativeSize }: FitCheck): void {
  if (estimate.bytes <= budget.bytes) return;
  throw new AppError(
    'diffusion.too_large',
    `${subject} needs about ${formatBytes(estimate.bytes)}; its native size is ${nativeSize}×${nativeSize} ` +
      `(${estimate.basis}; available: ${budget.basis}).`,
    { neededBytes: estimate.bytes, availableBytes: budget.bytes, nativeSize },
  );
}

export interface FitOptions {
  /** Execution provider the run will use ('cpu' unless said otherwise). */
  provider?: string;
  /** --max-memory (GiB); otherwise the environment or the provider's default. */
  maxMemoryGiB?: number;
}

/** A size given as "unset" takes the model's native size; a set one must suit the VAE. */
function sizeFor(geometry: ModelGeometry, width: number | null | undefined, height: number | null | undefined): { width: number; height: number } {
  const size = { width: width ?? geometry.nativeSize, height: height ?? geometry.nativeSize };
  const f = geometry.vaeScaleFactor;
  for (const [name, value] of Object.entries(size)) {
    if (value % f !== 0) {
      throw new AppError('diffusion.bad_request', `${name} ${value} is not a multiple of ${f}, this model's VAE factor (its native size is ${geometry.nativeSize}×${geometry.nativeSize})`, { [name]: value });
    }
  }
  return size;
}

/**
 * The check before rendering with `modelDir`: resolves an unset width/height to the native size and refuses
 * (diffusion.too_large) a size whose estimate exceeds the provider's memory. Returns the size to render at.
 */
export function checkGenerationFits(
  modelDir: string,
  request: { width?: number | null; height?: number | null; batch?: number; cfg: boolean } & FitOptions,
): { width: number; height: number; nativeSize: number; estimate: MemoryEstimate } {
  const geometry = readModelGeometry(modelDir);
  const size = sizeFor(geometry, request.width, request.height);
  const estimate = estimateGenerationMemory(geometry, { ...size, batch: request.batch ?? 1, cfg: request.cfg });
  assertFits({
    subject: `${size.width}×${size.height} on this model`,
    estimate,
    budget: memoryBudget(request.provider ?? 'cpu', request.maxMemoryGiB),
    nativeSize: geometry.nativeSize,
  });
  return { ...size, nativeSize: geometry.nativeSize, estimate };
}

/** The same check before learning a style at `size` (square; unset = native), with the training estimate. */
export function checkTrainingFits(
  modelDir: string,
  request: { size?: number | null; previews?: boolean } & FitOptions,
): { width: number; height: number; nativeSize: number; estimate: MemoryEstimate } {
  const geometry = readModelGeometry(modelDir);
  const size = sizeFor(geometry, request.size, request.size);
  const estimate = estimateTrainingMemory(geometry, { ...size, previews: request.previews });
  assertFits({
    subject: `Learning a style at ${size.width}×${size.height} on this model`,
    estimate,
    budget: memoryBudget(request.provider ?? 'cpu', request.maxMemoryGiB),
    nativeSize: geometry.nativeSize,
  });
  return { ...size, nativeSize: geometry.nativeSize, estimate };
}
