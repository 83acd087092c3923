import { SigmaScheduler, addSigmaNoise, predictX0 } from './sigma-schedule';
import type { Scheduler } from './types';

const LMS_ORDER = 4;
// 8-point Gauss–Legendre nodes/weights on [-1, 1]: exact for the degree ≤ 3 Lagrange polynomials integrated here.
const GL_NODES = [-0.9602898564975363, -0.7966664774136267, -0.525532409916329, -0.1834346424956498, 0.1834346424956498, 0.525532409916329, 0.7966664774136267, 0.9602898564975363];
const GL_WEIGHTS = [0.1012285362903763, 0.2223810344533745, 0.3137066458778873, 0.362683783378362, 0.362683783378362, 0.3137066458778873, 0.2223810344533745, 0.1012285362903763];

/** Linear multistep (order 4) in σ, as diffusers' LMSDiscreteScheduler. */
export class LmsScheduler extends SigmaScheduler implements Scheduler {
  readonly name = 'lms' as const;
  /** Past derivatives, newest last, preallocated and rotated. */
  private readonly derivatives: Float32Array[] = [];
  private count = 0;

  /** ∫_{σ_t}^{σ_{t+1}} of the Lagrange basis polynomial for history entry `current`. */
  private coefficient(order: number, t: number, current: number): number {
    const sig = this.sigmas;
    const basis = (tau: number) => {
      let prod = 1;
      for (let k = 0; k < order; k++) {
        if (k === current) continue;
        prod *= (tau - sig[t - k]) / (sig[t - current] - sig[t - k]);
      }
      return prod;
    };
    const a = sig[t];
    const b = sig[t + 1];
    const half = (b - a) / 2;
    const mid = (a + b) / 2;
    let sum = 0;
    for (let i = 0; i < GL_NODES.length; i++) sum += GL_WEIGHTS[i] * basis(mid + half * GL_NODES[i]);
    return sum * half;
  }

  step(index: number, modelOutput: Float32Array, sample: Float32Array, out: Float32Array): void {
    const sigma = this.sigmas[index];
    const v = this.config.predictionType === 'v_prediction';
    if (this.count === LMS_ORDER) this.derivatives.push(this.derivatives.shift()!);
    else this.count++;
    const slot = this.count - 1;
    if (!this.derivatives[slot] || this.derivatives[slot].length !== sample.length) this.derivatives[slot] = new Float32Array(sample.length);
    const d = this.derivatives[slot];
    for (let i = 0; i < d.length; i++) d[i] = (sample[i] - predictX0(sample[i], modelOutput[i], sigma, v)) / sigma;
    // The history may be shorter than the index when a run starts mid-schedule (img2img).
    const order = Math.min(index + 1, LMS_ORDER, this.count);
    const coeffs = Array.from({ length: order }, (_, k) => this.coefficient(order, index, k));
    for (let i = 0; i < out.length; i++) {
      let acc = sample[i];
      for (let k = 0; k < order; k++) acc += coeffs[k] * this.derivatives[this.count - 1 - k][i];
      out[i] = acc;
    }
  }

  addNoise(original: Float32Array, noise: Float32Array, index: number, out: Float32Array): void {
    addSigmaNoise(original, noise, this.sigmas[index], out);
  }
}
