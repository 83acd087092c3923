import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { AppError } from '../../shared/errors';
import { getJob } from '../jobs/job-store';
import type { JobContext } from '../jobs/runner';
import { resolveEmbeddingFile } from '../render/embedding-path';
import { filmKeyword, framePrompt, negativePromptOf, seedFor } from '../render/frames';
import { storeImage } from '../media/image-store';
import { readModelGeometry } from '../diffusion/loader/model-config';
import { recordFrame, renderCheckpoint, type FarmRoute, type RenderJobParams } from '../render/render-job';
import { frameDescription } from '../render/render-repo';
import { readEmbeddingBytes } from '../style/formats/index';
import { bullConnection, checkRedis, maskRedisUrl } from './connection';
import {
  FARM_PREFIX, FARM_QUEUE, PROTOCOL_VERSION, RenderResult, RenderTask, TASK_NAME, TaskSettings, parseMessage,
  type TaskEmbedding,
} from './messages';
import { modelFolderHash } from './model-hash';
import { listWorkers } from './registry';
import { resolveFarmUrl } from './config';

/**
 * The coordinator side of the render farm: a render job (the process holding the project's job lease) queues one
 * BullMQ task per frame × variant and writes each finished frame through the same transaction as a local render
 * (render/render-job.ts recordFrame), so the storyboard fills in as workers finish.
 *
 * Task ids are deterministic — project+job, frame, variant, settings hash — so queueing again after a restart adds
 * nothing twice, and results stay in Redis until their frame is written, then are removed: a coordinator killed
 * mid-run collects on restart what finished meanwhile. A frame already in the checkpoint is never written again,
 * so a result seen twice is written once. Cancel removes the job's queued tasks; stop (Ctrl+C, app closing)
 * leaves them to the workers, for the resumed job to collect.
 */

export interface FarmOptions {
  /** Attempts per task before its frame counts as failed (a worker killed under a task does not use one up). */
  attempts?: number;
  /** Delay before a failed attempt is retried (doubles each time). */
  backoffMs?: number;
  /** How often outstanding tasks are checked. */
  pollMs?: number;
}

const DEFAULTS: Required<FarmOptions> = { attempts: 3, backoffMs: 1_000, pollMs: 250 };
/** Results of a job nobody resumes are dropped from Redis after a week. */
const KEEP_SECONDS = 7 * 24 * 3600;

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

interface PendingFrame {
  frameId: number;
  prompt: string;
  taskIds: string[];
  images: Map<number, { variant: number; seed: number; sha256: string }>;
}

/** What a job's tasks render with: the settings with model folders replaced by content hashes, and the embedding bytes. */
export function taskSettingsFor(ctx: JobContext<RenderJobParams>): { settings: TaskSettings; embedding: TaskEmbedding | null; settingsHash: string } {
  const { settings, filmId } = ctx.params;
  if (!settings.model) {
    throw new AppError('render.no_model', 'No render model is set: choose a model folder in the film\'s render settings (or pass --model)');
  }
  // Unset sizes are the model's native size, read here (the worker's machine has the same model by hash). The memory
  // check of local jobs is the worker's business: its machine, not this one, has to hold the model.
  const nativeSize = (): number => readModelGeometry(settings.model).nativeSize;
  const size = { width: settings.width ?? nativeSize(), height: settings.height ?? nativeSize() };
  const taskSettings = TaskSettings.parse({
    modelHash: modelFolderHash(settings.model),
    refinerHash: settings.refiner ? modelFolderHash(settings.refiner) : null,
    refinerStart: settings.refinerStart, scheduler: settings.scheduler, steps: settings.steps, guidance: settings.guidance,
    width: size.width, height: size.height,
  });
  let embedding: TaskEmbedding | null = null;
  if (settings.embedding) {
    const file = resolveEmbeddingFile(ctx.project, settings.embedding);
    const bytes = readFileSync(file);
    readEmbeddingBytes(bytes, file); // a bad file fails here, before anything is queued
    embedding = { keyword: filmKeyword(ctx.project.db, filmId), sha256: sha256(bytes), base64: bytes.toString('base64') };
  }
  const settingsHash = sha256(JSON.stringify({
    settings: taskSettings, negative: negativePromptOf(settings),
    embedding: embedding && { sha256: embedding.sha256, keyword: embedding.keyword },
  }));
  return { settings: taskSettings, embedding, settingsHash };
}

