import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiffusionPipeline } from '../../src/main/diffusion/pipeline/stable-diffusion';
import { tinySd15Dir, tinySdxlDir } from '../support/paths';
import { useTempDir } from '../support/tmp';
import { f32, ints, maxAbsDiff, readCase } from './fixture-io';

const tempDir = useTempDir('dreamframe-ti-');
const size = { width: 64, height: 64 };

describe('learned keyword embeddings against the textual-inversion references', () => {
  it('SD 1.x: one vector; ids, hidden states, model file untouched', async () => {
    const cases = join(tinySd15Dir, 'cases');
    const ti = readCase(cases, 'textual_inversion.json');
    const encoderFile = join(tinySd15Dir, 'pipeline/text_encoder/model.onnx');
    const before = statSync(encoderFile);
    const pipe = await DiffusionPipeline.load(join(tinySd15Dir, 'pipeline'), { threads: 1 });
    try {
      const plain = await pipe.conditioning(['a picture in a painting style'], undefined, false, size);
      await pipe.setLearnedEmbedding({ keyword: ti.placeholder_token, vectors: [f32(cases, ti.placeholder_embedding_initial)], cacheDir: tempDir() });
      expect(pipe.model.tokenizer!.encode(ti.prompt)).toEqual(ints(cases, ti.input_ids));
      const cond = await pipe.conditioning([ti.prompt], undefined, false, size);
      expect(maxAbsDiff(cond.hidden, f32(cases, ti.cases[0].encoder_hidden_states))).toBeLessThan(1e-4);
      // Prompts without the keyword keep the ordinary path and result.
      const after = await pipe.conditioning(['a picture in a painting style'], undefined, false, size);
      expect(maxAbsDiff(after.hidden, plain.hidden)).toBe(0);
      const result = await pipe.generate({ prompt: `${ti.placeholder_token}, a castle`, steps: 2, seed: 9, output: 'latents' });
      expect(result.latents.every(Number.isFinite)).toBe(true);
    } finally {
      await pipe.release();
    }
    const afterStat = statSync(encoderFile);
    expect([afterStat.size, afterStat.mtimeMs]).toEqual([before.size, before.mtimeMs]);
  });

  it('SDXL: two vectors (one per encoder); prompt_embeds and pooled text_embeds at the keyword', async () => {
    const cases = join(tinySdxlDir, 'cases');
    const ti = readCase(cases, 'textual_inversion.json');
    const pipe = await DiffusionPipeline.load(join(tinySdxlDir, 'pipeline'), { threads: 1 });
    try {
      await expect(pipe.setLearnedEmbedding({ keyword: '<kw>', vectors: [f32(cases, ti.placeholder_embedding_initial_1)] })).rejects.toMatchObject({ code: 'diffusion.bad_request' });
      await pipe.setLearnedEmbedding({
        keyword: ti.placeholder_token,
        vectors: [f32(cases, ti.placeholder_embedding_initial_1), f32(cases, ti.placeholder_embedding_initial_2)],
        cacheDir: tempDir(),
      });
      expect(pipe.model.tokenizer!.encode(ti.prompt)).toEqual(ints(cases, ti.input_ids));
      expect(pipe.model.tokenizer2!.encode(ti.prompt)).toEqual(ints(cases, ti.input_ids_2));
      const cond = await pipe.conditioning([ti.prompt], undefined, false, size);
      expect(maxAbsDiff(cond.hidden, f32(cases, ti.encoder_hidden_states))).toBeLessThan(1e-4);
      expect(maxAbsDiff(cond.textEmbeds!, f32(cases, ti.text_embeds))).toBeLessThan(1e-4);
      expect(Array.from(cond.timeIds!)).toEqual(Array.from(f32(cases, ti.time_ids)));
    } finally {
      await pipe.release();
    }
  });

  it('SDXL in place (DreamFrame): the keyword keeps its own token and pooling stays at end-of-text', async () => {
    const cases = join(tinySdxlDir, 'cases');
    const ti = readCase(cases, 'textual_inversion.json');
    const pipe = await DiffusionPipeline.load(join(tinySdxlDir, 'pipeline'), { threads: 1 });
    try {
      // The fixture initialises <kw> from the rows of 'dramatic'; overwriting 'dramatic' with those same rows in
      // place must give the encoders' own output for the prompt with 'dramatic', pooled at EOS.
      const prompt = ti.prompt.replace(ti.placeholder_token, 'dramatic');
      await pipe.setLearnedEmbedding({
        keyword: 'Dramatic',
        vectors: [f32(cases, ti.placeholder_embedding_initial_1), f32(cases, ti.placeholder_embedding_initial_2)],
        cacheDir: tempDir(),
      });
      expect(pipe.model.tokenizer!.encode(prompt)).toEqual(ints(cases, ti.input_ids_with_initializer));
      const cond = await pipe.conditioning([prompt], undefined, false, size);
      expect(maxAbsDiff(cond.hidden, f32(cases, ti.encoder_hidden_states))).toBeLessThan(1e-4);
      expect(maxAbsDiff(cond.textEmbeds!, f32(cases, ti.text_embeds_pooled_at_eos))).toBeLessThan(1e-4);
      // A different vector in the same row changes the conditioning: the override is really applied.
      // (Not a constant shift: the encoder's LayerNorms would cancel it.)
      const moved = f32(cases, ti.placeholder_embedding_initial_2).map((v, i) => (i % 2 === 0 ? 0.2 : -0.2) - v);
      await pipe.setLearnedEmbedding({ keyword: 'Dramatic', vectors: [f32(cases, ti.placeholder_embedding_initial_1), moved], placement: 'existing-token' });
      const changed = await pipe.conditioning([prompt], undefined, false, size);
      expect(maxAbsDiff(changed.textEmbeds!, f32(cases, ti.text_embeds_pooled_at_eos))).toBeGreaterThan(1e-3);
      await expect(pipe.setLearnedEmbedding({ keyword: 'lamplit watercolour', vectors: [moved.subarray(0, 32), moved], placement: 'existing-token' }))
        .rejects.toMatchObject({ code: 'diffusion.bad_request' });
    } finally {
      await pipe.release();
    }
  });
});
