import { alphasCumprodFor, ddpmAddNoiseInto, discreteTimesteps } from './schedule-math';
import type { Scheduler, SchedulerConfig } from './types';

/**
 * PNDM in its PLMS form (skip_prk_steps), as diffusers' PNDMScheduler: linear multistep on ε with up to four past
 * outputs. n steps make n + 1 UNet calls; the first timestep repeats for the warm-up.
 */
export class PndmScheduler implements Scheduler {
  readonly name = 'pndm' as const;
  readonly timesteps: Float64Array;
  readonly initNoiseSigma = 1;
  private readonly alphasCumprod: Float64Array;
  private readonly finalAlphaCumprod: number;
  private readonly stepRatio: number;
  /** Past ε outputs, newest last (at most 4), as preallocated ring buffers. */
  private readonly ets: Float32Array[] = [];
  private etsCount = 0;
  private curSample: Float32Array | null = null;
  private counter = 0;
  private readonly combined: Float32Array[] = [];

  constructor(private readonly config: SchedulerConfig, steps: number) {
    this.alphasCumprod = alphasCumprodFor(config);
    this.finalAlphaCumprod = config.setAlphaToOne ? 1 : this.alphasCumprod[0];
    const ascending = discreteTimesteps(config, config.timestepSpacing ?? 'leading', steps).reverse();
    // concat(_t[:-1], _t[-2:-1], _t[-1:]) reversed
    const plms = [...ascending.slice(0, -1), ...ascending.slice(-2, -1), ...ascending.slice(-1)].reverse();
    this.timesteps = Float64Array.from(plms);
    this.stepRatio = Math.floor(config.numTrainTimesteps / steps);
  }

  scaleModelInput(sample: Float32Array, _index: number, out: Float32Array): void {
    if (out !== sample) out.set(sample);
  }

  private buffer(list: Float32Array[], slot: number, size: number): Float32Array {
    if (!list[slot] || list[slot].length !== size) list[slot] = new Float32Array(size);
    return list[slot];
  }

  private pushEt(modelOutput: Float32Array): void {
    // Keep the newest 4: rotate the oldest buffer to the end and overwrite it.
    if (this.etsCount === 4) this.ets.push(this.ets.shift()!);
    else this.etsCount++;
    this.buffer(this.ets, this.etsCount - 1, modelOutput.length).set(modelOutput);
  }

  step(index: number, modelOutput: Float32Array, sample: Float32Array, out: Float32Array): void {
    let timestep = this.timesteps[index];
    let prevTimestep = timestep - this.stepRatio;
    if (this.counter !== 1) this.pushEt(modelOutput);
    else {
      prevTimestep = timestep;
      timestep = timestep + this.stepRatio;
    }
    const n = this.etsCount;
    const e = (k: number) => this.ets[n - 1 - k]; // e(0) newest
    const eps = this.buffer(this.combined, 0, modelOutput.length);
    let x = sample;
    if (n === 1 && this.counter === 0) {
      eps.set(modelOutput);
      this.curSample = this.buffer(this.combined, 1, sample.length);
      this.curSample.set(sample);
    } else if (n === 1 && this.counter === 1) {
      const e0 = e(0);
      for (let i = 0; i < eps.length; i++) eps[i] = (modelOutput[i] + e0[i]) / 2;
      x = this.curSample!;
    } else if (n === 2) {
      const [e0, e1] = [e(0), e(1)];
      for (let i = 0; i < eps.length; i++) eps[i] = (3 * e0[i] - e1[i]) / 2;
    } else if (n === 3) {
      const [e0, e1, e2] = [e(0), e(1), e(2)];
      for (let i = 0; i < eps.length; i++) eps[i] = (23 * e0[i] - 16 * e1[i] + 5 * e2[i]) / 12;
    } else {
      const [e0, e1, e2, e3] = [e(0), e(1), e(2), e(3)];
      for (let i = 0; i < eps.length; i++) eps[i] = (55 * e0[i] - 59 * e1[i] + 37 * e2[i] - 9 * e3[i]) / 24;
    }
    this.prevSample(x, timestep, prevTimestep, eps, out);
    this.counter++;
  }

  private prevSample(sample: Float32Array, t: number, prevT: number, eps: Float32Array, out: Float32Array): void {
    const a = this.alphasCumprod[t];
    const aPrev = prevT >= 0 ? this.alphasCumprod[prevT] : this.finalAlphaCumprod;
    const b = 1 - a;
    const bPrev = 1 - aPrev;
    const sampleCoeff = Math.sqrt(aPrev / a);
    const denom = a * Math.sqrt(bPrev) + Math.sqrt(a * b * aPrev);
    const k = (aPrev - a) / denom;
    const v = this.config.predictionType === 'v_prediction';
    const sa = Math.sqrt(a);
    const sb = Math.sqrt(b);
    for (let i = 0; i < out.length; i++) {
      const x = sample[i];
      const m = v ? sa * eps[i] + sb * x : eps[i];
      out[i] = sampleCoeff * x - k * m;
    }
  }

  addNoise(original: Float32Array, noise: Float32Array, index: number, out: Float32Array): void {
    ddpmAddNoiseInto(this.alphasCumprod, original, noise, this.timesteps[index], out);
  }
}
