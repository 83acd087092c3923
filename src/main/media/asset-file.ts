import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { join, relative, isAbsolute } from 'node:path';
import { AppError } from '../../shared/errors';

/** Larger than any keyframe or style image we write; a bigger "image" is not one of ours. */
export const MAX_MEDIA_BYTES = 256 * 1024 * 1024;

// O_NOFOLLOW refuses a link swapped in after the realpath check; O_NONBLOCK keeps a FIFO from blocking the open.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

function isInside(root: string, file: string): boolean {
  const rel = relative(root, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Reads a file named by a path relative to the project's assets folder, but only when it is a regular file that
 * resolves (after every symlink) inside that folder. A link to /etc/passwd, a folder, a device or a FIFO put in
 * place of an image is refused as not_found, so media never serves bytes from outside the project.
 */
export function readAssetFile(assetsDir: string, relPath: string): Buffer {
  const refuse = (why: string): never => {
    throw new AppError('not_found', `Asset file ${relPath} ${why}`, { relPath });
  };
  let root: string;
  let real: string;
  try {
    root = realpathSync(assetsDir);
    real = realpathSync(join(assetsDir, relPath));
  } catch {
    return refuse('is missing');
  }
  if (!isInside(root, real)) return refuse('resolves outside the project\'s assets folder');
  let fd: number;
  try {
    fd = openSync(real, OPEN_FLAGS);
  } catch {
    return refuse('cannot be opened');
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return refuse('is not a regular file');
    if (stat.size > MAX_MEDIA_BYTES) return refuse(`is larger than ${MAX_MEDIA_BYTES} bytes`);
    const bytes = Buffer.alloc(stat.size);
    let offset = 0;
    while (offset < bytes.length) {
      const n = readSync(fd, bytes, offset, bytes.length - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return bytes.subarray(0, offset);
  } finally {
    closeSync(fd);
  }
}

/** readAssetFile for an optional file (a cache entry): null when it is absent or not a regular file inside assets/. */
export function readAssetFileIfPresent(assetsDir: string, relPath: string): Buffer | null {
  try {
    return readAssetFile(assetsDir, relPath);
  } catch (err) {
    if (err instanceof AppError) return null;
    throw err;
  }
}
