import { z } from 'zod';

/**
 * The render farm (docs/farm.md): its live workers and queue for the jobs view, and the farm's Redis URL setting.
 * Passwords in the URL never leave the main process: the URL comes back masked.
 */

export const FarmWorker = z.object({
  id: z.string(),
  name: z.string(),
  host: z.string(),
  device: z.string(),
  provider: z.string(),
  framesPerMinute: z.number(),
  framesDone: z.number().int(),
  framesFailed: z.number().int(),
  /** The frame in hand (frame id, variant, denoising step), or null when idle. */
  current: z.object({ frameId: z.number().int(), variant: z.number().int(), step: z.number().int(), steps: z.number().int() }).nullable(),
  stopping: z.boolean(),
  /** Milliseconds since its last heartbeat. */
  lastSeenMs: z.number(),
});
export type FarmWorker = z.infer<typeof FarmWorker>;

export const FarmQueue = z.object({
  waiting: z.number().int(), active: z.number().int(), delayed: z.number().int(),
  completed: z.number().int(), failed: z.number().int(),
});

export const FarmStatus = z.object({
  /** Masked Redis URL render jobs of this process use now, or null: no farm, jobs render here. */
  url: z.string().nullable(),
  /** Where that URL comes from. */
  source: z.enum(['env', 'settings']).nullable(),
  reachable: z.boolean(),
  /** Why the farm could not be asked (unreachable Redis), or null. */
  error: z.string().nullable(),
  workers: z.array(FarmWorker),
  queue: FarmQueue.nullable(),
});
export type FarmStatus = z.infer<typeof FarmStatus>;

export const FarmSettingsView = z.object({
  /** The saved URL with its password masked, or null. */
  redis: z.string().nullable(),
  /** DREAMFRAME_REDIS is set: it wins over the saved setting. */
  envOverride: z.boolean(),
});
export type FarmSettingsView = z.infer<typeof FarmSettingsView>;

const Empty = z.object({}).strict();

export const farmMethods = {
  'farm.workers': { input: Empty, output: FarmStatus },
  'farm.settings.get': { input: Empty, output: FarmSettingsView },
  /** Saves the farm URL (null or '' = no farm: render here); refuses what is not a redis:// or rediss:// URL. */
  'farm.settings.set': {
    input: z.object({ redis: z.string().max(2000).nullable() }).strict(),
    output: FarmSettingsView,
  },
};
