/**
 * Per denoising step on the tiny fixtures: time inside onnxruntime's session.run vs everything else the step does
 * in JS (model-input scaling, batch copy for CFG, guidance, scheduler step, tensor wrapping), as a percentage.
 *
 *   node --import tsx bench/diffusion.ts [--steps 20] [--threads N] [--model DIR]...
 */
import { join } from 'node:path';
import { DiffusionPipeline, type StepInfo } from '../src/main/diffusion/pipeline/stable-diffusion';
import type { SchedulerName } from '../src/main/diffusion/schedulers/index';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const steps = Number(flag('steps') ?? 20);
const threads = flag('threads') ? Number(flag('threads')) : undefined;
const shared = process.env.DREAMFRAME_SHARED ?? join(import.meta.dirname, '../../shared');
const models = args.includes('--model')
  ? args.flatMap((a, i) => (args[i - 1] === '--model' ? [a] : []))
  : [join(shared, 'fixtures/tiny-sd15/pipeline'), join(shared, 'fixtures/tiny-sdxl/pipeline')];
const schedulers: SchedulerName[] = ['euler', 'dpmpp-2m', 'pndm'];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

console.log(`diffusion step bench: ${steps} steps, CFG batch 2, threads ${threads ?? 'ORT default'}, node ${process.version}`);
for (const dir of models) {
  const pipe = await DiffusionPipeline.load(dir, { threads });
  const info = pipe.model.info;
  console.log(`\n${dir}\n  family ${info.family}, provider ${pipe.provider}, ${info.defaultSize}×${info.defaultSize} px`);
  console.log('  scheduler   step ms (median)   session.run ms   other JS ms   JS overhead');
  for (const scheduler of schedulers) {
    await pipe.generate({ prompt: 'warm-up', steps: 2, scheduler, seed: 1, output: 'latents' });
    const records: StepInfo[] = [];
    await pipe.generate({ prompt: 'a knight at the city gates, cinematic lighting', steps, scheduler, seed: 42, output: 'latents', onStep: (s) => records.push(s) });
    const total = records.reduce((a, r) => a + r.stepMs, 0);
    const inside = records.reduce((a, r) => a + r.sessionMs, 0);
    const other = total - inside;
    console.log(
      `  ${scheduler.padEnd(10)}  ${median(records.map((r) => r.stepMs)).toFixed(2).padStart(16)}   ${(inside / records.length).toFixed(3).padStart(14)}   ${(other / records.length).toFixed(3).padStart(11)}   ${((100 * other) / total).toFixed(2).padStart(9)} %`,
    );
  }
  await pipe.release();
}
