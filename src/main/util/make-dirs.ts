import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * `mkdir -p` that reports why it failed. Node's recursive mkdir answers ENOENT when a folder on the way
 * cannot be created (a read-only file system, no permission), which reads as "a path is missing"; this
 * creates the first missing folder alone to get the real error (EROFS, EACCES, ENOSPC, ENOTDIR) and throws that.
 */
export function makeDirs(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    let first = dir;
    while (!existsSync(dirname(first)) && dirname(first) !== first) first = dirname(first);
    mkdirSync(first); // throws the real reason; if it somehow succeeds, the original error stands
    throw err;
  }
}
