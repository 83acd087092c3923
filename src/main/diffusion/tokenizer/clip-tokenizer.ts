import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../../shared/errors';
import { cleanPromptText } from './text-cleanup';

/**
 * CLIP byte-level BPE tokenizer, read from a model folder's tokenizer files
 * (vocab.json + merges.txt, or tokenizer.json), matching transformers' CLIPTokenizer with ftfy.
 */

export const CLIP_MAX_LENGTH = 77;
const BOS = '<|startoftext|>';
const EOS = '<|endoftext|>';
/** CLIP keeps only the first 49152 - 256 - 2 merges of its BPE file. */
const CLIP_MERGE_LIMIT = 49152 - 256 - 2;

// CLIP's pre-tokenizer: special tokens, contractions, letter runs, single digits, other-symbol runs.
const WORD_PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;

export interface ClipTokenizerOptions {
  /**
   * transformers registers a pad token such as SD 2.x / SDXL tokenizer_2's `!` as a special token and matches it
   * inside the text (diffusers issue #4153). true (default) reproduces that, so ids equal the reference pipelines';
   * false gives OpenCLIP's ids.
   */
  splitOnPadToken?: boolean;
}

export interface TokenizerSpecial {
  bosId: number;
  eosId: number;
  padId: number;
  padToken: string;
  maxLength: number;
}

function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let i = 33; i <= 126; i++) bs.push(i);
  for (let i = 161; i <= 172; i++) bs.push(i);
  for (let i = 174; i <= 255; i++) bs.push(i);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const table: string[] = new Array(256);
  bs.forEach((b, i) => (table[b] = String.fromCodePoint(cs[i])));
  return table;
}

function readJson(path: string): any {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AppError('diffusion.tokenizer_invalid', `${path}: cannot read JSON (${(err as Error).message})`, { path });
  }
}

function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

export class ClipTokenizer {
  readonly special: TokenizerSpecial;
  private readonly encoder: Map<string, number>;
  private readonly decoder: Map<number, string>;
  private readonly bpeRanks: Map<string, number>;
  private readonly byteEncoder = bytesToUnicode();
  private readonly cache = new Map<string, string[]>();
  private readonly splitOnPad: boolean;
  /** Added keyword tokens (learned embeddings), lower-cased text → the virtual token strings it expands to. */
  private readonly added = new Map<string, string[]>();
  /** Size of the vocabulary read from the files (added tokens get ids from here on). */
  readonly baseVocabSize: number;

  constructor(
    vocab: Record<string, number>,
    merges: string[],
    special: Partial<TokenizerSpecial> & { padToken?: string },
    opts: ClipTokenizerOptions = {},
  ) {
    this.encoder = new Map(Object.entries(vocab));
    this.decoder = new Map([...this.encoder].map(([k, v]) => [v, k]));
    this.bpeRanks = new Map(merges.slice(0, CLIP_MERGE_LIMIT).map((m, i) => [m, i]));
    const bosId = this.encoder.get(BOS);
    const eosId = this.encoder.get(EOS);
    if (bosId === undefined || eosId === undefined) {
      throw new AppError('diffusion.tokenizer_invalid', `tokenizer vocabulary lacks ${BOS} or ${EOS}`);
    }
    const padToken = special.padToken ?? EOS;
    const padId = this.encoder.get(padToken) ?? this.encoder.get(`${padToken}</w>`);
    if (padId === undefined) {
      throw new AppError('diffusion.tokenizer_invalid', `pad token ${JSON.stringify(padToken)} is not in the vocabulary`);
    }
    this.special = { bosId, eosId, padId, padToken, maxLength: special.maxLength ?? CLIP_MAX_LENGTH };
    this.splitOnPad = (opts.splitOnPadToken ?? true) && padToken !== EOS && padToken !== BOS;
    this.baseVocabSize = this.encoder.size;
  }

  /**
   * Registers `keyword` as `count` new tokens (ids from the end of the vocabulary on, as transformers' add_tokens
   * does), matched in prompts before BPE. Returns their ids; registering the same keyword again returns the same ids.
   */
  addKeyword(keyword: string, count = 1): number[] {
    const key = cleanPromptText(keyword);
    if (!key || /\s/.test(key)) throw new AppError('diffusion.bad_request', `keyword ${JSON.stringify(keyword)} must be one word without spaces`);
    const existing = this.added.get(key);
    if (existing) {
      if (existing.length !== count) throw new AppError('diffusion.bad_request', `keyword ${JSON.stringify(keyword)} is already registered with ${existing.length} vectors`);
      return existing.map((t) => this.encoder.get(t)!);
    }
    const tokens = Array.from({ length: count }, (_, i) => (count === 1 ? `\u0000${key}` : `\u0000${key}#${i}`));
    for (const t of tokens) {
      const id = this.encoder.size;
      this.encoder.set(t, id);
      this.decoder.set(id, t);
    }
    this.added.set(key, tokens);
    return tokens.map((t) => this.encoder.get(t)!);
  }


