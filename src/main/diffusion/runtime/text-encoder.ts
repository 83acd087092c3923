import * as ort from 'onnxruntime-node';
import { AppError } from '../../../shared/errors';
import { timedRun, type ModelSession } from './session';
import { floatTensor, idsTensor, readFloat, type IntType } from './tensors';

/** A CLIP text encoder: input_ids (int32 or int64) → last/penultimate hidden states and the pooled vector. */
export interface TextEncoding {
  /** [B, seq, width] */
  lastHidden: Float32Array;
  /** hidden_states[-2] when the export has hidden states (SDXL), [B, seq, width] */
  penultimate?: Float32Array;
  /** text_embeds (projected, SDXL encoder 2) or pooler_output, [B, pooledWidth] */
  pooled?: Float32Array;
  width: number;
  pooledWidth: number;
}

export class TextEncoderModel {
  readonly idsType: IntType;
  readonly width: number;
  readonly penultimateName?: string;
  readonly pooledName?: string;
  readonly inputName: 'input_ids' | 'inputs_embeds';

  constructor(readonly s: ModelSession) {
    const names = [...s.inputs.keys()];
    const unexpected = names.filter((n) => n !== 'input_ids' && n !== 'attention_mask' && n !== 'inputs_embeds');
    if (unexpected.length > 0 || !(s.inputs.has('input_ids') || s.inputs.has('inputs_embeds'))) {
      throw new AppError(
        'diffusion.unexpected_inputs',
        `${s.file}: a text encoder takes input_ids, but the model's inputs are ${names.join(', ')}`,
        { path: s.file, inputs: names },
      );
    }
    this.inputName = s.inputs.has('inputs_embeds') ? 'inputs_embeds' : 'input_ids';
    const idsType = s.inputs.get('input_ids')?.type ?? 'int64';
    if (idsType !== 'int32' && idsType !== 'int64') {
      throw new AppError('diffusion.unexpected_inputs', `${s.file}: input_ids has type ${idsType}, expected int32 or int64`, { path: s.file });
    }
    this.idsType = idsType;
    if (!s.outputs.has('last_hidden_state')) {
      throw new AppError('diffusion.unexpected_outputs', `${s.file}: text encoder has no last_hidden_state output (outputs: ${[...s.outputs.keys()].join(', ')})`, { path: s.file });
    }
    const layers = [...s.outputs.keys()].map((n) => /^hidden_states\.(\d+)$/.exec(n)?.[1]).filter((v): v is string => v !== undefined).map(Number);
    if (layers.length > 0) this.penultimateName = `hidden_states.${Math.max(...layers) - 1}`;
    this.pooledName = s.outputs.has('text_embeds') ? 'text_embeds' : s.outputs.has('pooler_output') ? 'pooler_output' : undefined;
    const dim = s.outputs.get('last_hidden_state')!.shape[2];
    this.width = typeof dim === 'number' ? dim : 0;
  }

  private fetches(): string[] {
    return ['last_hidden_state', ...(this.penultimateName ? [this.penultimateName] : []), ...(this.pooledName ? [this.pooledName] : [])];
  }

  private collect(out: ort.InferenceSession.ReturnType, batch: number, seq: number): TextEncoding {
    const lastHidden = readFloat(out.last_hidden_state);
    const width = lastHidden.length / (batch * seq);
    const pooled = this.pooledName ? readFloat(out[this.pooledName]) : undefined;
    return {
      lastHidden,
      penultimate: this.penultimateName ? readFloat(out[this.penultimateName]) : undefined,
      pooled,
      width,
      pooledWidth: pooled ? pooled.length / batch : 0,
    };
  }

  async encode(rows: number[][]): Promise<TextEncoding> {
    if (this.inputName !== 'input_ids') throw new AppError('diffusion.model_io', `${this.s.file}: takes inputs_embeds; use encodeEmbeds`);
    const feeds: Record<string, ort.Tensor> = { input_ids: idsTensor(this.idsType, rows) };
    if (this.s.inputs.has('attention_mask')) feeds.attention_mask = idsTensor(this.idsType, rows.map((r) => r.map(() => 1)));
    return this.collect(await timedRun(this.s, feeds, this.fetches()), rows.length, rows[0].length);
  }

  /** For an encoder prepared to take token embeddings ([B, seq, width], before position embeddings). */
  async encodeEmbeds(embeds: Float32Array, batch: number, seq: number, width: number, ids?: number[][]): Promise<TextEncoding> {
    // An fp16 export's copy takes fp16 token embeddings (the Gather it replaced read an fp16 table).
    const type = this.s.inputs.get('inputs_embeds')?.type === 'float16' ? 'float16' : 'float32';
    const feeds: Record<string, ort.Tensor> = { inputs_embeds: floatTensor(type, embeds, [batch, seq, width]) };
    if (this.s.inputs.has('input_ids') && ids) feeds.input_ids = idsTensor(this.idsType, ids);
    return this.collect(await timedRun(this.s, feeds, this.fetches()), batch, seq);
  }
}
