import { AppError } from '../../shared/errors';
import { checkEmbeddingFitsModel, type StyleEmbedding } from './embedding';
import { singleTokenId, type TrainingTokenizer } from './trainer';

/**
 * "Use this embedding for rendering": where the learned vectors go. As in the release, the keyword's own
 * token row is overwritten in each text encoder's token table, so every prompt that contains the keyword
 * picks the style up. Renderers that feed inputs_embeds (onnx/text-encoder-embeds) apply these overrides to
 * the looked-up rows.
 */

export interface TokenRowOverride {
  /** Index of the text encoder (0: text_encoder, 1: text_encoder_2). */
  encoder: number;
  tokenId: number;
  vector: Float32Array;
}

/**
 * Checks the embedding against the model (widths, single-token keyword in every tokenizer) and returns the
 * row to overwrite per encoder. Errors name the embedding, the model and what does not fit.
 */
export function embeddingRowOverrides(
  embedding: StyleEmbedding,
  encoders: { tokenizer: TrainingTokenizer; width: number }[],
  modelName: string,
  keywordOverride?: string,
): TokenRowOverride[] {
  checkEmbeddingFitsModel(embedding, encoders.map((e) => e.width), modelName);
  const keyword = keywordOverride ?? embedding.keyword;
  if (!keyword) throw new AppError('style.keyword_required', 'the embedding does not record its keyword; say which word it replaces');
  return encoders.map((enc, i) => {
    const v = embedding.vectors[i];
    if (v.rows !== 1) {
      throw new AppError(
        'style.multi_vector_unsupported',
        `the embedding has ${v.rows} vectors per encoder; a keyword row holds one (multi-vector embeddings need extra placeholder tokens)`,
      );
    }
    return { encoder: i, tokenId: singleTokenId(enc.tokenizer, keyword, i === 0 ? 'tokenizer' : `tokenizer_${i + 1}`), vector: v.data };
  });
}

/** A copy of a [vocab, width] token table with the override rows written in. */
export function applyRowOverrides(table: Float32Array, width: number, overrides: TokenRowOverride[]): Float32Array {
  const out = Float32Array.from(table);
  for (const o of overrides) out.set(o.vector, o.tokenId * width);
  return out;
}
