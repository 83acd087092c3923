import * as ort from 'onnxruntime-node';
import { AppError } from '../../shared/errors';
import { timedRun, type ModelSession } from '../diffusion/runtime/session';
import type { TiGradModel } from '../onnx/ti-grad';
import type { GradientInputs, GradientModel, GradientResult } from './trainer';

/**
 * Runs the onnx module's textual-inversion gradient model (text encoder(s) → UNet → MSE, differentiated w.r.t.
 * inputs_embeds) on an ORT session. Input element types and ranks are read from the built model's specs, so
 * int32/int64 ids and int64/float timesteps (scalar or [1]) all work. SDXL's time_ids are fixed per run.
 */
export class OnnxGradientModel implements GradientModel {
  private readonly specs: Map<string, { type: string; dims: number[] }>;

  constructor(
    readonly session: ModelSession,
    readonly built: TiGradModel,
    private readonly timeIds?: Float32Array,
  ) {
    this.specs = new Map(built.inputs.map((i) => [i.name, { type: i.type, dims: i.dims }]));
    if (this.specs.has('time_ids') && (!timeIds || timeIds.length !== 6)) {
      throw new AppError('style.time_ids_required', `${built.modelPath} takes time_ids (SDXL); six micro-conditioning values are needed`);
    }
  }

  private feed(name: string, values: ArrayLike<number>): ort.Tensor {
    const spec = this.specs.get(name)!;
    const dims = spec.dims;
    switch (spec.type) {
      case 'float32':
        return new ort.Tensor('float32', values instanceof Float32Array ? values : Float32Array.from(values), dims);
      case 'int64':
        return new ort.Tensor('int64', BigInt64Array.from(Array.from(values, (v) => BigInt(Math.round(v)))), dims);
      case 'int32':
        return new ort.Tensor('int32', Int32Array.from(values), dims);
      default:
        throw new AppError('style.gradient_model_unsupported', `${this.built.modelPath}: input ${name} has type ${spec.type}`);
    }
  }

  private feeds(inputs: GradientInputs): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.specs.keys()) {
      const m = /^(inputs_embeds|input_ids)(?:_(\d+))?$/.exec(name);
      if (m) {
        const e = m[2] ? Number(m[2]) - 1 : 0;
        feeds[name] = this.feed(name, m[1] === 'inputs_embeds' ? inputs.embeds[e] : inputs.ids[e]);
      } else if (name === 'sample') feeds[name] = this.feed(name, inputs.sample);
      else if (name === 'target') feeds[name] = this.feed(name, inputs.target);
      else if (name === 'timestep') feeds[name] = this.feed(name, [inputs.timestep]);
      else if (name === 'time_ids') feeds[name] = this.feed(name, this.timeIds!);
      else throw new AppError('style.gradient_model_unsupported', `${this.built.modelPath}: unexpected input ${name}`);
    }
    return feeds;
  }

  /** The loss alone (ORT runs only the forward part needed for it): for validation and the bench. */
  async loss(inputs: GradientInputs): Promise<number> {
    const out = await timedRun(this.session, this.feeds(inputs), ['loss']);
    return (out.loss.data as Float32Array)[0];
  }

  async run(inputs: GradientInputs): Promise<GradientResult> {
    const feeds = this.feeds(inputs);
    const gradNames = this.built.embeddingWidths.map((_, e) => `grad_inputs_embeds${e === 0 ? '' : `_${e + 1}`}`);
    const out = await timedRun(this.session, feeds, ['loss', ...gradNames]);
    return {
      loss: (out.loss.data as Float32Array)[0],
      grads: gradNames.map((n) => out[n].data as Float32Array),
    };
  }
}
