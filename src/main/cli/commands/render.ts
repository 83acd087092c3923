import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AppError } from '../../../shared/errors';
import { checkGenerationFits } from '../../diffusion/memory-estimate';
import { DiffusionPipeline } from '../../diffusion/pipeline/stable-diffusion';
import { parseProvider } from '../../diffusion/runtime/providers';
import { SCHEDULER_NAMES, type SchedulerName } from '../../diffusion/schedulers/index';
import { writeFileAtomic } from '../../util/atomic-write';
import { printNotice, printResult, progressLine } from '../output';

interface RenderOptions {
  model: string;
  prompt: string;
  negative?: string;
  steps?: string;
  scheduler?: string;
  karras?: boolean;
  guidance?: string;
  seed?: string;
  width?: string;
  height?: string;
  refiner?: string;
  refinerStart?: string;
  initLatents?: string;
  saveLatents?: string;
  provider?: string;
  maxMemory?: string;
  out: string;
  json?: boolean;
}

function number(name: string, value: string | undefined, check: (v: number) => boolean, rule: string): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (!Number.isFinite(v) || !check(v)) throw new AppError('cli.bad_option', `--${name} ${JSON.stringify(value)}: must be ${rule}`);
  return v;
}

/** Raw little-endian float32 file → Float32Array (copied, so alignment does not matter). */
function readLatentsFile(path: string): Float32Array {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new AppError('cli.bad_option', `--init-latents ${path}: cannot read (${(err as Error).message})`);
  }
  if (buf.byteLength % 4 !== 0) throw new AppError('cli.bad_option', `--init-latents ${path}: ${buf.byteLength} bytes is not a whole number of float32 values`);
  const out = new Float32Array(buf.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

function latentsBytes(latents: Float32Array): Buffer {
  const buf = Buffer.alloc(latents.length * 4);
  for (let i = 0; i < latents.length; i++) buf.writeFloatLE(latents[i], i * 4);
  return buf;
}

/** `dreamframe render`: one image from an ONNX Stable Diffusion folder (SD 1.x, 2.x, SDXL, optionally + refiner). */
export function register(program: Command): void {
  program
    .command('render')
    .description('render one image with an ONNX Stable Diffusion model (SD 1.x/2.x/SDXL, optional SDXL refiner)')
    .requiredOption('--model <dir>', 'model folder (diffusers-script, optimum or optimum-onnx layout)')
    .requiredOption('--prompt <text>', 'prompt; A1111 weighting such as ((phrase)) and (phrase:1.3) is understood')
    .option('--negative <text>', 'negative prompt')
    .option('--steps <n>', 'denoising steps (default 30)')
    .option('--scheduler <name>', `one of ${SCHEDULER_NAMES.join('|')} (default: the model's own)`)
    .option('--karras', 'Karras sigma spacing (euler, euler-a, lms, dpmpp-2m)')
    .option('--guidance <scale>', 'classifier-free guidance scale (default 7.5; SDXL 5)')
    .option('--seed <n>', 'random seed (default: random; printed)')
    .option('--width <px>', "image width (default: the model's native size)")
    .option('--height <px>', "image height (default: the model's native size)")
    .option('--refiner <dir>', 'SDXL refiner folder: finishes the last part of the schedule')
    .option('--refiner-start <fraction>', 'fraction of the schedule where the refiner takes over (default 0.75)')
    .option('--init-latents <file>', 'start from these N(0,1) latents: raw little-endian float32 [1, C, H/f, W/f], before scaling by the initial sigma')
    .option('--save-latents <file>', 'write the final latents in the same raw float32 format')
    .option('--provider <name>', 'execution provider: cpu (default), auto, cuda, dml, coreml, webgpu')
    .option('--max-memory <GiB>', "memory the size check assumes (default: the machine's RAM for cpu, 80 GiB for a GPU)")
    .requiredOption('--out <file.png>', 'output PNG')
    .option('--json', 'machine-readable output')
    .action(async (opts: RenderOptions) => {
      const scheduler = opts.scheduler as SchedulerName | undefined;
      if (scheduler !== undefined && !SCHEDULER_NAMES.includes(scheduler)) {
        throw new AppError('cli.bad_option', `--scheduler ${JSON.stringify(opts.scheduler)}: use one of ${SCHEDULER_NAMES.join(', ')}`);
      }
      const steps = number('steps', opts.steps, (v) => Number.isInteger(v) && v >= 1 && v <= 1000, 'an integer from 1 to 1000');
      const guidance = number('guidance', opts.guidance, (v) => v >= 0, 'a number ≥ 0');
      const seed = number('seed', opts.seed, (v) => Number.isSafeInteger(v) && v >= 0, 'a non-negative integer') ?? Math.floor(Math.random() * 2 ** 32);
      const width = number('width', opts.width, (v) => Number.isInteger(v) && v > 0, 'a positive integer');
      const height = number('height', opts.height, (v) => Number.isInteger(v) && v > 0, 'a positive integer');
      const refinerStart = number('refiner-start', opts.refinerStart, (v) => v > 0 && v < 1, 'a fraction between 0 and 1');
      if (refinerStart !== undefined && !opts.refiner) throw new AppError('cli.bad_option', '--refiner-start needs --refiner');
      const provider = parseProvider(opts.provider ?? 'cpu');
      const initLatents = opts.initLatents ? readLatentsFile(opts.initLatents) : undefined;
      const maxMemoryGiB = number('max-memory', opts.maxMemory, (v) => v > 0, 'a number of GiB > 0');
      // Refuse a size the provider cannot hold before loading anything (unset sizes are the model's native size).
      const fit = { cfg: (guidance ?? 7.5) > 1, provider: opts.provider ?? 'cpu', maxMemoryGiB };
      const size = checkGenerationFits(opts.model, { width, height, ...fit });
      if (opts.refiner) checkGenerationFits(opts.refiner, { width: size.width, height: size.height, ...fit });
      const warn = (w: string) => printNotice(`warning: ${w}`);

      const pipeline = await DiffusionPipeline.load(opts.model, { provider, onWarning: warn });
      const refiner = opts.refiner ? await DiffusionPipeline.load(opts.refiner, { provider, onWarning: warn }) : undefined;
      try {
        const result = await pipeline.generate({
          prompt: opts.prompt,
          negativePrompt: opts.negative,
          steps,
          scheduler,
          karras: opts.karras,
          guidance,
          seed,
          width,
          height,
          refiner,
          refinerStart,
          initLatents,
          onStep: (s) => progressLine(`${s.stage} step ${s.step}/${s.totalSteps} (t=${s.timestep})`),
        });
        writeFileAtomic(opts.out, result.images[0]);
        if (opts.saveLatents) writeFileAtomic(opts.saveLatents, latentsBytes(result.latents));
        const info = pipeline.model.info;
        const summary = {
          out: opts.out,
          savedLatents: opts.saveLatents ?? null,
          family: info.family,
          refinerFamily: refiner?.model.info.family ?? null,
          provider: result.provider,
          refinerProvider: result.refinerProvider ?? null,
          seed,
          scheduler: scheduler ?? info.defaultScheduler ?? 'euler',
          steps: result.timesteps.length,
          width: width ?? info.defaultSize,
          height: height ?? info.defaultSize,
          latentShape: result.latentShape,
          timings: result.timings,
          warnings: [...pipeline.model.warnings, ...(refiner?.model.warnings ?? [])],
        };
        printResult(opts, summary, () =>
          `${opts.out}: ${summary.width}×${summary.height} ${summary.family}${refiner ? ` + refiner` : ''}, ${summary.scheduler}, ${summary.steps} UNet steps, seed ${seed}, ran on ${result.provider}, ${(result.timings.totalMs / 1000).toFixed(1)} s`,
        );
      } finally {
        await pipeline.release();
        await refiner?.release();
      }
    });
}
