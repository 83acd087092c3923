import { alphasCumprodFor, ddpmAddNoiseInto, karrasSigmas, linspace, roundHalfEven, sigmaToT, trainSigmas } from './schedule-math';
import type { Scheduler, SchedulerConfig } from './types';

/**
 * DPM-Solver++ 2M (Lu et al. 2022), data prediction, midpoint solver, lower-order final steps, as diffusers'
 * DPMSolverMultistepScheduler (solver_order 2).
 */
export class DpmppTwoMScheduler implements Scheduler {
  readonly name = 'dpmpp-2m' as const;
  readonly timesteps: Float64Array;
  readonly initNoiseSigma = 1;
  private readonly alphasCumprod: Float64Array;
  private readonly alphaT: Float64Array;
  private readonly sigmaT: Float64Array;
  private readonly lambdaT: Float64Array;
  /** The two most recent x0 predictions: prev and last. */
  private prev: Float32Array | null = null;
  private last: Float32Array | null = null;
  private lastTimestep = 0;
  private lowerOrderNums = 0;

  constructor(private readonly config: SchedulerConfig, steps: number) {
    this.alphasCumprod = alphasCumprodFor(config);
    this.alphaT = this.alphasCumprod.map(Math.sqrt);
    this.sigmaT = this.alphasCumprod.map((a) => Math.sqrt(1 - a));
    this.lambdaT = this.alphaT.map((a, i) => Math.log(a) - Math.log(this.sigmaT[i]));
    const n = config.numTrainTimesteps; // lambda_min_clipped = -inf: nothing clipped
    const spacing = config.timestepSpacing ?? 'linspace';
    let ts: number[];
    if (spacing === 'linspace') ts = linspace(0, n - 1, steps + 1).map(roundHalfEven).reverse().slice(0, -1);
    else if (spacing === 'leading') {
      const ratio = Math.floor(n / (steps + 1));
      ts = Array.from({ length: steps + 1 }, (_, i) => i * ratio).reverse().slice(0, -1).map((t) => t + config.stepsOffset);
    } else {
      const ratio = n / steps;
      ts = Array.from({ length: Math.ceil(n / ratio) }, (_, i) => roundHalfEven(n - i * ratio) - 1);
    }
    if (config.useKarrasSigmas) {
      const train = trainSigmas(this.alphasCumprod);
      const logSigmas = train.map(Math.log);
      const k = karrasSigmas(train[0], train[train.length - 1], steps);
      ts = k.map((s) => roundHalfEven(sigmaToT(s, logSigmas))).reverse();
    }
    // Duplicates can appear when steps approach the training length; keep the first of each.
    this.timesteps = Float64Array.from(ts.filter((t, i) => ts.indexOf(t) === i));
  }

  scaleModelInput(sample: Float32Array, _index: number, out: Float32Array): void {
    if (out !== sample) out.set(sample);
  }

  step(index: number, modelOutput: Float32Array, sample: Float32Array, out: Float32Array): void {
    const count = this.timesteps.length;
    const t = this.timesteps[index];
    const prevT = index === count - 1 ? 0 : this.timesteps[index + 1];
    const lowerFinal = index === count - 1 && count < 15;
    // Rotate buffers: the new x0 prediction goes into `last`.
    if (!this.last || this.last.length !== sample.length) {
      this.last = new Float32Array(sample.length);
      this.prev = new Float32Array(sample.length);
    } else {
      const tmp = this.prev!;
      this.prev = this.last;
      this.last = tmp;
    }
    const s0 = t;
    const s1 = this.lastTimestep;
    const aS = this.alphaT[s0];
    const sS = this.sigmaT[s0];
    const x0 = this.last;
    const v = this.config.predictionType === 'v_prediction';
    for (let i = 0; i < x0.length; i++) x0[i] = v ? aS * sample[i] - sS * modelOutput[i] : (sample[i] - sS * modelOutput[i]) / aS;

    const lambdaT = this.lambdaT[prevT];
    const lambdaS0 = this.lambdaT[s0];
    const alphaT = this.alphaT[prevT];
    const sigmaT = this.sigmaT[prevT];
    const h = lambdaT - lambdaS0;
    const ratio = sigmaT / sS;
    const phi = alphaT * (Math.exp(-h) - 1);
    if (this.lowerOrderNums < 1 || lowerFinal) {
      for (let i = 0; i < out.length; i++) out[i] = ratio * sample[i] - phi * x0[i];
    } else {
      const h0 = lambdaS0 - this.lambdaT[s1];
      const r0 = h0 / h;
      const m1 = this.prev!;
      for (let i = 0; i < out.length; i++) {
        const d1 = (x0[i] - m1[i]) / r0;
        out[i] = ratio * sample[i] - phi * x0[i] - 0.5 * phi * d1;
      }
    }
    this.lastTimestep = t;
    if (this.lowerOrderNums < 2) this.lowerOrderNums++;
  }

  addNoise(original: Float32Array, noise: Float32Array, index: number, out: Float32Array): void {
    ddpmAddNoiseInto(this.alphasCumprod, original, noise, this.timesteps[index], out);
  }
}
