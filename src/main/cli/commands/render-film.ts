import type { Command } from 'commander';
import { resolve } from 'node:path';
import { SCHEDULERS, type RenderSettings } from '../../../shared/api/methods-render';
import type { Job } from '../../../shared/api/entities';
import { AppError } from '../../../shared/errors';
import { EventBus } from '../../app/event-bus';
import { interruptOnSignal, waitForJobs, waitingNotice } from '../../jobs/foreground';
import { getJob } from '../../jobs/job-store';
import { JobRunner } from '../../jobs/runner';
import { farmRoute } from '../../farm/coordinator';
import { openProject } from '../../project/project';
import { framesInScope, parseScopeSpec } from '../../render/frames';
import { findResumableRenderJob, RENDER_JOB, RenderJobParams, renderJobKind } from '../../render/render-job';
import { checkRenderFits } from '../../render/render-size';
import { getRenderSettings } from '../../render/settings';
import { withDatabasePath } from '../../db/write-retry';
import { printNotice, printResult, progressLine } from '../output';

/**
 * `dreamframe render-film --project <dir> --film <id> [--scope chapter:N|subchapter:N.M] --model <dir>`:
 * the UI's render job, headless. The job lives in the project's job table, so a run stopped with
 * Ctrl+C (or a crash) continues where it stopped when the same command runs again. When the project
 * is open in another process (the app, `dreamframe serve`), that process runs the job and this
 * command says so, prints its progress and waits for it.
 */

interface Options {
  project: string; film: string; scope?: string; model: string; embedding?: string; refiner?: string;
  steps?: number; guidance?: number; width?: number; height?: number; scheduler?: RenderSettings['scheduler'];
  seed?: number; variants?: number; onlyMissing?: boolean; json?: boolean;
  /** GiB the size check may assume (default: this machine's RAM, or DREAMFRAME_MAX_MEMORY_GIB). */
  maxMemory?: number;
  /** Render farm (BullMQ on Redis); default: DREAMFRAME_REDIS, then the app setting, else render here. */
  redis?: string;
}

const int = (flag: string, min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new AppError('invalid_input', `${flag} must be an integer ≥ ${min}, got ${v}`);
  return n;
};

