import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { FilmQuality } from '../../../shared/api/methods-quality';
import { AppError } from '../../../shared/errors';
import { EventBus } from '../../app/event-bus';
import { interruptOnSignal, waitForJobs, waitingNotice } from '../../jobs/foreground';
import { getJob } from '../../jobs/job-store';
import { JobRunner } from '../../jobs/runner';
import { openProject } from '../../project/project';
import { filmQuality } from '../../quality/film-quality';
import { QUALITY_JOB, qualityJobKind, QualityJobParams } from '../../quality/quality-job';
import { QualityScorer } from '../../quality/scorer';
import { parseProvider, PROVIDER_REQUESTS, type ProviderRequest } from '../../diffusion/runtime/providers';
import { printResult, progressLine } from '../output';

/**
 * `dreamframe quality images|film`: the paper's dataset metrics (CLIP-Score, LPIPS) on loose images or a film
 * (docs/quality.md). `--clip` takes a Hugging Face CLIP folder (converted to ONNX on first use, cached by content
 * hash) or an optimum-layout ONNX export; `--lpips` an .onnx file or a folder with the two .pth files.
 */

interface ModelOptions { clip: string; lpips?: string; lpipsSize?: number; cache?: string; provider?: ProviderRequest; json?: boolean }
interface ImagesOptions extends ModelOptions { text?: string[] }
interface FilmOptions extends ModelOptions { project: string; film: string }

const size = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new AppError('invalid_input', `--lpips-size must be an integer, got ${v}`);
  return n;
};

const collect = (v: string, all: string[] = []): string[] => [...all, v];

export async function qualityImages(images: string[], o: ImagesOptions) {
  if (images.length === 0) throw new AppError('invalid_input', 'give at least one image');
  const scorer = await QualityScorer.open({ clip: resolve(o.clip), lpips: o.lpips ? resolve(o.lpips) : null, lpipsSize: o.lpipsSize, cacheDir: o.cache, provider: o.provider,
    warn: (m) => process.stderr.write(`${m}\n`) });
  try {
    return await scorer.scoreImages(images.map((f) => resolve(f)), o.text ?? []);
  } finally {
    await scorer.close();
  }
}

/**
 * Scores a film as a `quality.score` job of the project (run here, or by the app / `serve` when it holds the
 * project's runner lease); only keyframes the caches lack are computed. Ctrl+C stops after the current batch.
 */
export async function qualityFilm(o: FilmOptions, onProgress: (line: string) => void = () => {}): Promise<{ quality: FilmQuality | null; jobId: number; status: string; interrupted: boolean; error: unknown }> {
  const filmId = Number(o.film);
  if (!Number.isInteger(filmId) || filmId < 1) throw new AppError('invalid_input', `--film must be a film id, got ${o.film}`);
  const project = openProject(resolve(o.project));
  const events = new EventBus();
  const runner = new JobRunner(project, events, [qualityJobKind], 250, { label: 'dreamframe quality film' });
  let jobId: number | null = null;
  const interrupt = interruptOnSignal(runner, () => (jobId === null ? [] : [jobId]));
  try {
    const params = QualityJobParams.parse({
      filmId, clip: resolve(o.clip), lpips: o.lpips ? resolve(o.lpips) : null, lpipsSize: o.lpipsSize ?? 64, cacheDir: o.cache ? resolve(o.cache) : undefined, provider: o.provider ?? 'cpu',
    });
    runner.start();
    events.onAny((name, payload) => {
      const job = payload as { id: number; progress: number; message: string | null };
      if (name === 'job.progress' && job.id === jobId) onProgress(`${(job.progress * 100).toFixed(1).padStart(5)}% ${job.message ?? ''}`);
    });
    jobId = runner.enqueue(QUALITY_JOB, params, filmId).id;
    const notice = waitingNotice(runner, project.dir, [jobId], 'running this command again continues from the cached scores');
    if (notice) onProgress(notice);
    await waitForJobs(project.db, [jobId], { signal: interrupt.signal });
    const job = getJob(project.db, jobId)!;
    return { quality: job.status === 'done' ? filmQuality(project.db, filmId) : null, jobId, status: job.status, interrupted: interrupt.interrupted, error: job.error };
  } finally {
    interrupt.dispose();
    await runner.stop();
    project.close();
  }
}

