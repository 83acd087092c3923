import { AppError } from '../../../shared/errors';
import { SigmaScheduler, addSigmaNoise, predictX0 } from './sigma-schedule';
import type { NoiseSource, Scheduler } from './types';

/** Euler ancestral sampling, as diffusers' EulerAncestralDiscreteScheduler: each step draws fresh N(0,1) noise. */
export class EulerAncestralScheduler extends SigmaScheduler implements Scheduler {
  readonly name = 'euler-a' as const;
  private noiseBuffer: Float32Array | null = null;

  step(index: number, modelOutput: Float32Array, sample: Float32Array, out: Float32Array, noise?: NoiseSource): void {
    if (!noise) throw new AppError('diffusion.scheduler_noise', 'Euler ancestral needs a noise source for every step');
    const sigmaFrom = this.sigmas[index];
    const sigmaTo = this.sigmas[index + 1];
    const sigmaUp = Math.sqrt((sigmaTo ** 2 * (sigmaFrom ** 2 - sigmaTo ** 2)) / sigmaFrom ** 2);
    const sigmaDown = Math.sqrt(sigmaTo ** 2 - sigmaUp ** 2);
    const dt = sigmaDown - sigmaFrom;
    if (!this.noiseBuffer || this.noiseBuffer.length !== out.length) this.noiseBuffer = new Float32Array(out.length);
    noise.fillNormal(this.noiseBuffer);
    const v = this.config.predictionType === 'v_prediction';
    for (let i = 0; i < out.length; i++) {
      const x = sample[i];
      const derivative = (x - predictX0(x, modelOutput[i], sigmaFrom, v)) / sigmaFrom;
      out[i] = x + derivative * dt + this.noiseBuffer[i] * sigmaUp;
    }
  }

  addNoise(original: Float32Array, noise: Float32Array, index: number, out: Float32Array): void {
    addSigmaNoise(original, noise, this.sigmas[index], out);
  }
}
