import { createHash } from 'node:crypto';
import { existsSync, lstatSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { AppError } from '../../shared/errors';
import { makeDirs } from '../util/make-dirs';
import { checkExportTarget } from './target-check';

/**
 * Every file an export writes goes through here: names from the project (film titles, ids) are
 * reduced to one harmless path segment each, and the joined path must stay inside the export
 * folder, also after resolving symbolic links of the folders on the way.
 */

const MAX_SEGMENT_BYTES = 96;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/** Cuts a string to at most `max` UTF-8 bytes without splitting a code point. */
function truncateUtf8(s: string, max: number): string {
  if (Buffer.byteLength(s, 'utf8') <= max) return s;
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const b = Buffer.byteLength(ch, 'utf8');
    if (bytes + b > max) break;
    out += ch;
    bytes += b;
  }
  return out;
}

/**
 * One file or folder name from arbitrary text: separators, NUL and control characters, and
 * characters Windows refuses become "_"; leading dots (hidden files, "..") and trailing dots or
 * spaces are dropped; reserved device names get a prefix; long names are cut on a code point and
 * keep a short hash so two long names that share a prefix stay distinct.
 */
export function safeSegment(name: string, fallback = '_'): string {
  let s = name.normalize('NFC')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f<>:"/\\|?*]/g, '_')
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '');
  if (!s) s = fallback;
  if (WINDOWS_RESERVED.test(s)) s = `_${s}`;
  if (Buffer.byteLength(s, 'utf8') > MAX_SEGMENT_BYTES) {
    const hash = createHash('sha256').update(s).digest('hex').slice(0, 8);
    const dot = s.lastIndexOf('.');
    const ext = dot > 0 && s.length - dot <= 8 ? s.slice(dot) : '';
    s = `${truncateUtf8(s.slice(0, s.length - ext.length), MAX_SEGMENT_BYTES - 9 - ext.length)}-${hash}${ext}`;
  }
  return s;
}

/** A readable lower-case slug (letters and digits of any script, "-" between words). */
export function slugify(text: string, maxBytes = 48): string {
  const slug = text.normalize('NFC').toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
  return truncateUtf8(slug, maxBytes).replace(/-+$/, '');
}

/** True when `target` is `root` itself or lies below it. */
function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** The real location of `path`, also when its last parts do not exist yet (resolved through the nearest existing folder). */
export function realLocation(path: string): string {
  const abs = resolve(path);
  const missing: string[] = [];
  let current = abs;
  for (;;) {
    try {
      return resolve(realpathSync(current), ...missing.reverse());
    } catch {
      const parent = dirname(current);
      if (parent === current) return abs;
      missing.push(basename(current));
      current = parent;
    }
  }
}

/**
 * Refuses export folders that would put files where they do not belong: a relative path (whose meaning
 * depends on the cwd of whichever process runs the export — in serve mode the server's, not the user's),
 * and any folder inside the project (its root, `assets/`, anything below), also through a symbolic link.
 */
export function checkExportFolder(outDir: string, projectDir: string): void {
  if (!isAbsolute(outDir)) {
    throw new AppError('export_relative_folder',
      `Export folder "${outDir}" is a relative path; give an absolute path (the CLI resolves --out against the folder you run it in)`, { outDir });
  }
  const project = realLocation(projectDir);
  const target = realLocation(outDir);
  if (isInside(project, target)) {
    throw new AppError('export_inside_project',
      `${target} is inside the project folder ${project}; choose an export folder outside the project`, { outDir: target, project });
  }
  checkExportTarget(outDir);
}

/** The export folder: holds every file of one export and nothing is written outside it. */
export class ExportFolder {
  readonly root: string;

  constructor(dir: string) {
    if (!dir || dir.includes('\0')) throw new AppError('export_bad_folder', `Export folder ${JSON.stringify(dir)} is not a valid path`, { dir });
    // Also here, so a job queued before this check existed (and resumed at start-up) is refused, not run.
    checkExportTarget(dir);
    makeDirs(resolve(dir));
    this.root = realpathSync(resolve(dir));
  }

  /**
   * Absolute path of a file below the root, from relative "/"-separated parts; each part is
   * sanitised with safeSegment. Creates the parent folders and checks that their real location is
   * still inside the root (a symlinked sub-folder pointing elsewhere is refused).
   */
  path(relPath: string): string {
    const parts = relPath.split('/').filter((p) => p.length > 0).map((p) => safeSegment(p));
    if (parts.length === 0) throw new AppError('export_bad_path', `Empty export path ${JSON.stringify(relPath)}`, { relPath });
    const target = resolve(this.root, ...parts);
    if (!isInside(this.root, target) || target === this.root) {
      throw new AppError('export_path_escape', `Export path ${JSON.stringify(relPath)} leaves the export folder`, { relPath });
    }
    const parent = dirname(target);
    makeDirs(parent);
    const realParent = realpathSync(parent);
    if (!isInside(this.root, realParent)) {
      throw new AppError('export_path_escape', `Export path ${JSON.stringify(relPath)} resolves outside the export folder (${realParent})`, { relPath, realParent });
    }
    if (existsSync(target) && !isInside(this.root, realpathSync(target))) {
      throw new AppError('export_path_escape', `Export file ${JSON.stringify(relPath)} is a link leading outside the export folder`, { relPath });
    }
    return target;
  }

  /**
   * Absolute path of a regular file an export may have written, for removing it: null unless
   * `relPath` is already in the form exports write (every segment unchanged by safeSegment, so a
   * tampered manifest cannot name "../x" or reach another file by sanitising), the file exists, is
   * not a link, and its folder really lies inside the root. Creates nothing.
   */
  existingFile(relPath: string): string | null {
    const parts = relPath.split('/');
    if (parts.length === 0 || parts.some((p) => p.length === 0 || safeSegment(p) !== p)) return null;
    const target = resolve(this.root, ...parts);
    if (!isInside(this.root, target) || target === this.root) return null;
    let stat;
    try {
      stat = lstatSync(target);
    } catch {
      return null;
    }
    if (!stat.isFile()) return null;
    return isInside(this.root, realpathSync(dirname(target))) ? target : null;
  }

  /** The "/"-separated form `path(relPath)` writes to (each segment sanitised), without creating anything. */
  canonical(relPath: string): string {
    return relPath.split('/').filter((p) => p.length > 0).map((p) => safeSegment(p)).join('/');
  }

  /** Whether anything (a file, a folder, even a dangling link) is at `relPath`; creates nothing. */
  occupied(relPath: string): boolean {
    try {
      lstatSync(resolve(this.root, ...this.canonical(relPath).split('/')));
      return true;
    } catch {
      return false;
    }
  }

  /** The "/"-separated path relative to the root, as written into data files. */
  relative(absPath: string): string {
    return relative(this.root, absPath).split(sep).join('/');
  }
}
