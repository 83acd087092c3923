import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { AppError } from '../../../shared/errors';
import { loadModel, saveModel } from '../../onnx/model-io';
import { buildTiGradModel, readTiModelFolder } from '../../onnx/ti-grad';
import { printResult, progressLine } from '../output';
import { readFileSync } from 'node:fs';

interface Options {
  model: string;
  out: string;
  height?: string;
  width?: string;
  cacheDir?: string;
  json?: boolean;
}

function parseSize(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new AppError('cli.bad_option', `${flag} must be a positive integer, got "${value}"`);
  return n;
}

/** Default image size: the UNet's sample_size times the VAE factor (512 for SD 1.5, 64 for the tiny fixtures). */
function defaultSize(modelDir: string): number {
  const folder = readTiModelFolder(modelDir);
  try {
    const cfg = JSON.parse(readFileSync(join(modelDir, 'unet/config.json'), 'utf8')) as { sample_size?: number };
    if (typeof cfg.sample_size === 'number') return cfg.sample_size * folder.vaeScaleFactor;
  } catch {
    // fall through
  }
  return 64 * folder.vaeScaleFactor;
}

/** `dreamframe build-ti-grad --model <dir> --out <file.onnx> [--height H --width W]` */
export function register(program: Command): void {
  program
    .command('build-ti-grad')
    .description('build the textual-inversion gradient ONNX model (loss + d loss/d inputs_embeds) for a model folder')
    .requiredOption('--model <dir>', 'ONNX model folder (text_encoder[_2]/, unet/, vae_decoder/)')
    .requiredOption('--out <file.onnx>', 'where to write the gradient model (weights go to <file>.onnx_data)')
    .option('--height <px>', 'image height in pixels (default: UNet sample_size × VAE factor)')
    .option('--width <px>', 'image width in pixels (default: as height)')
    .option('--cache-dir <dir>', 'cache for built models', join(homedir(), '.cache', 'dreamframe', 'onnx'))
    .option('--json', 'machine-readable output')
    .action(async (opts: Options) => {
      const modelDir = resolve(opts.model);
      const height = parseSize(opts.height, '--height') ?? defaultSize(modelDir);
      const width = parseSize(opts.width, '--width') ?? height;
      if (!opts.json) progressLine(`building gradient model for ${modelDir} at ${width}×${height}…`);
      const started = Date.now();
      const built = await buildTiGradModel(modelDir, { height, width, cacheDir: resolve(opts.cacheDir ?? '.') });
      const out = resolve(opts.out);
      saveModel(loadModel(built.modelPath), out, { externalData: { location: `${basename(out)}_data` } });
      const result = { ...built, modelPath: out, cachedPath: built.modelPath, height, width, seconds: (Date.now() - started) / 1000 };
      printResult(opts, result, () =>
        [
          `wrote ${out} (${built.family}, ${width}×${height}, ${built.nodeCounts.gradient} nodes; forward ${built.nodeCounts.forward})`,
          `inputs:  ${built.inputs.map((i) => `${i.name} ${i.type}[${i.dims.join(',')}]`).join('  ')}`,
          `outputs: ${built.outputs.map((o) => `${o.name} ${o.type}[${o.dims.join(',')}]`).join('  ')}`,
        ].join('\n'),
      );
    });
}
