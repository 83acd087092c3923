import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../src/main/diffusion/tokenizer/clip-tokenizer';
import { applyRowOverrides, embeddingRowOverrides } from '../../src/main/style/apply';
import { readEmbeddingFile } from '../../src/main/style/formats/index';
import { dreamframeFixtureDir, tinySdxlDir } from '../support/paths';

describe('using an embedding for rendering', () => {
  const tokenizers = [ClipTokenizer.fromDir(join(tinySdxlDir, 'pipeline/tokenizer')), ClipTokenizer.fromDir(join(tinySdxlDir, 'pipeline/tokenizer_2'))];

  it("maps the release's Dramatic embedding onto the 'dramatic' row (11240) of both SDXL tokenizers", () => {
    const { embedding } = readEmbeddingFile(join(dreamframeFixtureDir, 'story_0_Dramatic.pt'), { keyword: 'Dramatic' });
    const overrides = embeddingRowOverrides(embedding, tokenizers.map((tokenizer, i) => ({ tokenizer, width: [768, 1280][i] })), 'sdxl-base');
    // 11240 is `dramatic</w>`, as the fixture README records for the reference's initializer token.
    expect(overrides.map((o) => o.tokenId)).toEqual([11240, 11240]);
    expect(overrides[1].vector).toBe(embedding.vectors[1].data);
    const table = new Float32Array(12000 * 768);
    const patched = applyRowOverrides(table, 768, [overrides[0]]);
    expect(Array.from(patched.subarray(11240 * 768, 11241 * 768))).toEqual(Array.from(embedding.vectors[0].data));
    expect(table[11240 * 768]).toBe(0); // the original is untouched
  });

  it('reports a width mismatch with the loaded model and a multi-token keyword', () => {
    const { embedding } = readEmbeddingFile(join(dreamframeFixtureDir, 'story_0_Dramatic.pt'), { keyword: 'Dramatic' });
    const tiny = tokenizers.map((tokenizer) => ({ tokenizer, width: 32 }));
    expect(() => embeddingRowOverrides(embedding, tiny, 'tiny-sdxl')).toThrow(/768\+1280 \(SDXL\).*tiny-sdxl.*32\+32/);
    const wide = tokenizers.map((tokenizer, i) => ({ tokenizer, width: [768, 1280][i] }));
    expect(() => embeddingRowOverrides(embedding, wide, 'sdxl', 'film noir')).toThrow(/"film noir" is 2 tokens/);
  });
});
