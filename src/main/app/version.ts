import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resourcesDir } from '../util/resources';

/** The app's version from package.json ("0.0.0" when it cannot be read). A leaf: anything may import it. */
export function appVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(resourcesDir(), '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
