import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write';

/** Remembers the last opened project folder in the user-data directory. */
export function readLastProject(userData: string): string | null {
  try {
    const data = JSON.parse(readFileSync(join(userData, 'recent.json'), 'utf8')) as { last?: unknown };
    return typeof data.last === 'string' && existsSync(join(data.last, 'project.sqlite')) ? data.last : null;
  } catch {
    return null;
  }
}

export function writeLastProject(userData: string, dir: string): void {
  writeFileAtomic(join(userData, 'recent.json'), JSON.stringify({ last: dir }, null, 2));
}
