import type { Command } from 'commander';
import { AppError } from '../../../shared/errors';
import { importModel, type ImportFamily, type ImportProgress } from '../../models/import/index';
import { ModelImportParams } from '../../../shared/api/methods-models';
import { importIntoLibrary, listLibrary, modelsDir, removeFromLibrary } from '../../models/library';
import { printResult, progressLine } from '../output';

/**
 * `dreamframe model …`: the model command group. `import` turns a checkpoint into an ONNX folder; further
 * subcommands (`model list`, the model library) register on the same group below.
 */

interface ImportCliOptions {
  out?: string;
  models?: string;
  config?: string;
  family?: string;
  prediction?: string;
  vae?: string;
  fp16?: boolean;
  json?: boolean;
}

const FAMILIES: readonly ImportFamily[] = ['sd1', 'sd2', 'sdxl', 'sdxl-refiner'];

function parseFamily(value: string | undefined): ImportFamily | undefined {
  if (value === undefined) return undefined;
  if (!(FAMILIES as readonly string[]).includes(value)) throw new AppError('cli.bad_option', `--family must be one of ${FAMILIES.join(', ')}, got "${value}"`, { family: value });
  return value as ImportFamily;
}

function parsePrediction(value: string | undefined): 'epsilon' | 'v' | undefined {
  if (value === undefined) return undefined;
  if (value === 'v_prediction') return 'v';
  if (value !== 'epsilon' && value !== 'v') throw new AppError('cli.bad_option', `--prediction must be epsilon or v, got "${value}"`, { prediction: value });
  return value;
}