/** Runs a render job on the farm at `url`; same checkpoint, rows, events and errors as a local run. */
export async function runRenderJobOnFarm(ctx: JobContext<RenderJobParams>, url: string, options: FarmOptions = {}): Promise<void> {
  const opts = { ...DEFAULTS, ...options };
  const { db } = ctx.project;
  const { filmId, settings } = ctx.params;
  const cp = renderCheckpoint(ctx);
  const done = new Set(cp.done);
  const failed: number[] = [];
  const failures: string[] = [];
  const total = cp.frames.length;
  const todo = cp.frames.filter((f) => !done.has(f.frameId));
  if (todo.length === 0) {
    ctx.progress(1, `${total} frame(s) rendered`);
    return;
  }
  ctx.progress(done.size / Math.max(total, 1), `Render farm ${maskRedisUrl(url)}: hashing the model`);
  const { settings: taskSettings, embedding, settingsHash } = taskSettingsFor(ctx);
  // Unreachable Redis: a clear error now, before anything is queued.
  await checkRedis(url);
  const batch = sha256(`${ctx.project.dir}\0${ctx.jobId}`).slice(0, 16);
  const taskId = (frameId: number, variant: number) => `${batch}-${frameId}-${variant}-${settingsHash.slice(0, 16)}`;
  const queue = new Queue(FARM_QUEUE, { connection: bullConnection(url), prefix: FARM_PREFIX });
  queue.on('error', () => { /* the calls below fail and are retried on the next poll */ });
  const model = settings.model;
  const negative = negativePromptOf(settings);
  const pending = new Map<number, PendingFrame>();
  const byTask = new Map<string, PendingFrame>();
  try {
    // Leftovers of frames written just before a crash (result not yet removed) go first.
    await Promise.all([...done].flatMap((frameId) =>
      Array.from({ length: settings.variants }, (_, v) => queue.remove(taskId(frameId, v)).catch(() => 0))));
    const tasks: { name: string; data: RenderTask; opts: { jobId: string } }[] = [];
    const taskOptions = {
      attempts: opts.attempts, backoff: { type: 'exponential', delay: opts.backoffMs },
      removeOnComplete: { age: KEEP_SECONDS }, removeOnFail: { age: KEEP_SECONDS },
    };
    for (const f of todo) {
      const description = frameDescription(db, f.frameId);
      if (description === undefined) {
        // Deleted since the job was queued: nothing to render.
        done.add(f.frameId);
        ctx.saveCheckpoint({ ...cp, done: [...done], failed });
        continue;
      }
      const prompt = framePrompt(db, filmId, description);
      const frame: PendingFrame = { frameId: f.frameId, prompt, taskIds: [], images: new Map() };
      for (let v = 0; v < settings.variants; v++) {
        const seed = ctx.params.seed !== undefined ? (ctx.params.seed + v * 100_003) % 2 ** 32 : seedFor(settings, f.filmIndex, v);
        const id = taskId(f.frameId, v);
        const data = parseMessage(RenderTask, {
          v: PROTOCOL_VERSION, batch, frameId: f.frameId, variant: v, seed, prompt, negativePrompt: negative,
          settings: taskSettings, settingsHash, embedding, queuedAt: Date.now(),
        }, 'render task');
        tasks.push({ name: TASK_NAME, data, opts: { jobId: id } });
        frame.taskIds.push(id);
        byTask.set(id, frame);
      }
      pending.set(f.frameId, frame);
    }
    // An id already in the queue (queued before a restart, or finished meanwhile) is not added again.
    for (let i = 0; i < tasks.length; i += 500) {
      await queue.addBulk(tasks.slice(i, i + 500).map((t) => ({ ...t, opts: { ...t.opts, ...taskOptions } })));
    }
    ctx.progress(done.size / Math.max(total, 1), `Render farm: ${pending.size} frame(s) queued`);
    const taskById = new Map(tasks.map((t) => [t.opts.jobId, t]));
    const registry = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: (t) => Math.min(100 * t, 2_000) });
    registry.on('error', () => {});
    let workers = 0;
    let lastWorkerCheck = 0;
    try {
      while (pending.size > 0) {
        if (ctx.signal.aborted) break;
        let states: string[];
        const ids = [...byTask.keys()];
        try {
          states = await Promise.all(ids.map((id) => queue.getJobState(id)));
          if (Date.now() - lastWorkerCheck > 2_000) {
            workers = (await listWorkers(registry)).length;
            lastWorkerCheck = Date.now();
          }
        } catch {
          await sleep(opts.pollMs * 4, ctx.signal);
          continue;
        }
        let active = 0;
        for (let i = 0; i < ids.length; i++) {
          const state = states[i];
          const frame = byTask.get(ids[i]);
          if (!frame || !pending.has(frame.frameId)) continue;
          if (state === 'active') active++;
          if (state === 'unknown') {
            // Gone from Redis without being written (Redis restarted without persistence, queue emptied): queue it again.
            const t = taskById.get(ids[i])!;
            await queue.add(t.name, t.data, { ...t.opts, ...taskOptions }).catch(() => undefined);
          } else if (state === 'completed' || state === 'failed') {
            const job = await Job.fromId(queue, ids[i]);
            if (!job) continue;
            if (state === 'completed') {
              const result = checkedResult(job, frame, settingsHash);
              if (typeof result === 'string') {
                finishFrame(frame, result);
              } else {
                const png = Buffer.from(result.pngBase64, 'base64');
                const stored = await storeImage(ctx.project, png, 'image/png');
                frame.images.set(result.variant, { variant: result.variant, seed: result.seed, sha256: stored.sha256 });
                if (frame.images.size === settings.variants) finishFrame(frame, null);
              }
            } else {
              finishFrame(frame, `variant ${ids[i].split('-')[2]}: ${job.failedReason} (after ${job.attemptsMade} attempt(s))`);
            }
          }
        }
        const written = done.size + failed.length;
        const partial = [...pending.values()].reduce((sum, f) => sum + f.images.size / settings.variants, 0);
        ctx.progress(Math.min(1, (written + partial) / Math.max(total, 1)),
          `Render farm: frame ${written}/${total} · ${workers} worker(s) · ${active} rendering`);
        if (pending.size > 0) await sleep(opts.pollMs, ctx.signal);
      }
    } finally {
      registry.disconnect();
    }
    if (ctx.signal.aborted) {
      // Cancelled (not merely stopped): take the job's queued tasks off the queue; what is in hand finishes and stays for a resume.
      if (getJob(db, ctx.jobId)?.status === 'cancelled') await Promise.all([...byTask.keys()].map((id) => queue.remove(id).catch(() => 0)));
      return;
    }
  } finally {
    await queue.close();
  }
  if (failed.length > 0) {
    throw new AppError('render.frames_failed', `${failed.length} of ${total} frame(s) failed to render on the render farm (frame ids ${failed.slice(0, 20).join(', ')}${failed.length > 20 ? ', …' : ''}): ${failures[0]}; resume the job to retry them`,
      { failed });
  }

  /** Writes the frame once (a frame already in the checkpoint is skipped) and removes its tasks' results. */
  function finishFrame(frame: PendingFrame, error: string | null): void {
    pending.delete(frame.frameId);
    for (const id of frame.taskIds) byTask.delete(id);
    if (!done.has(frame.frameId)) {
      recordFrame(ctx, cp, done, failed, {
        frameId: frame.frameId, prompt: frame.prompt, model, error: error ? new Error(error) : null,
        images: error ? [] : [...frame.images.values()].sort((a, b) => a.variant - b.variant),
      });
      if (error) failures.push(`frame ${frame.frameId}: ${error}`);
    }
    void Promise.all(frame.taskIds.map((id) => queue.remove(id).catch(() => 0)));
  }
}

/** The worker's answer, checked against the task it answers; a string says why it is not usable. */
function checkedResult(job: Job, frame: PendingFrame, settingsHash: string): RenderResult | string {
  let result: RenderResult;
  try {
    result = parseMessage(RenderResult, job.returnvalue, `render result ${job.id}`);
  } catch (err) {
    return (err as Error).message;
  }
  const task = job.data as RenderTask;
  if (result.frameId !== frame.frameId || result.variant !== task.variant || result.seed !== task.seed || result.settingsHash !== settingsHash) {
    return `render result ${job.id} answers another task (frame ${result.frameId}, variant ${result.variant}, seed ${result.seed})`;
  }
  if (sha256(Buffer.from(result.pngBase64, 'base64')) !== result.pngSha256) return `render result ${job.id}: PNG bytes do not match their hash`;
  return result;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The render job's farm route for the composition root: renders on the farm whenever a URL resolves (see config.ts). */
export function farmRoute(explicitUrl?: string | null, options: FarmOptions = {}): FarmRoute {
  return (ctx) => {
    const url = resolveFarmUrl(explicitUrl);
    return url ? runRenderJobOnFarm(ctx, url, options) : null;
  };
}
