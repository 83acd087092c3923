import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Command } from 'commander';
import { AppError } from '../../../shared/errors';
import { checkTrainingFits } from '../../diffusion/memory-estimate';
import { parseProvider } from '../../diffusion/runtime/providers';
import { describeWidths } from '../../style/embedding';
import { EXPORT_FORMATS, readEmbeddingFile, writeEmbeddingFile, type EmbeddingExportFormat } from '../../style/formats/index';
import { RELEASE_LR_SCHEDULE } from '../../style/lr-schedule';
import { listStyleImages } from '../../style/preprocess';
import { openPreviewRenderer, type PreviewRenderer } from '../../style/previews';
import { validateTemplates } from '../../style/prompt-templates';
import { singleTokenId, trainStyleEmbedding, type InitSpec } from '../../style/trainer';
import { loadTrainingLatents, openTrainingModel } from '../../style/trainer-setup';
import { printResult, progressLine } from '../output';

/** `dreamframe style …`: style-embedding tools (convert between file formats; learn by textual inversion). */

interface ConvertOptions {
  to: string;
  keyword?: string;
  json?: boolean;
}

function registerConvert(style: Command): void {
  style
    .command('convert <in> <out>')
    .description(
      'Convert a style embedding between formats. Reads ours, diffusers learned_embeds, SDXL clip_l/clip_g ' +
        "safetensors and the DreamFrame release's torch .pt (restricted reader: tensor dictionaries only).",
    )
    .requiredOption('--to <format>', `output format: ${EXPORT_FORMATS.join('|')}`)
    .option('--keyword <word>', 'style keyword to record (required when the source file carries none)')
    .option('--json', 'print the result as JSON')
    .action((input: string, output: string, opts: ConvertOptions) => {
      if (!EXPORT_FORMATS.includes(opts.to as EmbeddingExportFormat)) {
        throw new AppError('cli.invalid_option', `--to ${opts.to} is not a format; use one of ${EXPORT_FORMATS.join(', ')}`);
      }
      const to = opts.to as EmbeddingExportFormat;
      const { embedding, layout } = readEmbeddingFile(input, { keyword: opts.keyword });
      if (!embedding.keyword && to !== 'sdxl-comfy') {
        throw new AppError(
          'style.keyword_required',
          `${input} (${layout}) does not record a keyword and the ${to} format needs one; pass --keyword <word>`,
        );
      }
      writeEmbeddingFile(output, embedding, to);
      const widths = embedding.vectors.map((v) => v.width);
      const result = {
        input,
        output,
        from: layout,
        to,
        family: embedding.family,
        keyword: embedding.keyword,
        widths,
        rows: embedding.vectors.map((v) => v.rows),
      };
      printResult(opts, result, () => `${input} (${layout}, width ${describeWidths(widths)}) → ${output} (${to})`);
    });
}

interface LearnOptions {
  model: string;
  keyword: string;
  images: string;
  out: string;
  steps?: string;
  lrSchedule?: string;
  accumulation?: string;
  batchSize?: string;
  seed?: string;
  init?: string;
  templates?: string;
  size?: string;
  maxGradNorm?: string;
  checkpointDir?: string;
  checkpointEvery?: string;
  resume: boolean;
  previewEvery?: string;
  previewPrompt?: string;
  previewSteps?: string;
  provider?: string;
  threads?: string;
  maxMemory?: string;
  cacheDir: string;
  json?: boolean;
}

function intOption(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (!Number.isInteger(v) || v < min) throw new AppError('cli.invalid_option', `--${name} ${value}: must be an integer ≥ ${min}`);
  return v;
}

