import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { FarmStatus } from '../../shared/api/methods-farm';
import { maskRedisUrl } from './connection';
import { readFarmSettings } from './config';
import { FARM_PREFIX, FARM_QUEUE } from './messages';
import { listWorkers } from './registry';

/** What the jobs view shows of the farm: the workers alive now and the queue's counts. Never throws for an unreachable Redis. */
export async function farmStatus(env: NodeJS.ProcessEnv = process.env): Promise<FarmStatus> {
  const fromEnv = env.DREAMFRAME_REDIS?.trim() || null;
  const url = fromEnv ?? readFarmSettings(env).redis;
  const status: FarmStatus = {
    url: url && maskRedisUrl(url), source: fromEnv ? 'env' : url ? 'settings' : null, reachable: false, error: null, workers: [], queue: null,
  };
  if (!url) return status;
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    const now = Date.now();
    status.workers = (await listWorkers(client)).map((w) => ({
      id: w.id, name: w.name, host: w.host, device: w.device, provider: w.provider, framesPerMinute: w.framesPerMinute,
      framesDone: w.framesDone, framesFailed: w.framesFailed, current: w.current, stopping: w.stopping, lastSeenMs: Math.max(0, now - w.seenAt),
    }));
    const queue = new Queue(FARM_QUEUE, { connection: client, prefix: FARM_PREFIX });
    try {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
      status.queue = { waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0 };
    } finally {
      await queue.close();
    }
    status.reachable = true;
  } catch (err) {
    status.error = `Redis at ${maskRedisUrl(url)} is unreachable (${(err as Error).message})`;
  } finally {
    client.disconnect();
  }
  return status;
}
