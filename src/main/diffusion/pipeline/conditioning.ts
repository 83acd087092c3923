import { AppError } from '../../../shared/errors';
import type { LoadedModel } from '../loader/model-folder';
import type { TextEncoderModel, TextEncoding } from '../runtime/text-encoder';
import type { ClipTokenizer } from '../tokenizer/clip-tokenizer';
import { applyChunkWeights, promptChunks, type PromptChunk } from '../tokenizer/prompt-weights';

/**
 * Text conditioning for a list of prompts:
 *   SD 1.x/2.x: text_encoder last_hidden_state.
 *   SDXL: concat(text_encoder hidden_states[-2], text_encoder_2 hidden_states[-2]) per token, pooled = text_encoder_2
 *   text_embeds (refiner: text_encoder_2 only).
 * Prompts longer than 75 tokens become 77-token chunks encoded separately and concatenated along the sequence.
 */
/** Replaces an encoder's id lookup for prompts holding a learned keyword (see learned-embeddings.ts). */
export interface EmbeddingOverride {
  appliesTo(rows: number[][]): boolean;
  encode(rows: number[][]): Promise<TextEncoding>;
}

export interface Conditioning {
  /** [rows, seq, width] */
  hidden: Float32Array;
  rows: number;
  seq: number;
  width: number;
  /** [rows, pooledWidth] (SDXL) */
  pooled?: Float32Array;
  pooledWidth: number;
}

interface EncoderPart {
  encoder: TextEncoderModel;
  tokenizer: ClipTokenizer;
  /** 'last' for SD 1/2, 'penultimate' for SDXL */
  layer: 'last' | 'penultimate';
  wantPooled: boolean;
  learned?: EmbeddingOverride;
}

function encoderParts(model: LoadedModel, learned: { first?: EmbeddingOverride; second?: EmbeddingOverride }): EncoderPart[] {
  const sdxl = model.unet.isSdxl;
  const parts: EncoderPart[] = [];
  if (model.textEncoder && model.tokenizer) {
    parts.push({ encoder: model.textEncoder, tokenizer: model.tokenizer, layer: sdxl ? 'penultimate' : 'last', wantPooled: false, learned: learned.first });
  }
  if (sdxl && model.textEncoder2 && model.tokenizer2) {
    parts.push({ encoder: model.textEncoder2, tokenizer: model.tokenizer2, layer: 'penultimate', wantPooled: true, learned: learned.second });
  }
  return parts;
}

async function runEncoder(part: EncoderPart, chunks: PromptChunk[]): Promise<TextEncoding> {
  const rows = chunks.map((c) => c.ids);
  if (part.learned && part.learned.appliesTo(rows)) return part.learned.encode(rows);
  return part.encoder.encode(rows);
}

export async function encodePrompts(
  model: LoadedModel,
  prompts: string[],
  opts: { weighting?: boolean; learned?: { first?: EmbeddingOverride; second?: EmbeddingOverride } } = {},
): Promise<Conditioning> {
  const parts = encoderParts(model, opts.learned ?? {});
  if (parts.length === 0) throw new AppError('diffusion.model_incomplete', `${model.info.dir}: no usable text encoder`);
  const weighting = opts.weighting ?? true;
  const count = Math.max(
    ...parts.flatMap((p) => prompts.map((text) => promptChunks(p.tokenizer, text, { weighting }).length)),
  );
  const perPart: Array<{ enc: TextEncoding; chunks: PromptChunk[] }> = [];
  for (const part of parts) {
    const chunks = prompts.flatMap((text) => promptChunks(part.tokenizer, text, { weighting, minChunks: count }));
    const enc = await runEncoder(part, chunks);
    if (part.layer === 'penultimate' && !enc.penultimate) {
      throw new AppError('diffusion.unexpected_outputs', `${part.encoder.s.file}: SDXL needs the encoder's hidden_states outputs (export with output_hidden_states)`, { path: part.encoder.s.file });
    }
    perPart.push({ enc, chunks });
  }
  const seqPerChunk = perPart[0].chunks[0].ids.length;
  const widths = perPart.map((p) => p.enc.width);
  const width = widths.reduce((a, b) => a + b, 0);
  const seq = seqPerChunk * count;
  const rows = prompts.length;
  const hidden = new Float32Array(rows * seq * width);
  const chunkBuf = new Float32Array(seqPerChunk * width);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < count; c++) {
      const chunkRow = r * count + c;
      // Interleave the encoders' widths token by token: [enc1 | enc2].
      let offset = 0;
      perPart.forEach((p, k) => {
        const src = parts[k].layer === 'last' ? p.enc.lastHidden : p.enc.penultimate!;
        const w = widths[k];
        for (let t = 0; t < seqPerChunk; t++) {
          chunkBuf.set(src.subarray((chunkRow * seqPerChunk + t) * w, (chunkRow * seqPerChunk + t + 1) * w), t * width + offset);
        }
        offset += w;
      });
      applyChunkWeights(chunkBuf, perPart[0].chunks[chunkRow].weights, width);
      hidden.set(chunkBuf, (r * seq + c * seqPerChunk) * width);
    }
  }
  const pooledPart = perPart.find((_, k) => parts[k].wantPooled);
  let pooled: Float32Array | undefined;
  let pooledWidth = 0;
  if (pooledPart) {
    if (!pooledPart.enc.pooled) {
      throw new AppError('diffusion.unexpected_outputs', `${parts[perPart.indexOf(pooledPart)].encoder.s.file}: no text_embeds/pooler_output output`);
    }
    pooledWidth = pooledPart.enc.pooledWidth;
    pooled = new Float32Array(rows * pooledWidth);
    // The pooled vector of the first chunk, as A1111 does for long prompts.
    for (let r = 0; r < rows; r++) pooled.set(pooledPart.enc.pooled.subarray(r * count * pooledWidth, (r * count + 1) * pooledWidth), r * pooledWidth);
  }
  return { hidden, rows, seq, width, pooled, pooledWidth };
}
