import { alphasCumprodFor } from '../diffusion/schedulers/index';
import { ddpmAddNoiseInto } from '../diffusion/schedulers/schedule-math';
import type { PredictionType, SchedulerConfig } from '../diffusion/schedulers/types';

/**
 * DDPM forward noising for textual-inversion training (the model's scheduler config: 1000 train steps,
 * scaled_linear β for SD/SDXL) and the regression target: ε, or v = √ᾱ·ε − √(1−ᾱ)·x₀ for v-prediction models.
 * The ᾱ table comes from the diffusion runtime's scheduler math, so training and sampling agree.
 */
export class TrainingNoiser {
  readonly alphasCumprod: Float64Array;
  readonly numTrainTimesteps: number;
  readonly prediction: PredictionType;

  constructor(config: SchedulerConfig) {
    this.alphasCumprod = alphasCumprodFor(config);
    this.numTrainTimesteps = config.numTrainTimesteps;
    this.prediction = config.predictionType;
  }

  /** x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε. */
  addNoise(latent: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const out = new Float32Array(latent.length);
    ddpmAddNoiseInto(this.alphasCumprod, latent, noise, timestep, out);
    return out;
  }

  /** What the UNet output is compared with. */
  target(latent: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    if (this.prediction === 'epsilon') return noise;
    const a = this.alphasCumprod[timestep];
    const sa = Math.sqrt(a);
    const sb = Math.sqrt(1 - a);
    const out = new Float32Array(latent.length);
    for (let i = 0; i < out.length; i++) out[i] = sa * noise[i] - sb * latent[i];
    return out;
  }
}
