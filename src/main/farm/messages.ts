import { z } from 'zod';
import { SCHEDULERS } from '../../shared/api/methods-render';
import { AppError } from '../../shared/errors';

/**
 * The render farm's wire format: what a coordinator puts on the BullMQ queue (a task: one frame × variant)
 * and what a worker returns (a result), plus the heartbeat each worker keeps in Redis. Both sides parse every
 * message with these schemas. A task names models by content hash and carries the learned embedding's bytes,
 * so nothing in it refers to a file, folder or secret of the coordinator's machine.
 */

/** BullMQ queue name and Redis key prefix shared by coordinators and workers. */
export const FARM_QUEUE = 'render';
export const FARM_PREFIX = 'dreamframe';
/** Heartbeat keys: `${WORKER_KEY_PREFIX}<worker id>`, JSON, expiring unless refreshed. */
export const WORKER_KEY_PREFIX = `${FARM_PREFIX}:workers:`;
export const TASK_NAME = 'render.frame';
/** Bumped when a task or result changes shape; a worker refuses versions it does not know. */
export const PROTOCOL_VERSION = 1;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256');

/** The settings a frame renders with, paths replaced by content hashes. */
export const TaskSettings = z.object({
  modelHash: Sha256,
  refinerHash: Sha256.nullable(),
  refinerStart: z.number().gt(0).lt(1),
  scheduler: z.enum(SCHEDULERS),
  steps: z.number().int().min(1).max(500),
  guidance: z.number().min(0).max(50),
  width: z.number().int().min(8).max(4096),
  height: z.number().int().min(8).max(4096),
}).strict();
export type TaskSettings = z.infer<typeof TaskSettings>;

export const TaskEmbedding = z.object({
  /** The word of the prompts the vectors stand for (the film's style keyword; '' = the file's own keyword). */
  keyword: z.string().max(200),
  sha256: Sha256,
  /** The embedding file's bytes, base64 (any format style/formats reads; detected from the content). */
  base64: z.string().max(64 * 1024 * 1024),
}).strict();
export type TaskEmbedding = z.infer<typeof TaskEmbedding>;

export const RenderTask = z.object({
  v: z.literal(PROTOCOL_VERSION),
  /** Opaque id of the coordinator's job (a hash, never a path). */
  batch: z.string().regex(/^[0-9a-f]{8,64}$/),
  frameId: z.number().int().positive(),
  variant: z.number().int().min(0).max(15),
  seed: z.number().int().min(0).max(2 ** 32 - 1),
  prompt: z.string().max(20_000),
  negativePrompt: z.string().max(20_000),
  settings: TaskSettings,
  /** Hash of `settings` + embedding hash + keyword: identifies what the frame renders with. */
  settingsHash: Sha256,
  embedding: TaskEmbedding.nullable(),
  /** When the coordinator queued it (ms since epoch), for the queue-overhead measurement. */
  queuedAt: z.number().int().nonnegative(),
}).strict();
export type RenderTask = z.infer<typeof RenderTask>;

export const RenderResult = z.object({
  v: z.literal(PROTOCOL_VERSION),
  frameId: z.number().int().positive(),
  variant: z.number().int().min(0),
  seed: z.number().int().min(0),
  settingsHash: Sha256,
  modelHash: Sha256,
  pngBase64: z.string().min(1),
  pngSha256: Sha256,
  provider: z.string().max(40),
  worker: z.string().max(200),
  timings: z.object({
    /** Model (re)load for this task; 0 when the worker's loaded pipeline was reused. */
    loadMs: z.number().nonnegative(),
    renderMs: z.number().nonnegative(),
    startedAt: z.number().int().nonnegative(),
    finishedAt: z.number().int().nonnegative(),
  }).strict(),
}).strict();
export type RenderResult = z.infer<typeof RenderResult>;

export const WorkerHeartbeat = z.object({
  id: z.string().min(1).max(200),
  name: z.string().min(1).max(200),
  host: z.string().max(255),
  pid: z.number().int(),
  device: z.string().max(100),
  provider: z.string().max(40),
  concurrency: z.number().int().min(1),
  startedAt: z.number().int(),
  seenAt: z.number().int(),
  framesDone: z.number().int().nonnegative(),
  framesFailed: z.number().int().nonnegative(),
  /** Frames finished in the last minute (a sliding window). */
  framesPerMinute: z.number().nonnegative(),
  /** The task in hand: frame id, variant, step. */
  current: z.object({ frameId: z.number().int(), variant: z.number().int(), step: z.number().int(), steps: z.number().int() }).nullable(),
  /** Content hashes of the models this worker can render with. */
  models: z.array(z.string()).max(10_000),
  stopping: z.boolean(),
}).strict();
export type WorkerHeartbeat = z.infer<typeof WorkerHeartbeat>;

/** Parses a message, naming what it was and which field is wrong. */
export function parseMessage<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new AppError('farm.invalid_message', `invalid ${what}: ${issue.path.join('.') || '(root)'}: ${issue.message}`, { what });
}
