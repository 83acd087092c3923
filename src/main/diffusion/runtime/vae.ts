import { AppError } from '../../../shared/errors';
import { timedRun, type ModelSession } from './session';
import { floatTensor, readFloat, type FloatType } from './tensors';

/** VAE decoder: latents ÷ scaling factor → image in about [-1, 1]. */
export class VaeDecoderModel {
  readonly inputType: FloatType;
  readonly outputName: string;

  constructor(readonly s: ModelSession) {
    const names = [...s.inputs.keys()];
    if (names.length !== 1 || names[0] !== 'latent_sample') {
      throw new AppError('diffusion.unexpected_inputs', `${s.file}: a VAE decoder takes latent_sample, but the model's inputs are ${names.join(', ')}`, { path: s.file, inputs: names });
    }
    this.inputType = s.inputs.get('latent_sample')!.type as FloatType;
    this.outputName = s.outputs.has('sample') ? 'sample' : [...s.outputs.keys()][0];
  }

  /** `latents` already divided by the scaling factor; dims [B, C, h, w]. */
  async decode(latents: Float32Array, dims: readonly number[]): Promise<{ data: Float32Array; dims: number[] }> {
    const out = await timedRun(this.s, { latent_sample: floatTensor(this.inputType, latents, dims) }, [this.outputName]);
    const t = out[this.outputName];
    return { data: Float32Array.from(readFloat(t)), dims: [...t.dims] };
  }
}

/** VAE encoder, either flavour: `latent_parameters` (mean ‖ logvar) or `latent_sample` (sampled inside the graph). */
export class VaeEncoderModel {
  readonly inputType: FloatType;
  readonly kind: 'latent_parameters' | 'latent_sample';

  constructor(readonly s: ModelSession) {
    const names = [...s.inputs.keys()];
    if (names.length !== 1 || names[0] !== 'sample') {
      throw new AppError('diffusion.unexpected_inputs', `${s.file}: a VAE encoder takes sample, but the model's inputs are ${names.join(', ')}`, { path: s.file, inputs: names });
    }
    this.inputType = s.inputs.get('sample')!.type as FloatType;
    if (s.outputs.has('latent_parameters')) this.kind = 'latent_parameters';
    else if (s.outputs.has('latent_sample')) this.kind = 'latent_sample';
    else {
      throw new AppError('diffusion.unexpected_outputs', `${s.file}: VAE encoder outputs ${[...s.outputs.keys()].join(', ')}; expected latent_parameters or latent_sample`, { path: s.file });
    }
  }

  /**
   * image [B, 3, H, W] in [-1, 1] → { mean, logvar? } of the posterior, [B, C, h, w] each. With a `latent_sample`
   * export only a sample is available (drawn inside the graph), returned as the mean without logvar.
   */
  async encode(image: Float32Array, dims: readonly number[]): Promise<{ mean: Float32Array; logvar?: Float32Array; dims: number[] }> {
    const out = await timedRun(this.s, { sample: floatTensor(this.inputType, image, dims) }, [this.kind]);
    const t = out[this.kind];
    const data = readFloat(t);
    const [b, c2, h, w] = t.dims as number[];
    if (this.kind === 'latent_sample') return { mean: Float32Array.from(data), dims: [b, c2, h, w] };
    const c = c2 / 2;
    const plane = c * h * w;
    const mean = new Float32Array(b * plane);
    const logvar = new Float32Array(b * plane);
    for (let i = 0; i < b; i++) {
      mean.set(data.subarray(i * 2 * plane, i * 2 * plane + plane), i * plane);
      const lv = data.subarray(i * 2 * plane + plane, (i + 1) * 2 * plane);
      for (let k = 0; k < plane; k++) logvar[i * plane + k] = Math.min(20, Math.max(-30, lv[k]));
    }
    return { mean, logvar, dims: [b, c, h, w] };
  }
}


