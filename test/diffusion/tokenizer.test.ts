import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../src/main/diffusion/tokenizer/clip-tokenizer';
import { applyChunkWeights, parsePromptWeights, promptChunks } from '../../src/main/diffusion/tokenizer/prompt-weights';
import { tinySd15Dir, tinySdxlDir } from '../support/paths';
import { readCase } from './fixture-io';

const sd15 = readCase(join(tinySd15Dir, 'cases'), 'tokenizer.json');
const sdxl = readCase(join(tinySdxlDir, 'cases'), 'tokenizer.json');
const tok = ClipTokenizer.fromDir(join(tinySd15Dir, 'pipeline/tokenizer'));
const tokXl1 = ClipTokenizer.fromDir(join(tinySdxlDir, 'pipeline/tokenizer'));
const tokXl2 = ClipTokenizer.fromDir(join(tinySdxlDir, 'pipeline/tokenizer_2'));
const tokXl2OpenClip = ClipTokenizer.fromDir(join(tinySdxlDir, 'pipeline/tokenizer_2'), { splitOnPadToken: false });

describe('CLIP tokenizer vs tiny-sd15 reference', () => {
  it('reads the special ids from the tokenizer files', () => {
    expect(tok.special).toMatchObject({ bosId: sd15.bos_token_id, eosId: sd15.eos_token_id, padId: sd15.pad_token_id, maxLength: 77 });
    expect(tok.vocabSize).toBe(sd15.vocab_size);
  });
  for (const c of sd15.cases) {
    it(`ids for ${JSON.stringify(c.prompt).slice(0, 60)}`, () => {
      expect(tok.encode(c.prompt)).toEqual(c.input_ids);
      expect(tok.encodeRaw(c.prompt)).toEqual(c.ids_untruncated.slice(1, -1));
      expect(['<|startoftext|>', ...tok.tokenize(c.prompt), '<|endoftext|>']).toEqual(c.tokens_untruncated);
    });
  }
});

describe('CLIP tokenizers vs tiny-sdxl reference', () => {
  it('tokenizer_2 pads with "!" (0), tokenizer with EOS', () => {
    expect(tokXl1.special.padId).toBe(sdxl.pad_token_id);
    expect(tokXl2.special.padId).toBe(sdxl.pad_token_id_2);
  });
  for (const c of sdxl.cases) {
    it(`ids for ${JSON.stringify(c.prompt).slice(0, 60)}`, () => {
      expect(tokXl1.encode(c.prompt)).toEqual(c.input_ids);
      expect(tokXl2.encode(c.prompt)).toEqual(c.input_ids_2);
      expect(tokXl2OpenClip.encode(c.prompt)).toEqual(c.input_ids_2_without_pad_token_split);
    });
  }
});

describe('prompt weighting and chunking', () => {
  it('parses A1111 brackets and explicit weights', () => {
    const parsed = parsePromptWeights('a ((red)) cat, (oil painting:1.3), [blurry], \\(literal\\)');
    const weightOf = (t: string) => parsed.find((f) => f.text.includes(t))!.weight;
    expect(weightOf('red')).toBeCloseTo(1.21, 10);
    expect(weightOf('oil painting')).toBeCloseTo(1.3, 10);
    expect(weightOf('blurry')).toBeCloseTo(1 / 1.1, 10);
    expect(weightOf('(literal)')).toBe(1);
    expect(parsed.map((f) => f.text).join('')).toBe('a red cat, oil painting, blurry, (literal)');
  });

  it('weighted chunk ids equal the plain ids of the unbracketed prompt', () => {
    const [chunk] = promptChunks(tok, 'a ((red)) cat, (oil painting:1.3)');
    expect(chunk.ids).toEqual(tok.encode('a red cat, oil painting'));
    const red = tok.encodeRaw('red')[0];
    expect(chunk.weights[chunk.ids.indexOf(red)]).toBeCloseTo(1.21, 10);
    expect(chunk.weights[0]).toBe(1);
  });

  it('splits prompts over 75 tokens into BOS/EOS-wrapped chunks of 77', () => {
    const long = sd15.cases.find((c: any) => c.num_tokens_untruncated > 77);
    const raw: number[] = long.ids_untruncated.slice(1, -1);
    const chunks = promptChunks(tok, long.prompt);
    expect(chunks).toHaveLength(Math.ceil(raw.length / 75));
    expect(chunks[0].ids).toEqual(long.input_ids.slice(0, 76).concat([49407]));
    expect(chunks.flatMap((c) => c.ids.slice(1).filter((_, i) => i < 75)).slice(0, raw.length)).toEqual(raw);
    expect(chunks[1].ids[0]).toBe(49406);
    expect(chunks[1].ids.length).toBe(77);
    expect(promptChunks(tok, '', { minChunks: 2 })).toHaveLength(2);
  });

  it('emphasis scales weighted positions and keeps the chunk mean', () => {
    const width = 3;
    const hidden = Float32Array.from({ length: 4 * width }, (_, i) => 1 + i * 0.1);
    const before = hidden.reduce((a, b) => a + b, 0);
    const original = hidden.slice();
    applyChunkWeights(hidden, [1, 1.5, 1, 1], width);
    expect(hidden.reduce((a, b) => a + b, 0)).toBeCloseTo(before, 4);
    expect(hidden[width] / hidden[0]).toBeCloseTo((original[width] * 1.5) / original[0], 5);
  });
});
