// Random-weight Stable Diffusion 1.x model folders of any size, for benchmarks that need full-size models
// (no weights can be downloaded). Prints each model's parameters, bytes and generation time, and peak memory.
//
//   node --import tsx bench/make-random-sd.ts --preset sd15|tiny --out DIR [--seed N] [--only unet,text_encoder,vae]
//                                             [--template DIR]
//
// --template is the SD 1.x folder whose tokenizer/ and scheduler/ are copied (and whose configs the tiny preset
// uses); default: the tiny-sd15 fixture's pipeline/. The folder is built in DIR.tmp and renamed to DIR when done.
// Without --out (as `npm run bench` runs it) it prints both presets' parameter counts from shape-only graphs and
// times the tiny preset into a temporary folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AppError } from '../src/shared/errors';
import {
  countSdParameters,
  presetConfigs,
  PRESETS,
  SD_MODELS,
  SD_PARTS,
  writeRandomSdFolder,
  type SdPart,
  type WrittenModel,
} from '../src/main/onnx/synthetic/index';

const here = import.meta.dirname;
const defaultTemplate = resolve(process.env.DREAMFRAME_SHARED ?? resolve(here, '../../shared'), 'fixtures/tiny-sd15/pipeline');

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'sd15' },
    out: { type: 'string' },
    seed: { type: 'string', default: '0' },
    only: { type: 'string' },
    template: { type: 'string', default: defaultTemplate },
  },
});

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const peakRss = () => mb(process.resourceUsage().maxRSS * 1024);
const printModel = (m: WrittenModel) =>
  console.log(`${m.name.padEnd(13)} ${m.parameters.toLocaleString('en-US').padStart(13)} params  ${mb(m.bytes).padStart(11)}  ${m.seconds.toFixed(1).padStart(6)} s  (peak RSS so far ${peakRss()})`);

function generate(preset: string, out: string, seed: number, only: SdPart[] | undefined): void {
  const started = performance.now();
  const configs = presetConfigs(preset, values.template!);
  console.log(`preset ${preset}, seed ${seed} → ${out}`);
  const { models } = writeRandomSdFolder(out, { configs, templateDir: values.template!, seed, only, onModel: printModel });
  const total = models.reduce((s, m) => s + m.bytes, 0);
  console.log(`total ${mb(total)} in ${((performance.now() - started) / 1000).toFixed(1)} s, peak RSS ${peakRss()}`);
}

try {
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new AppError('bad_argument', `--seed must be a non-negative integer, got "${values.seed}"`);
  const only = values.only?.split(',').map((s) => s.trim()) as SdPart[] | undefined;
  for (const p of only ?? []) if (!(SD_PARTS as readonly string[]).includes(p)) throw new AppError('bad_argument', `--only: unknown part "${p}" (expected ${SD_PARTS.join(', ')})`);
  if (values.out) {
    generate(values.preset!, resolve(values.out), seed, only);
  } else {
    for (const preset of PRESETS) {
      const configs = presetConfigs(preset, values.template!);
      const t = performance.now();
      const counts = SD_MODELS.map((m) => `${m} ${countSdParameters(m, configs).toLocaleString('en-US')}`);
      console.log(`${preset}: ${counts.join(', ')} (shape-only graphs in ${(performance.now() - t).toFixed(0)} ms)`);
    }
    const work = mkdtempSync(join(tmpdir(), 'bench-random-sd-'));
    try {
      generate('tiny', join(work, 'tiny'), seed, only);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exitCode = 1;
}
