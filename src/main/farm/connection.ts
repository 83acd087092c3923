import type { ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { AppError } from '../../shared/errors';

/**
 * Redis connections of the render farm. The URL may carry a password (redis://:secret@host:6379/0); it is
 * only ever shown masked. BullMQ needs `maxRetriesPerRequest: null` on its connections so blocking calls
 * wait through a Redis restart instead of failing: workers reconnect on their own.
 */

export function parseRedisUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AppError('invalid_input', `Render farm: ${JSON.stringify(maskRedisUrl(url))} is not a Redis URL (expected redis://host:port or rediss://…)`, { url: maskRedisUrl(url) });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new AppError('invalid_input', `Render farm: ${maskRedisUrl(url)} is not a Redis URL (expected redis://host:port or rediss://…)`, { url: maskRedisUrl(url) });
  }
  return parsed;
}

/** The URL with its password replaced by ***, for messages and logs. */
export function maskRedisUrl(url: string): string {
  return url.replace(/^(\w+:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

/** Connection options for BullMQ queues and workers (they open their own clients from these). */
export function bullConnection(url: string): ConnectionOptions {
  parseRedisUrl(url);
  return {
    url,
    maxRetriesPerRequest: null,
    // Keep retrying a restarted Redis, up to one attempt every 2 s.
    retryStrategy: (times: number) => Math.min(100 * times, 2_000),
  };
}

/**
 * Checks that Redis answers PING within `timeoutMs`, without retrying: a coordinator calls this before it
 * queues anything, so an unreachable farm is a clear error at job start and not a job that waits forever.
 */
export async function checkRedis(url: string, timeoutMs = 3_000): Promise<void> {
  parseRedisUrl(url);
  const client = new Redis(url, {
    lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => { /* reported through connect() below */ });
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
  } catch (err) {
    throw new AppError('farm.unreachable', `Render farm: Redis at ${maskRedisUrl(url)} is unreachable (${(err as Error).message}); start redis-server or fix the render farm URL — nothing was queued`,
      { url: maskRedisUrl(url) });
  } finally {
    client.disconnect();
  }
}
