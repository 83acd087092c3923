import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { AppError } from '../../shared/errors';
import { writeFileAtomic } from '../util/atomic-write';

/**
 * The identity of an import source: SHA-256 over its bytes (a file), or over every file of a folder in
 * path order with each relative path and size mixed in. Hashing a 7 GB checkpoint takes seconds, so results
 * are cached by path, size and modification time; a changed file is hashed again.
 */

interface Entry { path: string; rel: string; size: number; mtimeMs: number }

function sourceFiles(source: string): Entry[] {
  const st = statSync(source);
  if (st.isFile()) return [{ path: source, rel: '', size: st.size, mtimeMs: st.mtimeMs }];
  if (!st.isDirectory()) throw new AppError('models.source_invalid', `${source} is neither a file nor a folder`, { source });
  const out: Entry[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const s = statSync(path);
        out.push({ path, rel: relative(source, path).split(sep).join('/'), size: s.size, mtimeMs: s.mtimeMs });
      }
    }
  };
  walk(source);
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

function readCache(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return json && typeof json === 'object' && !Array.isArray(json) ? json as Record<string, string> : {};
  } catch {
    return {}; // a damaged cache only costs a re-hash
  }
}

export interface HashOptions {
  cacheFile?: string;
  signal?: AbortSignal;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

export async function hashSource(source: string, opts: HashOptions = {}): Promise<string> {
  const abs = resolve(source);
  const files = sourceFiles(abs);
  const key = createHash('sha256').update(JSON.stringify([abs, files.map((f) => [f.rel, f.size, f.mtimeMs])])).digest('hex');
  const cache = opts.cacheFile ? readCache(opts.cacheFile) : {};
  if (typeof cache[key] === 'string') return cache[key];

  const total = files.reduce((n, f) => n + f.size, 0);
  const h = createHash('sha256');
  const chunk = Buffer.allocUnsafe(1 << 22);
  let done = 0;
  for (const f of files) {
    if (f.rel !== '') h.update(`${f.rel}\0${f.size}\0`);
    const fh = await open(f.path, 'r');
    try {
      for (;;) {
        if (opts.signal?.aborted) throw new AppError('models.cancelled', 'the import was cancelled while hashing its source');
        const { bytesRead } = await fh.read(chunk, 0, chunk.byteLength, null);
        if (bytesRead === 0) break;
        h.update(chunk.subarray(0, bytesRead));
        done += bytesRead;
        opts.onProgress?.(done, total);
      }
    } finally {
      await fh.close();
    }
  }
  const digest = h.digest('hex');
  if (opts.cacheFile) {
    try {
      writeFileAtomic(opts.cacheFile, JSON.stringify({ ...cache, [key]: digest }));
    } catch {
      // The library folder may be read-only; the hash is still right, only not remembered.
    }
  }
  return digest;
}

/** Bytes of every regular file under `dir` (what the model costs on disk). */
export function folderSize(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += folderSize(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}
