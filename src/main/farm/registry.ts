import type { Redis } from 'ioredis';
import { WORKER_KEY_PREFIX, WorkerHeartbeat } from './messages';

/** The live workers: every heartbeat key still alive (a worker that stopped beating expires within seconds). */
export async function listWorkers(client: Redis): Promise<WorkerHeartbeat[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${WORKER_KEY_PREFIX}*`, 'COUNT', 200);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await client.mget(keys);
  const out: WorkerHeartbeat[] = [];
  for (const v of values) {
    if (!v) continue;
    // A heartbeat another build wrote in another shape is skipped, not trusted.
    let json: unknown;
    try { json = JSON.parse(v); } catch { continue; }
    const parsed = WorkerHeartbeat.safeParse(json);
    if (parsed.success) out.push(parsed.data);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}