const mb = (bytes: number) => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`);

/**
 * The progress bar: redrawn in place on a terminal; elsewhere (logs, pipes) one line per stage and per 10 % of the
 * bytes, so a log stays short.
 */
function progressReporter(): (p: ImportProgress) => void {
  let lastStage = '';
  let lastTenth = -1;
  return (p) => {
    const fraction = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 0;
    const tenth = Math.floor(fraction * 10);
    if (!process.stderr.isTTY && p.stage === lastStage && tenth === lastTenth) return;
    lastStage = p.stage;
    lastTenth = tenth;
    if (p.stage === 'reading') return progressLine('reading the checkpoint (headers, configs, sha256)…');
    const width = 24;
    const filled = Math.round(fraction * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    progressLine(`${bar} ${(fraction * 100).toFixed(0).padStart(3)}%  ${mb(p.bytesDone)}/${mb(p.bytesTotal)}  ${p.tensorsDone}/${p.tensorsTotal} tensors  ${p.stage}`);
  };
}

function registerImport(group: Command): void {
  group
    .command('import <input>')
    .description('convert a .safetensors checkpoint (single-file LDM layout) or a diffusers folder into an ONNX model folder')
    .option('--out <dir>', 'the ONNX folder to create (must not exist, or be empty); without it the model goes into the model library')
    .option('--models <dir>', 'the model library folder (default: DREAMFRAME_MODELS, the saved setting, else the app data folder)')
    .option('--config <dir>', 'diffusers config folder for a non-standard architecture (from_single_file(config=…) convention)')
    .option('--family <family>', `override family detection: ${FAMILIES.join(', ')}`)
    .option('--prediction <type>', 'epsilon or v (SD 2.x 768-v models); default: .yaml beside the checkpoint, the config, else epsilon')
    .option('--vae <file>', 'a separate VAE .safetensors (LDM or diffusers layout) to use instead of the checkpoint\'s')
    .option('--fp16', 'float16 weights and I/O (GPU); normalisation, softmax and timestep embeddings stay float32')
    .option('--json', 'machine-readable output')
    .action(async (input: string, opts: ImportCliOptions) => {
      const controller = new AbortController();
      // Ctrl-C stops at the next tensor and removes the temporary folder instead of leaving it half-written.
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      const slowdown = Number(process.env.DREAMFRAME_IMPORT_SLOWDOWN_MS ?? 0);
      try {
        const report = progressReporter();
        if (opts.out === undefined) {
          await importToLibraryCli(input, opts, controller.signal, report);
          return;
        }
        const info = await importModel(input, opts.out, {
          config: opts.config,
          family: parseFamily(opts.family),
          prediction: parsePrediction(opts.prediction),
          vae: opts.vae,
          fp16: opts.fp16 === true,
          signal: controller.signal,
          onProgress: (p) => {
            report(p);
            // Test hook (interrupted-import tests): hold each tensor so a kill lands mid-import.
            if (slowdown > 0 && p.tensorsDone > 0) return new Promise<void>((r) => setTimeout(r, slowdown));
          },
        });
        if (process.stderr.isTTY) process.stderr.write('\n');
        printResult(opts, info, () =>
          [
            `imported ${info.family} (${info.prediction}, ${info.dtype}, native ${info.nativeWidth}×${info.nativeHeight}) into ${info.outDir}`,
            `size on disk ${mb(info.sizeOnDisk)}, ${info.seconds.toFixed(1)} s; source sha256 ${info.sourceHash}`,
            ...info.notes.map((n) => `note: ${n}`),
          ].join('\n'),
        );
      } finally {
        process.removeListener('SIGINT', onSigint);
      }
    });
}

async function importToLibraryCli(input: string, opts: ImportCliOptions, signal: AbortSignal, report: (p: ImportProgress) => void): Promise<void> {
  const dir = modelsDir(opts.models);
  const params = ModelImportParams.parse({
    source: input,
    fp16: opts.fp16 === true,
    family: parseFamily(opts.family),
    prediction: parsePrediction(opts.prediction),
    config: opts.config,
    vae: opts.vae,
  });
  const { model, reused } = await importIntoLibrary(dir, params, importModel, {
    signal,
    onHashing: () => progressLine('checking the source and computing its sha256…'),
    onProgress: report,
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  printResult(opts, { ...model, reused }, () => (reused
    ? `already in the library: ${model.id} (${model.family}, ${model.dtype}) at ${model.dir}`
    : `imported ${model.family} (${model.prediction}, ${model.dtype}, native ${model.nativeWidth}×${model.nativeHeight}) into the library as ${model.id}: ${model.dir}`));
}

function registerLibrary(group: Command): void {
  group
    .command('list')
    .description('list the models of the model library')
    .option('--models <dir>', 'the model library folder (default: DREAMFRAME_MODELS, the saved setting, else the app data folder)')
    .option('--json', 'machine-readable output')
    .action((opts: { models?: string; json?: boolean }) => {
      const listing = listLibrary(modelsDir(opts.models));
      printResult(opts, listing, () => {
        const rows = listing.models.map((m) => `${m.id.padEnd(28)} ${m.family.padEnd(12)} ${`${m.nativeWidth}×${m.nativeHeight}`.padEnd(10)} `
          + `${m.dtype.padEnd(8)} ${mb(m.sizeOnDisk).padStart(9)}  ${safeText(m.name)}`);
        return [
          `${listing.dir}: ${listing.models.length} model(s)`,
          ...rows,
          ...listing.problems.map((p) => `not usable: ${safeText(p)}`),
        ].join('\n');
      });
    });
  group
    .command('remove <id>')
    .description('remove a model from the model library (its folder is deleted)')
    .option('--models <dir>', 'the model library folder')
    .option('--json', 'machine-readable output')
    .action((id: string, opts: { models?: string; json?: boolean }) => {
      const dir = modelsDir(opts.models);
      const removed = removeFromLibrary(dir, id);
      printResult(opts, { removed, id }, () => `removed ${id} from ${dir}`);
    });
}

/** Names come from file names: keep control characters out of the terminal. */
function safeText(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function register(program: Command): void {
  const group = program.command('model').description('Models: import checkpoints into ONNX folders and the model library');
  registerImport(group);
  registerLibrary(group);
}