  /** Reads `dir` (a model's tokenizer/ or tokenizer_2/ folder). */
  static fromDir(dir: string, opts: ClipTokenizerOptions = {}): ClipTokenizer {
    const vocabPath = join(dir, 'vocab.json');
    const mergesPath = join(dir, 'merges.txt');
    const fastPath = join(dir, 'tokenizer.json');
    let vocab: Record<string, number>;
    let merges: string[];
    if (existsSync(vocabPath) && existsSync(mergesPath)) {
      vocab = readJson(vocabPath);
      merges = readFileSync(mergesPath, 'utf8').replace(/\s+$/, '').split('\n').slice(1);
    } else if (existsSync(fastPath)) {
      const fast = readJson(fastPath);
      if (!fast?.model?.vocab || !fast?.model?.merges) {
        throw new AppError('diffusion.tokenizer_invalid', `${fastPath}: no model.vocab / model.merges`, { path: fastPath });
      }
      vocab = fast.model.vocab;
      merges = (fast.model.merges as Array<string | [string, string]>).map((m) => (Array.isArray(m) ? m.join(' ') : m));
    } else {
      throw new AppError('diffusion.model_incomplete', `${dir}: missing tokenizer files (vocab.json + merges.txt or tokenizer.json)`, { path: dir });
    }
    // special_tokens_map.json wins over tokenizer_config.json (SD 2.x sets pad "!" only there).
    let padToken: string | undefined;
    let maxLength: number | undefined;
    const configPath = join(dir, 'tokenizer_config.json');
    if (existsSync(configPath)) {
      const config = readJson(configPath);
      padToken = tokenContent(config.pad_token) ?? padToken;
      if (typeof config.model_max_length === 'number' && config.model_max_length < 100000) maxLength = config.model_max_length;
    }
    const mapPath = join(dir, 'special_tokens_map.json');
    if (existsSync(mapPath)) padToken = tokenContent(readJson(mapPath).pad_token) ?? padToken;
    return new ClipTokenizer(vocab, merges, { padToken, maxLength }, opts);
  }

  get vocabSize(): number {
    return this.baseVocabSize;
  }

  tokenId(token: string): number | undefined {
    return this.encoder.get(token);
  }

  tokenString(id: number): string | undefined {
    return this.decoder.get(id);
  }

  private bpe(token: string): string[] {
    const cached = this.cache.get(token);
    if (cached) return cached;
    let word = Array.from(token);
    word[word.length - 1] += '</w>';
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const rank = this.bpeRanks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      const first = word[best];
      const second = word[best + 1];
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i < word.length - 1 && word[i] === first && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else {
          merged.push(word[i]);
          i += 1;
        }
      }
      word = merged;
    }
    this.cache.set(token, word);
    return word;
  }

  /** Token strings of `text` without BOS/EOS, padding or truncation. */
  tokenize(text: string): string[] {
    const cleaned = cleanPromptText(text);
    if (this.added.size > 0) {
      // Longest keyword first so "<style-2>" is not split by "<style>".
      const keys = [...this.added.keys()].sort((a, b) => b.length - a.length);
      const escaped = keys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
      const parts = cleaned.split(new RegExp(`(${escaped.join('|')})`));
      return parts.flatMap((part, i) => (i % 2 === 1 ? this.added.get(part)! : part ? this.tokenizeCleaned(part) : []));
    }
    return this.tokenizeCleaned(cleaned);
  }

  private tokenizeCleaned(cleaned: string): string[] {
    const pieces = this.splitOnPad ? cleaned.split(this.special.padToken) : [cleaned];
    const out: string[] = [];
    pieces.forEach((piece, i) => {
      if (i > 0) out.push(this.special.padToken);
      for (const match of piece.matchAll(WORD_PATTERN)) {
        const word = match[0];
        if (word === BOS || word === EOS) {
          out.push(word);
          continue;
        }
        const bytes = Buffer.from(word, 'utf8');
        let mapped = '';
        for (const b of bytes) mapped += this.byteEncoder[b];
        out.push(...this.bpe(mapped));
      }
    });
    return out;
  }

  /** BPE ids of `text` without BOS/EOS (unknown pieces map to EOS, CLIP's unk token). */
  encodeRaw(text: string): number[] {
    return this.tokenize(text).map((tok) => this.encoder.get(tok) ?? this.special.eosId);
  }

  /** What SD feeds the text encoder: BOS + ids + EOS, truncated to 77 (EOS kept last) and padded. */
  encode(text: string): number[] {
    return this.wrap(this.encodeRaw(text));
  }

  /** BOS + ids + EOS padded with the pad id and truncated to maxLength; the last id stays EOS when cut. */
  wrap(ids: number[]): number[] {
    const { bosId, eosId, padId, maxLength } = this.special;
    const body = ids.slice(0, maxLength - 2);
    const out = [bosId, ...body, eosId];
    while (out.length < maxLength) out.push(padId);
    return out;
  }
}
