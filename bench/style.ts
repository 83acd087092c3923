/**
 * Style training measurements (printed, never asserted), per model:
 * - one UNet forward pass (the plain inference model, batch 1);
 * - one pass of the textual-inversion gradient model: loss only (forward) and loss + gradients (a training
 *   micro-step's ORT work), and their ratio to the UNet forward;
 * - training throughput: optimizer steps per second with the release's accumulation 2, and the share of time
 *   spent outside ORT (tokenising, noising, AdamW, bookkeeping).
 * Models: the tiny fixtures; set BENCH_MODEL=<dir> (and BENCH_PROVIDER=cuda, BENCH_SIZE=<px>) for a full-size
 * model on a GPU, or BENCH_RANDOM=sd15 for a full-size random-weight SD 1.5 folder generated once into
 * ~/.cache/dreamframe-bench/random-sd15 (BENCH_RANDOM_DIR overrides; on a CPU use a small BENCH_SIZE such as 128).
 * BENCH_STEPS (default 6) optimizer steps are timed after one warm-up step.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseProvider } from '../src/main/diffusion/runtime/providers';
import { openModelSession, runTimer } from '../src/main/diffusion/runtime/session';
import { UnetModel } from '../src/main/diffusion/runtime/unet';
import { listStyleImages } from '../src/main/style/preprocess';
import { keywordGradient, trainStyleEmbedding, type TrainingDraw } from '../src/main/style/trainer';
import { loadTrainingLatents, openTrainingModel } from '../src/main/style/trainer-setup';
import { randomSdFolder } from './lib/random-sd';

const shared = resolve(process.env.DREAMFRAME_SHARED ?? resolve(import.meta.dirname, '../../shared'));
const provider = parseProvider(process.env.BENCH_PROVIDER ?? 'cpu');
const steps = Number(process.env.BENCH_STEPS ?? 6);
const reps = Number(process.env.BENCH_REPS ?? 5);
const size = process.env.BENCH_SIZE ? Number(process.env.BENCH_SIZE) : undefined;
const models = process.env.BENCH_MODEL
  ? [resolve(process.env.BENCH_MODEL)]
  : process.env.BENCH_RANDOM
    ? [randomSdFolder(process.env.BENCH_RANDOM, join(shared, 'fixtures/tiny-sd15/pipeline'), process.env.BENCH_RANDOM_DIR)]
    : [join(shared, 'fixtures/tiny-sd15/pipeline'), join(shared, 'fixtures/tiny-sdxl/pipeline')];
const cacheDir = process.env.BENCH_CACHE ?? mkdtempSync(join(tmpdir(), 'dreamframe-bench-style-'));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

try {
  const images = (await listStyleImages(join(shared, 'fixtures/dreamframe/style'))).slice(0, 4);
  for (const modelDir of models) {
    let t = performance.now();
    const model = await openTrainingModel(modelDir, { cacheDir, provider, size: size ? { width: size, height: size } : undefined });
    const openMs = performance.now() - t;
    t = performance.now();
    const { latents, dims } = await loadTrainingLatents(modelDir, images, { cacheDir, size: model.size, provider, scalingFactor: model.scalingFactor });
    const latentMs = performance.now() - t;
    const setup = { ...model, latents };

    // One draw reused for the per-pass timings.
    const keyword = 'dramatic';
    const prompt = setup.encoders.map((e) => {
      const ids = e.tokenizer.encode(`an image in ${keyword} style`);
      const k = e.tokenizer.encodeRaw(keyword)[0];
      return { ids, positions: ids.flatMap((id, p) => (id === k ? [p] : [])) };
    });
    const noise = new Float32Array(latents[0].length).map((_, i) => Math.sin(i));
    const draw: TrainingDraw = { prompt, latent: latents[0], noise, timestep: 500 };
    const vectors = setup.encoders.map((e) => new Float32Array(e.width).fill(0.01));
    const embeds = setup.encoders.map((e, k) => {
      const out = new Float32Array(77 * e.width);
      prompt[k].ids.forEach((id, p) => out.set(e.tokenTable.subarray(id * e.width, (id + 1) * e.width), p * e.width));
      return out;
    });
    const gradInputs = { embeds, ids: prompt.map((p) => p.ids), sample: noise, timestep: 500, target: noise };

    const unetSession = await openModelSession(join(modelDir, 'unet/model.onnx'), model.provider);
    const unet = new UnetModel(unetSession);
    const ctx = unet.contextWidth;
    const unetOut = new Float32Array(latents[0].length);
    const unetMs = await timeIt(() =>
      unet.predict(
        {
          sample: noise,
          sampleDims: dims,
          timestep: 500,
          encoderHiddenStates: new Float32Array(77 * ctx).fill(0.1),
          ehsDims: [1, 77, ctx],
          textEmbeds: unet.isSdxl ? new Float32Array(Number(unetSession.inputs.get('text_embeds')!.shape[1]) || 1280).fill(0.1) : undefined,
          timeIds: unet.isSdxl ? Float32Array.of(model.size.height, model.size.width, 0, 0, model.size.height, model.size.width) : undefined,
        },
        unetOut,
      ),
    );
    await unetSession.session.release();
    const lossMs = await timeIt(() => model.gradientModel.loss(gradInputs));
    const gradMs = await timeIt(() => keywordGradient(setup, draw, vectors));

    // Throughput: release accumulation (2 passes per optimizer step).
    await trainStyleEmbedding(setup, { keyword, steps: 1, lrSchedule: '1e-3' });
    runTimer.ms = 0;
    runTimer.calls = 0;
    t = performance.now();
    await trainStyleEmbedding(setup, { keyword, steps, lrSchedule: '1e-3' });
    const trainMs = performance.now() - t;
    const ortShare = runTimer.ms / trainMs;

    console.log(`\n${modelDir} (${model.family}, ${model.size.width}×${model.size.height}, provider ${model.provider})`);
    console.log(`  open training model (gradient model built or loaded from cache): ${openMs.toFixed(0)} ms; encode ${latents.length} latents: ${latentMs.toFixed(0)} ms`);
    console.log(`  UNet forward (inference model, batch 1):        ${unetMs.toFixed(1)} ms`);
    console.log(`  gradient model, loss only (encoders + UNet):    ${lossMs.toFixed(1)} ms  (${(lossMs / unetMs).toFixed(2)}× UNet forward)`);
    console.log(`  gradient model, loss + gradients (micro-step):  ${gradMs.toFixed(1)} ms  (${(gradMs / unetMs).toFixed(2)}× UNet forward, ${(gradMs / lossMs).toFixed(2)}× loss only)`);
    console.log(`  training: ${steps} steps × accumulation 2 in ${(trainMs / 1000).toFixed(2)} s = ${((steps * 1000) / trainMs).toFixed(3)} steps/s, ${(trainMs / steps).toFixed(0)} ms/step; ORT share ${(ortShare * 100).toFixed(1)} %`);
    console.log(`  release length (400 steps) at this rate: ${((400 * trainMs) / steps / 60000).toFixed(1)} min`);
    await model.release();
  }
} finally {
  if (!process.env.BENCH_CACHE) rmSync(cacheDir, { recursive: true, force: true });
}
