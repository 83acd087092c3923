import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { RenderSettings } from '../../shared/api/methods-render';
import { AppError } from '../../shared/errors';
import type { ProviderRequest } from '../diffusion/runtime/providers';
import { loadKeyframeRenderer, type KeyframeRenderer } from '../render/keyframe-renderer';
import { writeFileAtomic } from '../util/atomic-write';
import { bullConnection, maskRedisUrl } from './connection';
import {
  FARM_PREFIX, FARM_QUEUE, PROTOCOL_VERSION, RenderResult, RenderTask, WORKER_KEY_PREFIX, WorkerHeartbeat, parseMessage,
} from './messages';
import { ModelIndex } from './model-index';

/**
 * A render-farm worker (`dreamframe worker`): takes render tasks from the BullMQ queue, renders each with the
 * same keyframe renderer as a local render job (render/keyframe-renderer.ts), and returns the PNG with its
 * metadata. The loaded pipeline is kept between tasks that render with the same model and settings. A Redis
 * key with a TTL announces the worker (name, host, device, provider, frames/min, frame in hand). stop() lets the
 * frame in hand finish; a Redis restart is ridden out by the clients' reconnects.
 */

export interface WorkerOptions {
  redis: string;
  name?: string;
  provider?: ProviderRequest;
  /** GPU index; the worker restricts itself to it (CUDA_VISIBLE_DEVICES) before opening any session. */
  device?: number | null;
  modelsDir: string;
  concurrency?: number;
  /** Prepared encoders and received embeddings. */
  cacheDir: string;
  /** A task whose worker stops renewing its lock this long is given to another worker (BullMQ lockDuration). */
  lockDurationMs?: number;
  /** How often workers look for such stalled tasks. */
  stalledIntervalMs?: number;
  heartbeatMs?: number;
  log?: (line: string) => void;
}

interface LoadedEntry { key: string; renderer: Promise<KeyframeRenderer>; users: number }

export const DEFAULT_LOCK_MS = 120_000;
export const DEFAULT_STALLED_MS = 30_000;

export class RenderWorker {
  readonly id = randomUUID();
  readonly name: string;
  readonly host = hostname();
  private readonly opts: Required<Omit<WorkerOptions, 'device' | 'name'>> & { device: number | null };
  private models!: ModelIndex;
  private worker: Worker | null = null;
  private heartbeatClient: Redis | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readonly loaded = new Map<string, LoadedEntry>();
  private readonly finishedAt: number[] = [];
  private framesDone = 0;
  private framesFailed = 0;
  private current: WorkerHeartbeat['current'] = null;
  private provider = 'unknown';
  private stopping = false;
  private readonly startedAt = Date.now();

  constructor(options: WorkerOptions) {
    this.name = options.name ?? `${hostname()}-${process.pid}`;
    // Options left undefined (flags not given) keep their defaults.
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as WorkerOptions;
    this.opts = {
      provider: 'cpu', concurrency: 1, lockDurationMs: DEFAULT_LOCK_MS, stalledIntervalMs: DEFAULT_STALLED_MS,
      heartbeatMs: 2_000, log: () => {}, ...given, device: options.device ?? null,
    };
    this.provider = this.opts.provider;
  }

