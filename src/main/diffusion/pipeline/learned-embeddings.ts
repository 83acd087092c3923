import { AppError } from '../../../shared/errors';
import { prepareTextEncoderForEmbeds, type TextEncoderForEmbeds } from '../../onnx/text-encoder-embeds';
import type { ProviderName } from '../runtime/providers';
import { openModelSession } from '../runtime/session';
import { TextEncoderModel, type TextEncoding } from '../runtime/text-encoder';
import type { ClipTokenizer } from '../tokenizer/clip-tokenizer';
import type { EmbeddingOverride } from './conditioning';

/**
 * Learned keyword embeddings (textual inversion) without rewriting the model file per film: the text encoder is
 * run from a cached copy that takes `inputs_embeds` (src/main/onnx/text-encoder-embeds.ts); token rows are looked up
 * in JS and the keyword's rows replaced by the learned vectors.
 *
 * Two placements, because they condition SDXL differently (CLIP pools at argmax(input_ids)):
 * - `existing-token` (DreamFrame's way, and our trainer's): the keyword is already one token of the vocabulary and
 *   its row is overwritten; pooling stays at the end-of-text token.
 * - `new-token` (diffusers' textual-inversion example): the keyword gets ids past the end of the vocabulary, so
 *   pooling lands on the keyword, as in that trainer's resized embedding matrix.
 */
export type EmbeddingPlacement = 'existing-token' | 'new-token';

export class LearnedEmbeddings implements EmbeddingOverride {
  /** id → learned row (width values) */
  private readonly rows = new Map<number, Float32Array>();

  private constructor(
    private readonly encoder: TextEncoderModel,
    private readonly prepared: TextEncoderForEmbeds,
    readonly tokenizer: ClipTokenizer,
  ) {}

  static async open(modelFile: string, cacheDir: string, tokenizer: ClipTokenizer, provider: ProviderName, threads?: number): Promise<LearnedEmbeddings> {
    const prepared = await prepareTextEncoderForEmbeds(modelFile, cacheDir);
    const encoder = new TextEncoderModel(await openModelSession(prepared.modelPath, provider, { threads }));
    if (encoder.inputName !== 'inputs_embeds') {
      throw new AppError('diffusion.model_io', `${prepared.modelPath}: prepared text encoder does not take inputs_embeds`, { path: prepared.modelPath });
    }
    return new LearnedEmbeddings(encoder, prepared, tokenizer);
  }

  get width(): number {
    return this.prepared.width;
  }

  /** Registers (or replaces) a keyword's vectors: `vectors` holds k·width values for a k-token keyword. */
  set(keyword: string, vectors: Float32Array, placement: EmbeddingPlacement = 'new-token'): number[] {
    const width = this.prepared.width;
    if (vectors.length === 0 || vectors.length % width !== 0) {
      throw new AppError('diffusion.bad_request', `learned vector for ${JSON.stringify(keyword)} has ${vectors.length} values; this text encoder needs a multiple of ${width}`);
    }
    const count = vectors.length / width;
    let ids: number[];
    if (placement === 'existing-token') {
      ids = this.tokenizer.encodeRaw(keyword);
      if (ids.length !== count) {
        throw new AppError('diffusion.bad_request', `keyword ${JSON.stringify(keyword)} is ${ids.length} tokens for this tokenizer; overwriting rows in place needs exactly ${count}`, { keyword, ids });
      }
    } else {
      ids = this.tokenizer.addKeyword(keyword, count);
    }
    ids.forEach((id, i) => this.rows.set(id, Float32Array.from(vectors.subarray(i * width, (i + 1) * width))));
    return ids;
  }

  appliesTo(rows: number[][]): boolean {
    return rows.some((r) => r.some((id) => this.rows.has(id)));
  }

  async encode(rows: number[][]): Promise<TextEncoding> {
    const { tokenEmbedding, width, vocabSize } = this.prepared;
    const seq = rows[0].length;
    const embeds = new Float32Array(rows.length * seq * width);
    rows.forEach((row, r) =>
      row.forEach((id, t) => {
        const learned = this.rows.get(id);
        if (!learned && !(id >= 0 && id < vocabSize)) throw new AppError('diffusion.bad_request', `token id ${id} has no embedding row`);
        embeds.set(learned ?? tokenEmbedding.subarray(id * width, (id + 1) * width), (r * seq + t) * width);
      }),
    );
    return this.encoder.encodeEmbeds(embeds, rows.length, seq, width, rows);
  }

  async release(): Promise<void> {
    await this.encoder.s.session.release();
  }
}
