import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { ExportFormat } from '../../shared/api/methods-export';
import type { ExportFolder } from './safe-paths';

/**
 * Re-exporting into a folder removes what earlier exports wrote there and this one no longer
 * produces (clips and subtitles of subchapters that lost their frames, files of films no longer
 * exported or renamed). Only files we can prove we wrote are candidates: the files the previous
 * manifest of the same format lists and the clips the clip state file records, each with its
 * sha256. A candidate is removed only when
 *  - this export does not keep it and no other format's manifest in the folder lists it,
 *  - its path is one an export writes (canonical, inside the folder, a regular file, no link), and
 *  - its bytes still have the recorded sha256 (a copy someone edited since stays, and is reported).
 * Files nobody recorded are never touched, so a curator's own files in the folder stay.
 */

export interface OwnedFile {
  path: string;
  sha256: string;
}

export interface PruneResult {
  /** Paths removed, "/"-separated relative to the export folder, sorted. */
  removed: string[];
  /** Stale paths left in place, with the reason. */
  kept: { path: string; reason: string }[];
}

/** The part of a manifest pruning relies on; anything else in it may be missing or malformed. */
const ManifestFiles = z.object({ files: z.array(z.object({ path: z.string(), sha256: z.string() })) });

export type ManifestRead = { state: 'missing' } | { state: 'invalid'; file: string } | { state: 'ok'; files: OwnedFile[] };

/** The file list of a manifest in the folder, telling a missing manifest from an unreadable one. */
export function readManifestFiles(folder: ExportFolder, name: string): ManifestRead {
  const file = folder.existingFile(name);
  if (!file) return { state: 'missing' };
  try {
    const parsed = ManifestFiles.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? { state: 'ok', files: parsed.data.files } : { state: 'invalid', file: name };
  } catch {
    return { state: 'invalid', file: name };
  }
}

/** The export's own state and manifests are never data to prune, whatever a manifest lists. */
function isBookkeeping(path: string): boolean {
  return path.startsWith('dreamframe-state/') || /^manifest\.[^/]+\.json$/.test(path);
}

function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Removes now-empty folders from `dir` up to (not including) the export folder. */
function removeEmptyParents(folder: ExportFolder, dir: string): void {
  let current = dir;
  while (current !== folder.root && current.startsWith(folder.root)) {
    try {
      if (readdirSync(current).length > 0) return;
      rmdirSync(current);
    } catch {
      return; // not a plain folder or changed under us: leave it
    }
    current = dirname(current);
  }
}

export interface PruneInput {
  folder: ExportFolder;
  format: ExportFormat;
  /** Files the previous export of this format wrote (its manifest). */
  previous: ManifestRead;
  /** Clips the clip state file records. */
  recordedClips: OwnedFile[];
  /** Paths this export writes or whose records still point at them. */
  keep: ReadonlySet<string>;
  manifestName(format: ExportFormat): string;
}

export function pruneStaleFiles(input: PruneInput): PruneResult {
  const { folder, keep } = input;
  const result: PruneResult = { removed: [], kept: [] };
  // Another format's export in the same folder may share clips and subtitles: keep all it lists.
  // If one of those manifests cannot be read we cannot tell what it needs, so nothing is removed.
  const shared = new Set<string>();
  for (const other of ExportFormat.options) {
    if (other === input.format) continue;
    const read = readManifestFiles(folder, input.manifestName(other));
    if (read.state === 'invalid') {
      result.kept.push({ path: read.file, reason: 'unreadable manifest of another format: nothing was removed' });
      return result;
    }
    if (read.state === 'ok') for (const f of read.files) shared.add(f.path);
  }

  if (input.previous.state === 'invalid') {
    result.kept.push({ path: input.previous.file, reason: 'unreadable, so files only it listed were not removed' });
  }
  const candidates = new Map<string, string>();
  if (input.previous.state === 'ok') for (const f of input.previous.files) candidates.set(f.path, f.sha256);
  for (const c of input.recordedClips) if (!candidates.has(c.path)) candidates.set(c.path, c.sha256);

  for (const [path, sha256] of [...candidates].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (keep.has(path) || shared.has(path) || isBookkeeping(path)) continue;
    const file = folder.existingFile(path);
    if (!file) {
      // Already gone (or a path no export writes): nothing of ours to remove.
      continue;
    }
    if (sha256Of(file) !== sha256) {
      result.kept.push({ path, reason: 'changed since it was exported' });
      continue;
    }
    rmSync(file);
    result.removed.push(path);
    removeEmptyParents(folder, dirname(file));
  }
  return result;
}
