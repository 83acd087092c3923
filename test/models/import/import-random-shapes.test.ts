import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModelFolder } from '../../../src/main/diffusion/loader/model-folder';
import { DiffusionPipeline, type StepInfo } from '../../../src/main/diffusion/pipeline/stable-diffusion';
import { graphPlans } from '../../../src/main/models/import/graphs';
import { PlannedStore } from '../../../src/main/models/import/planned-store';
import { writeImportedFolder, type ImportSource } from '../../../src/main/models/import/index';
import type { ImportSourceTensor } from '../../../src/main/models/import/types';
import { fillNormalish } from '../../../src/main/onnx/synthetic/random';
import { tinySdxlDir } from '../../support/paths';

/**
 * No fixture holds SD 2.x or refiner weights, so these build tiny sources of those shapes with random weights (from
 * the tiny-sdxl configs) and check that the imported folders are what the loader and the pipeline take.
 */
const work = mkdtempSync(join(tmpdir(), 'df-import-refiner-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Random weights (seeded, scaled by fan-in; norm scales 1) for every parameter the source's graphs need. */
function fillRandomWeights(source: ImportSource): ImportSource {
  for (const plan of graphPlans(source)) {
    const store = new PlannedStore('x', 'float32');
    plan.build(store);
    const map = source.components[plan.component] ?? new Map<string, ImportSourceTensor>();
    for (const p of store.planned) {
      const shape = p.layout === 'transposed' ? [p.dims[1], p.dims[0]] : p.dims;
      const count = shape.reduce((a, b) => a * b, 1);
      const isScale = /norm.*\.weight$|layer_norm\d?\.weight$/.test(p.name);
      map.set(p.name, {
        key: p.name,
        shape,
        byteLength: count * 4,
        read: async () => {
          const v = new Float32Array(count);
          if (isScale) v.fill(1);
          else fillNormalish(v, 7, p.name, shape.length > 1 ? 1 / Math.sqrt(count / shape[0]) : 0.01);
          return v;
        },
      });
    }
    source.components[plan.component] = map;
  }
  return source;
}

const cfg = (p: string) => JSON.parse(readFileSync(join(tinySdxlDir, 'checkpoints/config', p), 'utf8'));

function randomRefinerSource(): ImportSource {
  const te2 = cfg('text_encoder_2/config.json');
  return fillRandomWeights({
    family: 'sdxl-refiner',
    prediction: 'epsilon',
    notes: [],
    configs: {
      // The refiner's UNet sees text_encoder_2 alone and 5 time ids: 32 (text_embeds) + 5 × 8.
      unet: { ...cfg('unet/config.json'), cross_attention_dim: te2.hidden_size, projection_class_embeddings_input_dim: te2.projection_dim + 5 * 8, requires_aesthetics_score: true },
      vae: cfg('vae/config.json'),
      text_encoder_2: te2,
      scheduler: cfg('scheduler/scheduler_config.json'),
    },
    modelIndex: { requires_aesthetics_score: true, force_zeros_for_empty_prompt: false },
    tokenizerDirs: { tokenizer_2: join(tinySdxlDir, 'checkpoints/config/tokenizer_2') },
    components: {},
    sourceHash: 'random',
  });
}

/** SD 2.x-shaped (768-v style): linear projections, per-level heads, a gelu OpenCLIP-style encoder, "!" padding, v-prediction. */
function randomSd2Source(): ImportSource {
  const te = { ...cfg('text_encoder_2/config.json'), architectures: ['CLIPTextModel'] };
  delete te.projection_dim;
  const unet = { ...cfg('unet/config.json'), cross_attention_dim: te.hidden_size, attention_head_dim: [2, 4], use_linear_projection: true, upcast_attention: true };
  for (const k of ['addition_embed_type', 'addition_time_embed_dim', 'projection_class_embeddings_input_dim']) delete unet[k];
  return fillRandomWeights({
    family: 'sd2',
    prediction: 'v_prediction',
    notes: [],
    configs: { unet, vae: { ...cfg('vae/config.json'), scaling_factor: 0.18215 }, text_encoder: te, scheduler: { ...cfg('scheduler/scheduler_config.json'), _class_name: 'DDIMScheduler' } },
    tokenizerDirs: { tokenizer: join(tinySdxlDir, 'checkpoints/config/tokenizer_2') },
    components: {},
    sourceHash: 'random',
  });
}

describe('an imported SDXL refiner', () => {
  it('loads as sdxl-refiner (text_encoder_2 only, 5 time ids) and finishes a base run', async () => {
    const out = join(work, 'refiner');
    const info = await writeImportedFolder(randomRefinerSource(), out, { dtype: 'float32' });
    expect(Object.keys(info.parameters)).toEqual(['text_encoder_2', 'unet', 'vae_encoder', 'vae_decoder']);
    const index = JSON.parse(readFileSync(join(out, 'model_index.json'), 'utf8'));
    expect(index).toMatchObject({ requires_aesthetics_score: true, force_zeros_for_empty_prompt: false });

    const model = await loadModelFolder(out, { threads: 1 });
    try {
      expect(model.info.family).toBe('sdxl-refiner');
      expect(model.unet.timeIdsLength).toBe(5);
      expect(model.textEncoder).toBeUndefined();
      expect(model.textEncoder2!.pooledName).toBe('text_embeds');
    } finally {
      await model.release();
    }

    const base = await DiffusionPipeline.load(join(tinySdxlDir, 'pipeline'), { threads: 1 });
    const refiner = await DiffusionPipeline.load(out, { threads: 1 });
    try {
      const steps: StepInfo[] = [];
      const result = await base.generate({ prompt: 'a lighthouse', steps: 4, scheduler: 'euler', guidance: 5, width: 64, height: 64, seed: 1, refiner, refinerStart: 0.5, onStep: (s) => steps.push(s) });
      expect(steps.map((s) => s.stage)).toEqual(['base', 'base', 'refiner', 'refiner']);
      expect(result.rgb[0].every(Number.isFinite)).toBe(true);
      expect(result.images).toHaveLength(1);
    } finally {
      await Promise.all([base.release(), refiner.release()]);
    }
  }, 120_000);
});

describe('an imported SD 2.x model', () => {
  it('loads as sd2 with v-prediction from the scheduler config written beside it, and renders', async () => {
    const out = join(work, 'sd2');
    const info = await writeImportedFolder(randomSd2Source(), out, { dtype: 'float32' });
    expect(info).toMatchObject({ family: 'sd2', prediction: 'v_prediction' });
    const scheduler = JSON.parse(readFileSync(join(out, 'scheduler/scheduler_config.json'), 'utf8'));
    expect(scheduler).toMatchObject({ _class_name: 'DDIMScheduler', prediction_type: 'v_prediction' });
    const pipe = await DiffusionPipeline.load(out, { threads: 1 });
    try {
      expect(pipe.model.info).toMatchObject({ family: 'sd2', predictionType: 'v_prediction', defaultScheduler: 'ddim' });
      const result = await pipe.generate({ prompt: 'a lighthouse', steps: 3, guidance: 7, width: 64, height: 64, seed: 1 });
      expect(result.rgb[0].every(Number.isFinite)).toBe(true);
    } finally {
      await pipe.release();
    }
  }, 120_000);
});
