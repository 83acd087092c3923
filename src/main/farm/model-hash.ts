import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { AppError } from '../../shared/errors';
import { MANIFEST_FILE } from '../models/library';
import { sha256FileSync } from '../util/file-hash';

/**
 * A model folder's content hash, the name a render task gives its model. It covers every file of the folder
 * (the ONNX graphs and their external weights — what onnx/model-hash.ts hashes per file — plus configs,
 * tokenizer and scheduler files, which change the images too), by relative path and content, so a copy of
 * the same folder on another machine has the same hash and any other model has another one. Dot files and the
 * model library's manifest (which records when and from where a model was imported) are left out.
 * Hashing a multi-GB folder takes seconds: results are remembered per process while no file's size or
 * modification time changes.
 */

const memo = new Map<string, { stamp: string; hash: string }>();

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || (d === dir && entry.name === MANIFEST_FILE)) continue;
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(full);
    }
  };
  walk(dir);
  return out.sort();
}

export function modelFolderHash(dir: string): string {
  let files: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
    files = listFiles(dir);
  } catch (err) {
    throw new AppError('farm.model_unreadable', `Model folder ${dir} cannot be read (${(err as Error).message})`, { path: dir });
  }
  if (files.length === 0) throw new AppError('farm.model_unreadable', `Model folder ${dir} is empty`, { path: dir });
  const stamp = files.map((f) => { const s = statSync(f); return `${f}\0${s.size}\0${s.mtimeMs}`; }).join('\n');
  const known = memo.get(dir);
  if (known?.stamp === stamp) return known.hash;
  const h = createHash('sha256');
  for (const f of files) h.update(`${relative(dir, f).split(sep).join('/')}\0${sha256FileSync(f)}\n`);
  const hash = h.digest('hex');
  memo.set(dir, { stamp, hash });
  return hash;
}
