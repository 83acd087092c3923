/**
 * The full-size measurements issues #5 and #6 ask for on a GPU, in one command:
 *
 *   npm run bench:full -- [--provider cuda] [--size 512] [--steps 20] [--style-size 512] [--random-dir DIR]
 *
 * 1. generates (once) a random-weight SD 1.5 folder (bench/lib/random-sd.ts: UNet 859,520,964 parameters, CLIP
 *    ViT-L/14 text encoder, SD VAE; 4.1 GB) into ~/.cache/dreamframe-bench/random-sd15;
 * 2. bench/diffusion.ts on it: per denoising step, time inside session.run vs the JS around it;
 * 3. bench/style.ts on it: UNet forward, TI gradient model (loss only / loss + gradients) and training steps/s.
 * On a CPU pass small sizes (e.g. --size 256 --style-size 128 --steps 3): a full-size step takes seconds to minutes.
 * The leading underscore keeps it out of `npm run bench` (which runs the quick benches).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomSdFolder } from './lib/random-sd';

const { values } = parseArgs({
  options: {
    provider: { type: 'string', default: 'cuda' },
    size: { type: 'string', default: '512' },
    steps: { type: 'string', default: '20' },
    'style-size': { type: 'string', default: '512' },
    'random-dir': { type: 'string' },
  },
});
const here = import.meta.dirname;
const shared = process.env.DREAMFRAME_SHARED ?? join(here, '../../shared');
const model = randomSdFolder('sd15', join(shared, 'fixtures/tiny-sd15/pipeline'), values['random-dir']);

const run = (script: string, args: string[], env: Record<string, string> = {}) => {
  console.log(`\n=== bench/${script} ${args.join(' ')} ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, script), ...args], { stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status ?? 1;
};

let failed = 0;
failed += run('diffusion.ts', ['--model', model, '--provider', values.provider!, '--size', values.size!, '--steps', values.steps!, '--scheduler', 'euler,dpmpp-2m']) === 0 ? 0 : 1;
failed += run('style.ts', [], { BENCH_MODEL: model, BENCH_PROVIDER: values.provider!, BENCH_SIZE: values['style-size']!, BENCH_STEPS: '4', BENCH_REPS: '3' }) === 0 ? 0 : 1;
process.exitCode = failed > 0 ? 1 : 0;