function readTemplates(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AppError('cli.invalid_option', `--templates ${path}: cannot read (${(err as Error).message})`);
  }
  const templates = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  validateTemplates(templates);
  return templates;
}

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function registerLearn(style: Command): void {
  style
    .command('learn')
    .description(
      "Learn a style keyword's embedding by textual inversion (the DreamFrame release's recipe by default): the keyword's own " +
        'token row is learned in place, one vector per text encoder. Checkpoints let an interrupted run continue: run the same command again.',
    )
    .requiredOption('--model <dir>', 'ONNX Stable Diffusion model folder (SD 1.x/2.x or SDXL base)')
    .requiredOption('--keyword <word>', 'style keyword; must be a single token in every tokenizer')
    .requiredOption('--images <dir>', 'folder of style images (JPEG/PNG/WebP, searched recursively)')
    .requiredOption('--out <file.safetensors>', 'where to write the learned embedding (our safetensors format)')
    .option('--steps <n>', 'optimizer steps (default: the schedule\'s last step, 400 for the release schedule)')
    .option('--lr-schedule <pairs>', `learning rates as "rate:endStep, …" (default "${RELEASE_LR_SCHEDULE}")`)
    .option('--accumulation <n>', 'gradient accumulation micro-batches per step (default 2, as the release)')
    .option('--batch-size <n>', 'samples per micro-batch (default 1)')
    .option('--seed <n>', 'random seed for initialisation, prompts, latents, timesteps and noise (default 46)')
    .option('--init <random|word>', 'initial vector: random × 0.01 (default) or the row of an existing single-token word')
    .option('--templates <file>', 'prompt templates, one per line with {} for the keyword (default: the release\'s 20)')
    .option('--size <px>', "training resolution (default: the model's native size)")
    .option('--max-grad-norm <x>', 'gradient-norm clipping per encoder (default 1; 0 disables)')
    .option('--checkpoint-dir <dir>', 'checkpoint folder (default: <out>.checkpoints next to --out)')
    .option('--checkpoint-every <n>', 'steps between checkpoints and embedding snapshots (default 50)')
    .option('--no-resume', 'ignore an existing checkpoint and start over')
    .option('--preview-every <n>', 'render a preview image into the checkpoint folder every N steps (default: none)')
    .option('--preview-prompt <text>', 'preview prompt, {} = keyword (default "generate an image in {} style")')
    .option('--preview-steps <n>', 'denoising steps per preview (default 20)')
    .option('--provider <name>', 'execution provider: cpu (default), auto, cuda, dml, coreml, webgpu')
    .option('--threads <n>', 'ORT intra-op threads (default: one per core)')
    .option('--max-memory <GiB>', "memory the size check assumes (default: the machine's RAM for cpu, 80 GiB for a GPU)")
    .option('--cache-dir <dir>', 'cache for the gradient model and image latents', join(homedir(), '.cache', 'dreamframe', 'onnx'))
    .option('--json', 'print the result as JSON')
    .action(async (opts: LearnOptions) => {
      const started = performance.now();
      const size = intOption('size', opts.size, 8);
      const maxGradNorm = opts.maxGradNorm === undefined ? undefined : Number(opts.maxGradNorm);
      if (maxGradNorm !== undefined && !(maxGradNorm >= 0)) throw new AppError('cli.invalid_option', `--max-grad-norm ${opts.maxGradNorm}: must be ≥ 0`);
      const out = resolve(opts.out);
      const checkpointDir = resolve(opts.checkpointDir ?? `${out}.checkpoints`);
      const cacheDir = resolve(opts.cacheDir);
      const maxMemoryGiB = opts.maxMemory === undefined ? undefined : Number(opts.maxMemory);
      if (maxMemoryGiB !== undefined && !(maxMemoryGiB > 0)) throw new AppError('cli.invalid_option', `--max-memory ${opts.maxMemory}: must be a number of GiB > 0`);
      // Refuse a training size the provider cannot hold (a conservative estimate) before encoding anything.
      checkTrainingFits(opts.model, { size, previews: opts.previewEvery !== undefined, provider: opts.provider ?? 'cpu', maxMemoryGiB });
      const images = await listStyleImages(resolve(opts.images));
      const init: InitSpec = !opts.init || opts.init === 'random' ? { kind: 'random' } : { kind: 'token', token: opts.init };

      const model = await openTrainingModel(opts.model, {
        cacheDir,
        provider: opts.provider ? parseProvider(opts.provider) : 'cpu',
        size: size ? { width: size, height: size } : undefined,
        threads: intOption('threads', opts.threads, 1),
      });
      const previewEvery = intOption('preview-every', opts.previewEvery, 1);
      let previews: PreviewRenderer | undefined;
      const previewFiles: string[] = [];
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      try {
        // Fail fast on a multi-token keyword, before the (slow at full size) image encoding.
        model.encoders.forEach((e, i) => singleTokenId(e.tokenizer, opts.keyword, i === 0 ? 'tokenizer' : `tokenizer_${i + 1}`));
        if (previewEvery) {
          previews = await openPreviewRenderer(opts.model, {
            outDir: checkpointDir,
            cacheDir,
            prompt: opts.previewPrompt,
            steps: intOption('preview-steps', opts.previewSteps, 1),
            size: model.size,
            provider: opts.provider ? parseProvider(opts.provider) : 'cpu',
            threads: intOption('threads', opts.threads, 1),
          });
        }
        const renderer = previews;
        if (!opts.json) progressLine(`encoding ${images.length} image(s) (+ mirrored copies) at ${model.size.width}×${model.size.height}…`);
        const { latents } = await loadTrainingLatents(opts.model, images, {
          cacheDir,
          size: model.size,
          provider: opts.provider ? parseProvider(opts.provider) : 'cpu',
          scalingFactor: model.scalingFactor,
        });
        const result = await trainStyleEmbedding(
          { ...model, latents },
          {
            keyword: opts.keyword,
            steps: intOption('steps', opts.steps, 1),
            lrSchedule: opts.lrSchedule,
            accumulation: intOption('accumulation', opts.accumulation, 1),
            batchSize: intOption('batch-size', opts.batchSize, 1),
            seed: intOption('seed', opts.seed, 0),
            init,
            templates: opts.templates ? readTemplates(opts.templates) : undefined,
            maxGradNorm,
            checkpointDir,
            checkpointEvery: intOption('checkpoint-every', opts.checkpointEvery, 1),
            resume: opts.resume,
            snapshotEvery: previewEvery,
            onSnapshot: renderer
              ? async (step, embedding) => {
                  previewFiles.push(await renderer.render(step, embedding));
                  if (!opts.json) progressLine(`preview → ${previewFiles[previewFiles.length - 1]}`);
                }
              : undefined,
            signal: controller.signal,
            onProgress: (p) => {
              if (opts.json) return;
              progressLine(
                `step ${p.step}/${p.totalSteps}  loss ${p.loss.toFixed(5)}  lr ${p.learningRate}  ` +
                  `${p.stepsPerSecond.toFixed(2)} steps/s  ETA ${formatDuration(p.etaMs)}`,
              );
            },
          },
        );
        if (result.cancelled) {
          throw new AppError(
            'style.training_cancelled',
            `training stopped at step ${result.steps}; the checkpoint is in ${checkpointDir}: run the same command to continue`,
            { steps: result.steps, checkpointDir },
          );
        }
        writeEmbeddingFile(out, result.embedding, 'ours');
        const seconds = (performance.now() - started) / 1000;
        const summary = {
          out,
          keyword: result.embedding.keyword,
          family: result.embedding.family,
          widths: result.embedding.vectors.map((v) => v.width),
          steps: result.steps,
          resumedFrom: result.resumedFrom,
          loss: result.embedding.loss ?? null,
          images: images.length,
          latents: latents.length,
          size: model.size,
          provider: model.provider,
          checkpointDir,
          previews: previewFiles,
          seconds,
        };
        if (!opts.json && process.stderr.isTTY) process.stderr.write('\n');
        printResult(opts, summary, () =>
          `${out}: "${summary.keyword}" ${summary.family ?? ''} (${describeWidths(summary.widths)}) after ${summary.steps} steps, ` +
          `recent loss ${summary.loss?.toFixed(5) ?? '-'}, ${seconds.toFixed(1)} s`,
        );
      } finally {
        process.off('SIGINT', onSigint);
        await previews?.release();
        await model.release();
      }
    });
}

export function register(program: Command): void {
  const style = program.command('style').description('Style embeddings: learn a style keyword by textual inversion, convert files');
  registerLearn(style);
  registerConvert(style);
}