function bar(fraction: number, width = 28): string {
  const full = Math.round(fraction * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(fraction * 100).toFixed(1).padStart(5)}%`;
}

function eta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  const s = Math.round(seconds);
  return ` ETA ${s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`}`;
}

export async function renderFilm(opts: Options, onProgress: (job: Job) => void = () => {}, onNotice: (line: string) => void = () => {}):
  Promise<{ job: Job; resumed: boolean; frames: number; interrupted: boolean }> {
  const project = openProject(opts.project);
  const events = new EventBus();
  const runner = new JobRunner(project, events, [renderJobKind(undefined, farmRoute(opts.redis))], 250, { label: 'dreamframe render-film' });
  let jobId: number | null = null;
  // Ctrl+C stops the job after the current step: left 'running' when it runs here, cancelled when another
  // process runs it (see interruptJobs in jobs/foreground.ts); either way the same command run again resumes it.
  const interrupt = interruptOnSignal(runner, () => (jobId === null ? [] : [jobId]));
  try {
    const filmId = Number(opts.film);
    if (!Number.isInteger(filmId) || filmId < 1) throw new AppError('invalid_input', `--film must be a film id, got ${opts.film}`);
    const base = getRenderSettings(project.db, filmId);
    const settings: RenderSettings = {
      ...base,
      model: resolve(opts.model),
      embedding: opts.embedding ? resolve(opts.embedding) : base.embedding,
      refiner: opts.refiner ? resolve(opts.refiner) : base.refiner,
      steps: opts.steps ?? base.steps,
      guidance: opts.guidance ?? base.guidance,
      width: opts.width ?? base.width,
      height: opts.height ?? base.height,
      scheduler: opts.scheduler ?? base.scheduler,
      baseSeed: opts.seed ?? base.baseSeed,
      variants: opts.variants ?? base.variants,
    };
    const scope = parseScopeSpec(project.db, filmId, opts.scope);
    const frames = framesInScope(project.db, filmId, scope).length;
    // Refuse a size the machine cannot hold now, instead of a job failing on every frame.
    checkRenderFits(settings, { maxMemoryGiB: opts.maxMemory });
    const params = RenderJobParams.parse({ filmId, scope, settings, onlyMissing: opts.onlyMissing ?? false, maxMemoryGiB: opts.maxMemory });
    // Started before looking for a resumable job: taking the lease re-queues a crashed run's job.
    runner.start();
    const found = findResumableRenderJob(project.db, params);
    const resumed = found !== null;
    events.onAny((name, payload) => {
      if (name === 'job.progress' && (payload as Job).id === jobId) onProgress(payload as Job);
    });
    if (found === null) jobId = runner.enqueue(RENDER_JOB, params, filmId).id;
    else {
      jobId = found;
      runner.resume(found);
    }
    const notice = waitingNotice(runner, project.dir, [jobId], 'running this command again resumes it');
    if (notice) onNotice(notice);
    const id = jobId;
    await waitForJobs(project.db, [id], { signal: interrupt.signal, endedHere: (j) => runner.unrecordedFailure(j) !== null });
    // A failure the disk could not take (full) is reported as the job's; its row still says 'running', so
    // the same command resumes it once there is space.
    const unrecorded = runner.unrecordedFailure(id);
    const row = getJob(project.db, id)!;
    const job = unrecorded ? { ...row, status: 'failed' as const, error: unrecorded } : row;
    return { job, resumed, frames, interrupted: interrupt.interrupted };
  } catch (err) {
    throw withDatabasePath(err, project.dbFile);
  } finally {
    interrupt.dispose();
    await runner.stop();
    project.close();
  }
}

export function register(program: Command): void {
  program.command('render-film')
    .description('render the keyframes of a film (or one chapter / subchapter) as a resumable job')
    .requiredOption('--project <dir>', 'project folder')
    .requiredOption('--film <id>', 'film id (see `dreamframe info`)')
    .option('--scope <scope>', 'chapter:N or subchapter:N.M (1-based, as in the UI); default: the whole film')
    .requiredOption('--model <dir>', 'model folder (ONNX diffusers layout)')
    .option('--embedding <file>', 'learned style embedding')
    .option('--refiner <dir>', 'SDXL refiner model folder')
    .option('--steps <n>', 'denoising steps (default: film settings, 40)', int('--steps', 1))
    .option('--guidance <g>', 'classifier-free guidance (default: film settings, 5)', (v) => {
      const g = Number(v);
      if (!Number.isFinite(g) || g < 0) throw new AppError('invalid_input', `--guidance must be a number ≥ 0, got ${v}`);
      return g;
    })
    .option('--width <px>', "image width (default: film settings, else the model's native size)", int('--width', 8))
    .option('--height <px>', "image height (default: film settings, else the model's native size)", int('--height', 8))
    .option('--scheduler <name>', `one of ${SCHEDULERS.join(', ')}`, (v) => {
      if (!(SCHEDULERS as readonly string[]).includes(v)) throw new AppError('invalid_input', `--scheduler must be one of ${SCHEDULERS.join(', ')}, got ${v}`);
      return v as RenderSettings['scheduler'];
    })
    .option('--seed <n>', 'base seed: frame i renders with seed + i (default 20, as the release)', int('--seed', 0))
    .option('--variants <n>', 'images per frame (variant 0 becomes the keyframe)', int('--variants', 1))
    .option('--only-missing', 'skip frames whose keyframe is rendered and not stale')
    .option('--max-memory <GiB>', "memory the size check assumes (default: this machine's RAM)", (v) => {
      const g = Number(v);
      if (!(g > 0)) throw new AppError('invalid_input', `--max-memory must be a number of GiB > 0, got ${v}`);
      return g;
    })
    .option('--redis <url>', 'render on the render farm at this Redis URL (default: DREAMFRAME_REDIS, then the app setting; docs/farm.md)')
    .option('--json', 'machine-readable output')
    .action(async (opts: Options) => {
      let last = '';
      const { job, resumed, frames, interrupted } = await renderFilm(opts, (j) => {
        if (opts.json) return;
        const line = `${bar(j.progress)} ${j.message ?? ''}${eta(j.etaSeconds)}`;
        if (line !== last) progressLine(line);
        last = line;
      }, (notice) => printNotice(notice));
      if (!opts.json && process.stderr.isTTY) process.stderr.write('\n');
      printResult(opts, { jobId: job.id, status: job.status, resumed, frames, error: job.error }, () =>
        `Job ${job.id} ${job.status}${resumed ? ' (resumed)' : ''}: ${frames} frame(s)${job.error ? ` — ${job.error.message}` : ''}`);
      // main() maps a normal return to exit code 0; an interrupted (130) or failed (1) job must not look like success.
      if (job.status !== 'done') process.exit(interrupted ? 130 : 1);
    });
}
