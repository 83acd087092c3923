import { SigmaScheduler, addSigmaNoise, predictX0 } from './sigma-schedule';
import type { Scheduler } from './types';

/** Euler method of Karras et al. (2022), as diffusers' EulerDiscreteScheduler (s_churn = 0). */
export class EulerScheduler extends SigmaScheduler implements Scheduler {
  readonly name = 'euler' as const;

  step(index: number, modelOutput: Float32Array, sample: Float32Array, out: Float32Array): void {
    const sigma = this.sigmas[index];
    const dt = this.sigmas[index + 1] - sigma;
    const v = this.config.predictionType === 'v_prediction';
    for (let i = 0; i < out.length; i++) {
      const x = sample[i];
      const derivative = (x - predictX0(x, modelOutput[i], sigma, v)) / sigma;
      out[i] = x + derivative * dt;
    }
  }

  addNoise(original: Float32Array, noise: Float32Array, index: number, out: Float32Array): void {
    addSigmaNoise(original, noise, this.sigmas[index], out);
  }
}
