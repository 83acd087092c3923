import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { relative } from 'node:path';
import type { ModelSource } from './types';

/**
 * The identity of an import's source: for one file, the plain sha256 of its bytes (the hash model-sharing sites
 * show); for several (a diffusers folder, or a checkpoint plus --vae), the sha256 of a manifest with one line
 * `<sha256 of the file>  <path relative to root>` per file, in the order given. Streamed, never whole in memory.
 */

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function sourceHash(files: string[], root: string): Promise<string> {
  if (files.length === 1) return sha256File(files[0]);
  const manifest = createHash('sha256');
  for (const f of files) manifest.update(`${await sha256File(f)}  ${relative(root, f).split('\\').join('/')}\n`);
  return manifest.digest('hex');
}

/** What a ModelSource says of the files it was read from: the files, their identity ('' when `skipHash`) and total size. */
export async function sourceIdentity(files: string[], root: string, skipHash: boolean | undefined): Promise<Pick<ModelSource, 'sourceFiles' | 'sourceHash' | 'totalBytes'>> {
  return {
    sourceFiles: files,
    sourceHash: skipHash ? '' : await sourceHash(files, root),
    totalBytes: files.reduce((a, f) => a + statSync(f).size, 0),
  };
}
