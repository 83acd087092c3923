import { readdirSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, extname, isAbsolute, join } from 'node:path';
import type { ListDirOutput } from '../../shared/api/methods-fs';
import { AppError } from '../../shared/errors';

/** Names listed per kind at most: a picker is for choosing, not for dumping a huge folder. */
const MAX_ENTRIES = 2000;

/**
 * One folder for a picker: its sub-folders and (when asked) files with the given extensions, sorted, hidden ones
 * left out. Refuses relative paths, NUL bytes, paths that do not exist and files, naming the path.
 */
export function listDir(path: string, extensions: readonly string[] = []): ListDirOutput {
  const wanted = path === '' ? homedir() : path;
  if (wanted.includes('\0')) throw new AppError('invalid_input', 'path: contains a NUL byte', { path });
  if (!isAbsolute(wanted)) throw new AppError('invalid_input', `path: "${wanted}" is not an absolute path`, { path: wanted });
  let real: string;
  try {
    real = realpathSync(wanted);
  } catch {
    throw new AppError('not_found', `Folder ${wanted} does not exist`, { path: wanted });
  }
  if (!statSync(real).isDirectory()) throw new AppError('not_a_folder', `${wanted} is a file, not a folder`, { path: wanted });
  let entries;
  try {
    entries = readdirSync(real, { withFileTypes: true });
  } catch (err) {
    throw new AppError('fs.unreadable', `Cannot read folder ${real}: ${(err as Error).message}`, { path: real });
  }
  const exts = new Set(extensions.map((e) => e.toLowerCase()));
  const dirs: string[] = [];
  const files: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      try {
        const target = statSync(join(real, e.name));
        isDir = target.isDirectory();
        isFile = target.isFile();
      } catch {
        continue; // a dangling link leads nowhere to pick
      }
    }
    if (isDir) dirs.push(e.name);
    else if (isFile && exts.has(extname(e.name).toLowerCase())) files.push(e.name);
  }
  const byName = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' });
  dirs.sort(byName);
  files.sort(byName);
  const parent = dirname(real);
  return {
    path: real,
    parent: parent === real ? null : parent,
    dirs: dirs.slice(0, MAX_ENTRIES),
    files: files.slice(0, MAX_ENTRIES),
    truncated: dirs.length > MAX_ENTRIES || files.length > MAX_ENTRIES,
  };
}
