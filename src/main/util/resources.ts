import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The app's resources/ folder: beside package.json in a checkout, next to the bundle in a built app.
 * DREAMFRAME_RESOURCES overrides (packaged builds set it to process.resourcesPath).
 */
export function resourcesDir(): string {
  if (process.env.DREAMFRAME_RESOURCES) return resolve(process.env.DREAMFRAME_RESOURCES);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'resources', 'sample'))) return join(dir, 'resources');
    dir = dirname(dir);
  }
  throw new Error('Cannot find the resources/ folder; set DREAMFRAME_RESOURCES');
}
