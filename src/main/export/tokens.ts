/**
 * Token estimates of LLaMA-VID training records, so that every exported record fits the context
 * length of the training stage it is meant for (LLaMA-VID never truncates visual tokens: a record
 * longer than `--model_max_length` is cut mid-answer or fails, see docs/export.md "Token budgets").
 *
 * Facts from LLaMA-VID (dvlab-research/LLaMA-VID b3d3ae2b):
 * - Every sampled frame becomes 2 tokens: one context token and one content token (`--compress_type
 *   "mean"` pools the content to one token; `DataArguments.video_token = 2` on the .pkl route).
 * - Frames are sampled at `--video_fps 1`; our clips hold each keyframe one second, so frames = keyframes.
 * - `preprocess_imgsp_v1` gives every human turn after the first its own `<image>` once the first turn
 *   has one, and on the mp4 route each `<image>` is the whole video again: visual tokens = human turns ×
 *   2 × frames. On the .pkl route the single `<image>` becomes the record's `inputs` (one `<image>` per
 *   frame, each repeated `video_token` times, plus the subtitles), so a .pkl record must be single-turn.
 * - `--model_max_length`: 2048 in stage 1 and 2 (`scripts/video/train/stage_{1,2}_full_v7b_224_fps_1.sh`),
 *   65536 in stage 3 (`stage_3_full_v7b_224_longvid.sh`).
 * - Prompt template (`conv_vicuna_imgsp_v1`): system sentence, then "USER: q ASSISTANT: a</s>" per round.
 *
 * The text estimate stands in for LLaMA's SentencePiece tokenizer, leaning high: each run of ASCII
 * letters counts one token per 4 letters (rounded up; whole common words are usually one token), every
 * digit one token (LLaMA splits numbers into digits), every other non-space ASCII character one token,
 * and every non-ASCII character one token per UTF-8 byte (SentencePiece's byte fallback, its worst case).
 */

export const VISUAL_TOKENS_PER_FRAME = 2;
export const IMAGE_TOKEN = '<image>';

/** Context lengths of LLaMA-VID's video training stages (`--model_max_length` in its scripts). */
export const STAGE_MAX_TOKENS = { stage2: 2048, stage3: 65536 } as const;

const SYSTEM_PROMPT = "A chat between a curious user and an artificial intelligence assistant. "
  + "The assistant gives helpful, detailed, and polite answers to the user's questions.";

/** Estimated LLaMA tokens of plain text (no `<image>` placeholders). */
export function estimateTextTokens(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/[A-Za-z]+|[0-9]|[\x21-\x7e]|[^\x00-\x7f]/gu)) {
    const piece = m[0];
    if (/^[A-Za-z]/.test(piece)) n += Math.ceil(piece.length / 4);
    else n += Buffer.byteLength(piece, 'utf8');
  }
  return n;
}

export interface Turn { from: 'human' | 'gpt'; value: string }

/** The prompt text `conv_vicuna_imgsp_v1` builds from a conversation (placeholders left in). */
export function promptText(turns: Turn[]): string {
  let out = `${SYSTEM_PROMPT} `;
  turns.forEach((t, i) => {
    out += `${t.from === 'human' ? 'USER' : 'ASSISTANT'}: ${t.value}${i % 2 === 0 ? ' ' : '</s>'}`;
  });
  return out;
}

export interface TokenEstimate { visual: number; text: number; total: number }

/**
 * A record read from an mp4 clip: every human turn shows the whole video (`frames` sampled frames).
 */
export function estimateMp4Record(turns: Turn[], frames: number): TokenEstimate {
  const humanTurns = turns.filter((t) => t.from === 'human').length;
  const visual = humanTurns * frames * VISUAL_TOKENS_PER_FRAME;
  const text = estimateTextTokens(promptText(turns).split(IMAGE_TOKEN).join(''));
  return { visual, text, total: visual + text };
}

/**
 * A record read from .pkl features: the first turn's `<image>` is replaced by `inputs`, whose every
 * `<image>` stands for one frame's tokens.
 */
export function estimatePklRecord(turns: Turn[], inputs: string): TokenEstimate {
  const frames = inputs.split(IMAGE_TOKEN).length - 1;
  const visual = frames * VISUAL_TOKENS_PER_FRAME;
  const text = estimateTextTokens(promptText(turns).split(IMAGE_TOKEN).join('') + inputs.split(IMAGE_TOKEN).join(''));
  return { visual, text, total: visual + text };
}

export interface QaRound { question: string; answer: string }

/** Turns of a round list, the first human turn led by the single "<image>\n" LLaMA-VID expects. */
export function roundsToTurns(rounds: QaRound[]): Turn[] {
  return rounds.flatMap((r, i) => [
    { from: 'human' as const, value: i === 0 ? `${IMAGE_TOKEN}\n${r.question.trim()}` : r.question.trim() },
    { from: 'gpt' as const, value: r.answer.trim() },
  ]);
}

export interface RoundSplit<R extends QaRound> {
  /** Consecutive rounds per record, each within the budget. */
  chunks: { rounds: R[]; estimate: TokenEstimate }[];
  /** Rounds that do not fit even alone, with their single-round estimate. */
  leftOut: { round: R; estimate: TokenEstimate }[];
}

/**
 * Splits a conversation into consecutive records of whole rounds the way LLaMA-VID's
 * `scripts/extra_tool/split_chat.py` does (each part starts with a human turn carrying `<image>`),
 * but by token budget instead of a fixed round count: a round joins the current part while the part's
 * estimate stays within `maxTokens`; a round too long on its own is left out and ends the part before
 * it, so every part holds rounds that were consecutive in the conversation.
 * `maxRounds` caps the rounds per part (1 = single-turn records).
 */
export function splitRounds<R extends QaRound>(rounds: R[], maxTokens: number, estimate: (turns: Turn[]) => TokenEstimate, maxRounds = Infinity): RoundSplit<R> {
  const out: RoundSplit<R> = { chunks: [], leftOut: [] };
  let current: R[] = [];
  let currentEstimate: TokenEstimate | null = null;
  const flush = () => {
    if (current.length > 0 && currentEstimate) out.chunks.push({ rounds: current, estimate: currentEstimate });
    current = [];
    currentEstimate = null;
  };
  for (const round of rounds) {
    if (current.length < maxRounds) {
      const grown = estimate(roundsToTurns([...current, round]));
      if (grown.total <= maxTokens) {
        current.push(round);
        currentEstimate = grown;
        continue;
      }
    }
    flush();
    const alone = estimate(roundsToTurns([round]));
    if (alone.total <= maxTokens) {
      current = [round];
      currentEstimate = alone;
    } else {
      out.leftOut.push({ round, estimate: alone });
    }
  }
  flush();
  return out;
}
