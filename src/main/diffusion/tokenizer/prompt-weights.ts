import type { ClipTokenizer } from './clip-tokenizer';

/**
 * Prompt weighting in the AUTOMATIC1111 syntax (which compel also reads for these forms):
 *   (phrase)      ×1.1 per pair of round brackets, so ((phrase)) = ×1.21
 *   [phrase]      ÷1.1 per pair of square brackets
 *   (phrase:1.3)  explicit weight
 *   \( \) \[ \]   literal brackets
 * and long prompts split into 75-token chunks, each wrapped in BOS/EOS and padded to 77.
 */

export interface WeightedFragment {
  text: string;
  weight: number;
}

const ATTENTION_TOKEN = /\\\(|\\\)|\\\[|\\\]|\\\\|\\|\(|\[|:\s*([+-]?[.\d]+)\s*\)|\)|\]|[^\\()[\]:]+|:/g;

/** Splits `prompt` into fragments with weights; runs of equal weight are merged. */
export function parsePromptWeights(prompt: string): WeightedFragment[] {
  const res: WeightedFragment[] = [];
  const round: number[] = [];
  const square: number[] = [];
  const multiplyFrom = (start: number, factor: number) => {
    for (let i = start; i < res.length; i++) res[i].weight *= factor;
  };
  for (const m of prompt.matchAll(ATTENTION_TOKEN)) {
    const token = m[0];
    const explicit = m[1];
    if (token.startsWith('\\')) res.push({ text: token.length > 1 ? token.slice(1) : token, weight: 1 });
    else if (token === '(') round.push(res.length);
    else if (token === '[') square.push(res.length);
    else if (explicit !== undefined && round.length > 0) multiplyFrom(round.pop()!, Number.parseFloat(explicit));
    else if (token === ')' && round.length > 0) multiplyFrom(round.pop()!, 1.1);
    else if (token === ']' && square.length > 0) multiplyFrom(square.pop()!, 1 / 1.1);
    else res.push({ text: token, weight: 1 });
  }
  for (const start of round) multiplyFrom(start, 1.1);
  for (const start of square) multiplyFrom(start, 1 / 1.1);
  if (res.length === 0) return [{ text: '', weight: 1 }];
  const merged: WeightedFragment[] = [res[0]];
  for (const frag of res.slice(1)) {
    const last = merged[merged.length - 1];
    if (last.weight === frag.weight) last.text += frag.text;
    else merged.push({ ...frag });
  }
  return merged;
}

export interface PromptChunk {
  /** 77 ids: BOS, up to 75 tokens, EOS, padding. */
  ids: number[];
  /** One weight per id (1 for BOS/EOS/padding). */
  weights: number[];
}

export interface ChunkOptions {
  /** Parse the A1111 weighting syntax (default true); false tokenizes brackets literally. */
  weighting?: boolean;
  /** Emit at least this many chunks (the negative prompt must match the prompt's count). */
  minChunks?: number;
}

/** Tokenizes a (weighted) prompt into 77-id chunks; a prompt of ≤ 75 tokens gives one chunk. */
export function promptChunks(tokenizer: ClipTokenizer, prompt: string, opts: ChunkOptions = {}): PromptChunk[] {
  const fragments = opts.weighting === false ? [{ text: prompt, weight: 1 }] : parsePromptWeights(prompt);
  const ids: number[] = [];
  const weights: number[] = [];
  for (const frag of fragments) {
    for (const id of tokenizer.encodeRaw(frag.text)) {
      ids.push(id);
      weights.push(frag.weight);
    }
  }
  const window = tokenizer.special.maxLength - 2;
  const count = Math.max(1, Math.ceil(ids.length / window), opts.minChunks ?? 1);
  const chunks: PromptChunk[] = [];
  for (let c = 0; c < count; c++) {
    const body = ids.slice(c * window, (c + 1) * window);
    const bodyWeights = weights.slice(c * window, (c + 1) * window);
    const wrapped = tokenizer.wrap(body);
    const w = new Array<number>(wrapped.length).fill(1);
    bodyWeights.forEach((v, i) => (w[i + 1] = v));
    chunks.push({ ids: wrapped, weights: w });
  }
  return chunks;
}

/**
 * Applies token weights to one chunk's hidden states [77, width] in place, A1111-style: scale each position by
 * its weight, then rescale the whole chunk so its mean is unchanged.
 */
export function applyChunkWeights(hidden: Float32Array, weights: number[], width: number): void {
  if (weights.every((w) => w === 1)) return;
  let before = 0;
  for (let i = 0; i < hidden.length; i++) before += hidden[i];
  let after = 0;
  for (let pos = 0; pos < weights.length; pos++) {
    const w = weights[pos];
    for (let k = pos * width; k < (pos + 1) * width; k++) {
      hidden[k] *= w;
      after += hidden[k];
    }
  }
  if (after !== 0) {
    const scale = before / after;
    for (let i = 0; i < hidden.length; i++) hidden[i] *= scale;
  }
}