function fmt(v: number | null): string {
  return v === null ? '—' : v.toFixed(4);
}

function describeFilm(q: FilmQuality): string {
  const flagged = q.frames.filter((f) => f.flags.length);
  return [
    `Film ${q.filmId}: ${q.film.frames} frame(s), ${q.film.scoredFrames} scored, ${q.film.pairs} adjacent pair(s)`,
    `  CLIP-Score (adjacent frames) ${fmt(q.film.clipScore)}   paper ${q.paper.clipScore}`,
    `  LPIPS (adjacent frames)      ${fmt(q.film.lpips)}   paper ${q.paper.lpips}`,
    `  CLIPScore vs descriptions    ${fmt(q.film.descriptionClipScore)}`,
    ...q.chapters.map((c) => `  chapter ${c.position + 1} ${c.title}: CLIP ${fmt(c.clipScore)}  LPIPS ${fmt(c.lpips)}  description ${fmt(c.descriptionClipScore)}  flagged ${c.flagged}`),
    `${flagged.length} flagged frame(s)${flagged.length ? ':' : ''}`,
    ...flagged.map((f) => `  frame ${f.frameId} (#${f.index + 1}): ${f.flags.map((x) => x.message).join('; ')}`),
  ].join('\n');
}

function modelOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--clip <dir>', 'CLIP: a Hugging Face folder (config.json, model.safetensors, …) or an ONNX export (onnx/text_model.onnx, onnx/vision_model.onnx)')
    .option('--lpips <dir|file>', 'LPIPS v0.1 alex: an .onnx file, or a folder with AlexNet\'s and lpips\' alex .pth files')
    .option('--lpips-size <n>', 'side the images are resized to for LPIPS (PIL bicubic)', size, 64)
    .option('--cache <dir>', 'where converted models are kept (default: $DREAMFRAME_QUALITY_CACHE, else ~/.cache/dreamframe/quality)')
    .option('--provider <name>', `execution provider: ${PROVIDER_REQUESTS.join(', ')} (auto: accelerators first, CPU fallback)`, parseProvider, 'cpu')
    .option('--json', 'machine-readable output');
}

export function register(program: Command): void {
  const quality = program.command('quality').description('dataset quality: CLIP-Score and LPIPS per film, frame and pair (docs/quality.md)');
  modelOptions(quality.command('film')
    .description('score a film\'s keyframes (resumable job; only changed keyframes are recomputed) and flag outlier frames')
    .requiredOption('--project <dir>', 'project folder')
    .requiredOption('--film <id>', 'film id (see `dreamframe info`)'))
    .action(async (opts: FilmOptions) => {
      const result = await qualityFilm(opts, (line) => {
        if (!opts.json) progressLine(line);
      });
      if (!opts.json && process.stderr.isTTY) process.stderr.write('\n');
      if (result.status !== 'done') {
        printResult(opts, { jobId: result.jobId, status: result.status, error: result.error }, () => `Job ${result.jobId} ${result.status}`);
        process.exit(result.interrupted ? 130 : 1);
      }
      printResult(opts, result.quality, () => describeFilm(result.quality!));
    });
  modelOptions(quality.command('images')
    .description('CLIP cosine and LPIPS of adjacent images, and CLIP cosine of each image with each --text')
    .argument('<image...>', 'image files, in order')
    .option('--text <text>', 'a text to compare every image with (repeatable)', collect))
    .action(async (images: string[], opts: ImagesOptions) => {
      const result = await qualityImages(images, opts);
      printResult(opts, result, () => [
        ...result.adjacent.map((a, i) => `${i + 1}→${i + 2}: CLIP ${a.clip.toFixed(4)}${a.lpips === null ? '' : `  LPIPS ${a.lpips.toFixed(4)}`}`),
        ...result.text.map((row, i) => `image ${i + 1}: ${row.map((c, j) => `text ${j + 1} ${c.toFixed(4)}`).join('  ')}`),
      ].join('\n'));
    });
}
