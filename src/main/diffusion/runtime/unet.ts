import type * as ort from 'onnxruntime-node';
import { AppError } from '../../../shared/errors';
import { timedRun, type ModelSession } from './session';
import { floatTensor, readFloat, timestepTensor, type FloatType, type TimestepSpec } from './tensors';

const KNOWN_INPUTS = ['sample', 'timestep', 'encoder_hidden_states', 'text_embeds', 'time_ids'];

export interface UnetCall {
  sample: Float32Array;
  /** [B, C, h, w] */
  sampleDims: readonly number[];
  /** one value for the batch, or one per batch item */
  timestep: number | readonly number[];
  encoderHiddenStates: Float32Array;
  /** [B, seq, width] */
  ehsDims: readonly number[];
  textEmbeds?: Float32Array;
  timeIds?: Float32Array;
}

/** The denoising UNet: reads its declared dtypes (fp16/fp32 I/O, timestep int64/float/float16/scalar). */
export class UnetModel {
  readonly sampleType: FloatType;
  readonly ehsType: FloatType;
  readonly timestep: TimestepSpec;
  readonly isSdxl: boolean;
  /** 6 (base) or 5 (refiner with aesthetic score); 0 for SD 1/2. */
  readonly timeIdsLength: number;
  /** The time_ids width the model declares; undefined when the export left it symbolic. */
  readonly declaredTimeIdsLength?: number;
  readonly contextWidth: number;
  readonly outputName: string;
  private half?: Uint16Array;
  /** Conditioning tensors are the same every step: wrap (or convert to fp16) once per array. */
  private readonly constants = new WeakMap<Float32Array, ort.Tensor>();

  /**
   * `symbolicTimeIds`: how many time ids to feed when the model declares time_ids' width symbolically; the loader
   * knows from the configs whether it is a refiner (5, with the aesthetic score) or a base (6, the default).
   */
  constructor(readonly s: ModelSession, opts: { symbolicTimeIds?: 5 | 6 } = {}) {
    const names = [...s.inputs.keys()];
    const missing = ['sample', 'timestep', 'encoder_hidden_states'].filter((n) => !s.inputs.has(n));
    const unknown = names.filter((n) => !KNOWN_INPUTS.includes(n));
    if (missing.length > 0 || unknown.length > 0) {
      const why = unknown.includes('timestep_cond')
        ? 'timestep_cond (an LCM UNet) is not supported'
        : `expected sample, timestep, encoder_hidden_states[, text_embeds, time_ids]`;
      throw new AppError('diffusion.unexpected_inputs', `${s.file}: UNet inputs are ${names.join(', ')}; ${why}`, {
        path: s.file,
        inputs: names,
        missing,
        unknown,
      });
    }
    this.isSdxl = s.inputs.has('text_embeds') && s.inputs.has('time_ids');
    if (s.inputs.has('text_embeds') !== s.inputs.has('time_ids')) {
      throw new AppError('diffusion.unexpected_inputs', `${s.file}: an SDXL UNet needs both text_embeds and time_ids (inputs: ${names.join(', ')})`, { path: s.file });
    }
    const floatOf = (name: string): FloatType => {
      const type = s.inputs.get(name)!.type;
      if (type !== 'float32' && type !== 'float16') {
        throw new AppError('diffusion.unexpected_inputs', `${s.file}: input ${name} has type ${type}, expected float32 or float16`, { path: s.file });
      }
      return type;
    };
    this.sampleType = floatOf('sample');
    this.ehsType = floatOf('encoder_hidden_states');
    const ts = s.inputs.get('timestep')!;
    if (!['int64', 'float32', 'float16'].includes(ts.type)) {
      throw new AppError('diffusion.unexpected_inputs', `${s.file}: timestep has type ${ts.type}, expected int64, float32 or float16`, { path: s.file });
    }
    this.timestep = { type: ts.type as TimestepSpec['type'], scalar: ts.shape.length === 0 };
    const tid = s.inputs.get('time_ids')?.shape[1];
    this.declaredTimeIdsLength = this.isSdxl && typeof tid === 'number' ? tid : undefined;
    if (this.declaredTimeIdsLength !== undefined && this.declaredTimeIdsLength !== 5 && this.declaredTimeIdsLength !== 6) {
      // Anything else would be fed a truncated or zero-filled row without an error.
      throw new AppError(
        'diffusion.unexpected_inputs',
        `${s.file}: time_ids has ${this.declaredTimeIdsLength} values per row; an SDXL UNet takes 6 (base) or 5 (refiner, with the aesthetic score)`,
        { path: s.file, timeIdsLength: this.declaredTimeIdsLength },
      );
    }
    this.timeIdsLength = this.isSdxl ? (this.declaredTimeIdsLength ?? opts.symbolicTimeIds ?? 6) : 0;
    const w = s.inputs.get('encoder_hidden_states')!.shape[2];
    this.contextWidth = typeof w === 'number' ? w : 0;
    this.outputName = [...s.outputs.keys()][0];
  }

  private constant(type: FloatType, data: Float32Array, dims: readonly number[]): ort.Tensor {
    let t = this.constants.get(data);
    if (!t || t.dims.join() !== dims.join()) {
      t = floatTensor(type, data, dims);
      this.constants.set(data, t);
    }
    return t;
  }

  async predict(call: UnetCall, out: Float32Array): Promise<Float32Array> {
    const batch = call.sampleDims[0];
    if (!this.half && this.sampleType === 'float16') this.half = new Uint16Array(call.sample.length);
    const feeds: Record<string, ort.Tensor> = {
      sample: floatTensor(this.sampleType, call.sample, call.sampleDims, this.half),
      timestep: timestepTensor(this.timestep, call.timestep, batch),
      encoder_hidden_states: this.constant(this.ehsType, call.encoderHiddenStates, call.ehsDims),
    };
    if (this.isSdxl) {
      if (!call.textEmbeds || !call.timeIds) throw new AppError('diffusion.model_io', `${this.s.file}: SDXL UNet needs text_embeds and time_ids`);
      feeds.text_embeds = this.constant(this.s.inputs.get('text_embeds')!.type as FloatType, call.textEmbeds, [batch, call.textEmbeds.length / batch]);
      feeds.time_ids = this.constant(this.s.inputs.get('time_ids')!.type as FloatType, call.timeIds, [batch, call.timeIds.length / batch]);
    }
    const result = await timedRun(this.s, feeds, [this.outputName]);
    return readFloat(result[this.outputName], out);
  }
}
