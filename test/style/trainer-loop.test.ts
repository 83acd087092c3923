import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEDULER_CONFIG } from '../../src/main/diffusion/schedulers/index';
import { readEmbeddingFile } from '../../src/main/style/formats/index';
import { TrainingNoiser } from '../../src/main/style/noising';
import { trainStyleEmbedding, type GradientInputs, type TrainerSetup, type TrainingOptions } from '../../src/main/style/trainer';
import { useTempDir } from '../support/tmp';

/**
 * The training loop on a small analytic stand-in for the gradient model (loss = mean((embeds − c)²) with c set
 * by the noisy sample and timestep), so loop mechanics — accumulation, keyword rows, checkpoints, resume,
 * cancel — are tested exactly and fast. The real ONNX gradient model is tested in trainer.test.ts.
 */

const SEQ = 16;
const WIDTHS = [6, 4];

function fakeTokenizer() {
  const vocab = new Map<string, number>();
  const id = (w: string) => {
    if (!vocab.has(w)) vocab.set(w, vocab.size + 2);
    return vocab.get(w)!;
  };
  return {
    encodeRaw: (text: string) => text.toLowerCase().split(/\s+/).filter(Boolean).flatMap((w) => (w === 'two-part' ? [id('two'), id('part')] : [id(w)])),
    encode(text: string) {
      const ids = [0, ...this.encodeRaw(text).slice(0, SEQ - 2), 1];
      while (ids.length < SEQ) ids.push(1);
      return ids;
    },
  };
}

function makeSetup(calls: GradientInputs[] = []): TrainerSetup {
  const encoders = WIDTHS.map((width, e) => ({
    tokenizer: fakeTokenizer(),
    width,
    tokenTable: Float32Array.from({ length: 64 * width }, (_, i) => Math.sin(i * (e + 1.3))),
  }));
  return {
    modelName: 'fake',
    family: 'sdxl',
    encoders,
    latents: [Float32Array.from({ length: 16 }, (_, i) => i / 16), Float32Array.from({ length: 16 }, (_, i) => -i / 32)],
    noiser: new TrainingNoiser(DEFAULT_SCHEDULER_CONFIG),
    gradient: {
      async run(inputs) {
        calls.push(inputs);
        const c = inputs.sample.reduce((s, x) => s + x, 0) / inputs.sample.length + inputs.timestep / 1000;
        let loss = 0;
        let n = 0;
        const grads = inputs.embeds.map((emb) => {
          n += emb.length;
          return Float32Array.from(emb, (x) => x - c);
        });
        for (const g of grads) for (const d of g) loss += d * d;
        for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = (2 * g[i]) / n;
        return { loss: loss / n, grads };
      },
    },
  };
}

const base: TrainingOptions = { keyword: 'dramatic', steps: 12, lrSchedule: '0.05:6, 0.02', seed: 7, accumulation: 2, checkpointEvery: 5 };

describe('style training loop', () => {
  const tmp = useTempDir();

  it('runs accumulation × batch passes per step with the keyword rows replaced by the learned vectors', async () => {
    const calls: GradientInputs[] = [];
    const progress: number[] = [];
    const result = await trainStyleEmbedding(makeSetup(calls), { ...base, steps: 3, batchSize: 2, onProgress: (p) => progress.push(p.step) });
    expect(calls.length).toBe(3 * 2 * 2);
    expect(progress).toEqual([1, 2, 3]);
    expect(result.embedding.vectors.map((v) => v.width)).toEqual(WIDTHS);
    expect(result.embedding).toMatchObject({ keyword: 'dramatic', steps: 3, family: 'sdxl' });
    // Every prompt holds the keyword; its rows carry a vector of norm ≈ 0.01·√width at the first step.
    const first = calls[0].embeds[1];
    const rowNorms = Array.from({ length: SEQ }, (_, p) => Math.hypot(...first.subarray(p * 4, p * 4 + 4)));
    expect(rowNorms.filter((n) => n < 0.1).length).toBe(1);
  });

  it('is reproducible and continues bit-identically after a cancel and resume', async () => {
    const full = await trainStyleEmbedding(makeSetup(), base);
    const again = await trainStyleEmbedding(makeSetup(), base);
    expect(again.embedding).toEqual(full.embedding);

    const dir = tmp();
    const controller = new AbortController();
    const first = await trainStyleEmbedding(makeSetup(), {
      ...base,
      checkpointDir: dir,
      signal: controller.signal,
      onProgress: (p) => p.step === 7 && controller.abort(),
    });
    expect(first.cancelled).toBe(true);
    expect(first.steps).toBe(7);
    expect(existsSync(join(dir, 'checkpoint.json'))).toBe(true);
    const resumed = await trainStyleEmbedding(makeSetup(), { ...base, checkpointDir: dir });
    expect(resumed.resumedFrom).toBe(7);
    expect(resumed.cancelled).toBe(false);
    expect(resumed.embedding).toEqual(full.embedding);
    expect(resumed.losses).toEqual(full.losses);
    // Snapshots at steps 5, 10 and the last one, readable as our format.
    expect(readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort()).toEqual([
      'step-000005.safetensors',
      'step-000010.safetensors',
      'step-000012.safetensors',
    ]);
    expect(readEmbeddingFile(join(dir, 'step-000012.safetensors')).embedding.vectors).toEqual(full.embedding.vectors);
  });

  it('refuses to resume a checkpoint written with other settings, and a multi-token keyword', async () => {
    const dir = tmp();
    await trainStyleEmbedding(makeSetup(), { ...base, steps: 2, checkpointDir: dir });
    await expect(trainStyleEmbedding(makeSetup(), { ...base, seed: 8, checkpointDir: dir })).rejects.toThrow(/other settings/);
    await expect(trainStyleEmbedding(makeSetup(), { ...base, keyword: 'two-part' })).rejects.toThrow(/is 2 tokens/);
  });

  it('initialises from an existing token row when asked', async () => {
    const setup = makeSetup();
    const calls: GradientInputs[] = [];
    setup.gradient = { run: async (i) => (calls.push(i), { loss: 0, grads: i.embeds.map((e) => new Float32Array(e.length)) }) };
    await trainStyleEmbedding(setup, { ...base, steps: 1, accumulation: 1, init: { kind: 'token', token: 'painting' } });
    const tok = setup.encoders[0].tokenizer;
    const paintingId = tok.encodeRaw('painting')[0];
    const ids = tok.encode(`generate an image in dramatic painting style`);
    const pos = ids.indexOf(tok.encodeRaw('dramatic')[0]);
    const table = setup.encoders[0].tokenTable;
    // The keyword row equals painting's row at the first pass (the gradient is zero).
    expect([...calls[0].embeds[0].subarray(pos * 6, pos * 6 + 6)]).toEqual([...table.subarray(paintingId * 6, paintingId * 6 + 6)]);
  });
});