  /** Indexes the models, announces the worker and starts taking tasks. */
  async start(): Promise<void> {
    if (this.opts.device !== null) process.env.CUDA_VISIBLE_DEVICES = String(this.opts.device);
    this.models = ModelIndex.scan(this.opts.modelsDir, (m) => this.opts.log(`model ${m.hash.slice(0, 12)} ${m.dir}`));
    if (this.models.size === 0) this.opts.log(`no model folders under ${this.opts.modelsDir}: every task will be refused`);
    this.heartbeatClient = new Redis(this.opts.redis, { maxRetriesPerRequest: 1, retryStrategy: (t) => Math.min(100 * t, 2_000) });
    this.heartbeatClient.on('error', () => { /* reconnects on its own; the worker logs BullMQ's errors */ });
    this.worker = new Worker(FARM_QUEUE, (job) => this.process(job), {
      connection: bullConnection(this.opts.redis),
      prefix: FARM_PREFIX,
      concurrency: this.opts.concurrency,
      lockDuration: this.opts.lockDurationMs,
      stalledInterval: this.opts.stalledIntervalMs,
      // A task may be found stalled twice (two workers died under it) before it counts as failed.
      maxStalledCount: 2,
      autorun: true,
    });
    let lastError = '';
    this.worker.on('error', (err) => {
      // Redis going away shows as a stream of connection errors: log each kind once.
      if (err.message !== lastError) this.opts.log(`redis ${maskRedisUrl(this.opts.redis)}: ${err.message}`);
      lastError = err.message;
    });
    this.worker.on('ready', () => { lastError = ''; });
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.opts.heartbeatMs);
    await this.heartbeat();
    this.opts.log(`worker ${this.name} on ${this.host} takes tasks from ${maskRedisUrl(this.opts.redis)} (${this.models.size} model(s), provider ${this.opts.provider})`);
  }

  /** Takes no new task, lets the ones in hand finish and return their results, then disconnects. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.heartbeat();
    await this.worker?.close();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    for (const entry of this.loaded.values()) await entry.renderer.then((r) => r.release(), () => undefined);
    this.loaded.clear();
    await this.heartbeatClient?.del(`${WORKER_KEY_PREFIX}${this.id}`).catch(() => 0);
    this.heartbeatClient?.disconnect();
  }

  private framesPerMinute(): number {
    const cutoff = Date.now() - 60_000;
    while (this.finishedAt.length && this.finishedAt[0] < cutoff) this.finishedAt.shift();
    const window = Math.min(60_000, Date.now() - this.startedAt) / 60_000;
    return window > 0 ? this.finishedAt.length / Math.max(window, 1 / 6) : 0;
  }

  private async heartbeat(): Promise<void> {
    if (!this.heartbeatClient) return;
    const beat: WorkerHeartbeat = {
      id: this.id, name: this.name, host: this.host, pid: process.pid,
      device: this.opts.device === null ? (this.opts.provider === 'cpu' ? 'cpu' : 'default') : `gpu ${this.opts.device}`,
      provider: this.provider, concurrency: this.opts.concurrency, startedAt: this.startedAt, seenAt: Date.now(),
      framesDone: this.framesDone, framesFailed: this.framesFailed, framesPerMinute: Math.round(this.framesPerMinute() * 100) / 100,
      current: this.current, models: this.models?.hashes ?? [], stopping: this.stopping,
    };
    try {
      await this.heartbeatClient.set(`${WORKER_KEY_PREFIX}${this.id}`, JSON.stringify(WorkerHeartbeat.parse(beat)), 'PX', this.opts.heartbeatMs * 3);
    } catch {
      // Redis away: the next beat after the reconnect announces the worker again.
    }
  }

  /** The model folder a task names, looking again once when it is not known (a model copied in since the start). */
  private modelFolder(hash: string): string | null {
    const found = this.models.folder(hash);
    if (found) return found;
    this.models.rescan();
    return this.models.folder(hash);
  }

  private missingModel(hash: string, what: string): Error {
    return new Error(`worker ${this.name} on ${this.host} has no ${what} with content hash ${hash} (its models folder ${this.opts.modelsDir} holds ${this.models.size} model(s)); it renders with no other model`);
  }

  private embeddingFile(task: RenderTask): string | null {
    if (!task.embedding) return null;
    const bytes = Buffer.from(task.embedding.base64, 'base64');
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== task.embedding.sha256) throw new UnrecoverableError(`the task's embedding bytes hash to ${sha}, not ${task.embedding.sha256}`);
    const file = join(this.opts.cacheDir, 'embeddings', `${sha}.bin`);
    if (!existsSync(file)) writeFileAtomic(file, bytes);
    return file;
  }

  /**
   * The renderer for these settings: reused while tasks keep the same ones; others are released once no task
   * uses them. The entry counts its user before the load is awaited, so a concurrent task never releases a
   * renderer another task is still loading or using.
   */
  private async acquire(key: string, settings: RenderSettings, keyword: string): Promise<{ entry: LoadedEntry; loadMs: number }> {
    let entry = this.loaded.get(key);
    let loadMs = 0;
    const created = !entry;
    if (!entry) {
      for (const [k, other] of this.loaded) {
        if (other.users === 0) {
          this.loaded.delete(k);
          await (await other.renderer).release();
        }
      }
      entry = {
        key, users: 0,
        renderer: loadKeyframeRenderer(settings, {
          keyword, cacheDir: join(this.opts.cacheDir, 'onnx'), load: { provider: this.opts.provider },
        }),
      };
      this.loaded.set(key, entry);
    }
    entry.users++;
    const t0 = performance.now();
    try {
      await entry.renderer;
    } catch (err) {
      entry.users--;
      if (this.loaded.get(key) === entry) this.loaded.delete(key);
      throw err;
    }
    if (created) loadMs = performance.now() - t0;
    return { entry, loadMs };
  }

  private async process(job: Job): Promise<RenderResult> {
    let task: RenderTask;
    try {
      task = parseMessage(RenderTask, job.data, `render task ${job.id}`);
    } catch (err) {
      // A malformed task fails at once: retrying it elsewhere cannot help.
      throw new UnrecoverableError((err as Error).message);
    }
    const startedAt = Date.now();
    const modelDir = this.modelFolder(task.settings.modelHash);
    try {
      if (!modelDir) throw this.missingModel(task.settings.modelHash, 'model');
      const refinerDir = task.settings.refinerHash ? this.modelFolder(task.settings.refinerHash) : null;
      if (task.settings.refinerHash && !refinerDir) throw this.missingModel(task.settings.refinerHash, 'refiner model');
      const embedding = this.embeddingFile(task);
      const s = task.settings;
      const settings = RenderSettings.parse({
        model: modelDir, refiner: refinerDir, refinerStart: s.refinerStart, scheduler: s.scheduler, steps: s.steps,
        guidance: s.guidance, width: s.width, height: s.height, negativePrompt: task.negativePrompt, embedding,
      });
      const key = `${task.settingsHash}\0${modelDir}\0${refinerDir ?? ''}`;
      const { entry, loadMs } = await this.acquire(key, settings, task.embedding?.keyword ?? '');
      try {
        const renderer = await entry.renderer;
        this.provider = renderer.provider ?? this.provider;
        this.current = { frameId: task.frameId, variant: task.variant, step: 0, steps: s.steps };
        this.opts.log(`task ${job.id}: rendering frame ${task.frameId} variant ${task.variant}`);
        const t0 = performance.now();
        const png = await renderer.render({
          prompt: task.prompt, negativePrompt: task.negativePrompt, seed: task.seed,
          onStep: (step, steps) => { this.current = { frameId: task.frameId, variant: task.variant, step, steps }; },
        });
        const renderMs = performance.now() - t0;
        this.framesDone++;
        this.finishedAt.push(Date.now());
        this.opts.log(`task ${job.id}: rendered frame ${task.frameId} variant ${task.variant} in ${Math.round(renderMs)} ms`);
        return RenderResult.parse({
          v: PROTOCOL_VERSION, frameId: task.frameId, variant: task.variant, seed: task.seed, settingsHash: task.settingsHash,
          modelHash: s.modelHash, pngBase64: png.toString('base64'), pngSha256: createHash('sha256').update(png).digest('hex'),
          provider: this.provider, worker: `${this.name}@${this.host}`,
          timings: { loadMs, renderMs, startedAt, finishedAt: Date.now() },
        });
      } finally {
        entry.users--;
        this.current = null;
      }
    } catch (err) {
      this.framesFailed++;
      this.opts.log(`task ${job.id} (frame ${task.frameId}, variant ${task.variant}) failed: ${(err as Error).message}`);
      if (err instanceof UnrecoverableError) throw err;
      throw err instanceof AppError ? new Error(`${err.message} [${err.code}]`) : err;
    }
  }
}
