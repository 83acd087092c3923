import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

/** Feeds a file's bytes into a running hash in 4 MiB chunks (model weights are never read whole). */
export function hashFileInto(hash: Hash, path: string): void {
  const fd = openSync(path, 'r');
  const chunk = Buffer.allocUnsafe(1 << 22);
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.byteLength, null);
      if (n === 0) break;
      hash.update(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}

/** The SHA-256 of one file, hex. */
export function sha256FileSync(path: string): string {
  const hash = createHash('sha256');
  hashFileInto(hash, path);
  return hash.digest('hex');
}
