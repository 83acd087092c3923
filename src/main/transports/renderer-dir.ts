import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'dreamframe-studio';

/**
 * The built UI that `serve` hands out: <package root>/out/renderer of the installed app, found from this module's
 * own location (src/main/transports in a checkout run through tsx, out/main in the bundle), never from the current
 * folder: any folder a user happens to start from may hold an out/renderer/ of its own, and a page served from
 * here shares the API's origin and reads the session token.
 */
export function installedRendererDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (isOurPackageRoot(dir)) return join(dir, 'out', 'renderer');
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`Cannot find the ${PACKAGE_NAME} package folder above ${dirname(fileURLToPath(import.meta.url))}`);
}

function isOurPackageRoot(dir: string): boolean {
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) return false;
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}
