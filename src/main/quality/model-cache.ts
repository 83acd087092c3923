import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { hashFileInto } from '../util/file-hash';

/**
 * Where converted metric models live: `--cache`, else $DREAMFRAME_QUALITY_CACHE, else ~/.cache/dreamframe/quality
 * (beside the TI gradient models' ~/.cache/dreamframe/onnx). Entries are named by the content hash of their
 * sources, so a changed checkpoint converts again and an unchanged one never does.
 */
export function qualityCacheDir(explicit?: string): string {
  if (explicit) return resolve(explicit);
  if (process.env.DREAMFRAME_QUALITY_CACHE) return resolve(process.env.DREAMFRAME_QUALITY_CACHE);
  return join(homedir(), '.cache', 'dreamframe', 'quality');
}

/** SHA-256 over the files' contents (and names, so swapped files differ) plus a converter version tag. */
export function hashFiles(files: string[], tag: string): string {
  const h = createHash('sha256');
  h.update(tag);
  for (const file of files) {
    h.update(`\0${file.split(/[\\/]/).pop()}\0`);
    hashFileInto(h, file);
  }
  return h.digest('hex');
}
