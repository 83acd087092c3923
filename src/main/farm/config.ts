import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import { configDir } from '../plot/settings';
import { writeFileAtomic } from '../util/atomic-write';
import { parseRedisUrl } from './connection';

/**
 * Whether render jobs of this process go to a render farm, and which. In order: an explicit URL (`render-film
 * --redis`), DREAMFRAME_REDIS, the app setting (Settings → Render farm; `render-farm.json` in the per-user config
 * folder — an app setting, not a project one, because the URL may hold a password and projects are shared).
 * None of them → render here, as without a farm.
 */

const FarmSettingsFile = z.object({ redis: z.string().max(2000).nullable().default(null) }).strip();
export type FarmSettings = z.infer<typeof FarmSettingsFile>;

export function farmSettingsFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'render-farm.json');
}

export function readFarmSettings(env: NodeJS.ProcessEnv = process.env): FarmSettings {
  const file = farmSettingsFile(env);
  if (!existsSync(file)) return { redis: null };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AppError('farm.settings_invalid', `${file}: invalid JSON (${(err as Error).message})`, { path: file });
  }
  const parsed = FarmSettingsFile.safeParse(raw);
  if (!parsed.success) throw new AppError('farm.settings_invalid', `${file}: "redis" must be a Redis URL or null`, { path: file });
  return parsed.data;
}

export function writeFarmSettings(settings: FarmSettings, env: NodeJS.ProcessEnv = process.env): FarmSettings {
  const redis = settings.redis?.trim() || null;
  if (redis) parseRedisUrl(redis);
  writeFileAtomic(farmSettingsFile(env), `${JSON.stringify({ redis }, null, 2)}\n`);
  return { redis };
}

/** The render farm's Redis URL for a render job starting now, or null to render locally. */
export function resolveFarmUrl(explicit?: string | null, env: NodeJS.ProcessEnv = process.env): string | null {
  const url = explicit?.trim() || env.DREAMFRAME_REDIS?.trim() || readFarmSettings(env).redis;
  return url || null;
}
