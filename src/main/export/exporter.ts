import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { ExportManifest } from '../../shared/api/methods-export';
import { AppError } from '../../shared/errors';
import { appVersion } from '../app/version';
import type { Project } from '../project/project';
import { writeFileAtomic } from '../util/atomic-write';
import { ClipWriter, planFilmClips, writeClips, type FilmClips, type PlannedClip } from './clips';
import { nothingExportedReason, placeholderFrames } from './empty';
import { writeJsonl } from './formats/jsonl';
import { writeLlamaVid } from './formats/llama-vid';
import { readmeFile, usageLines } from './formats/readme';
import { writeStoryJs } from './formats/story-js';
import { writeVideoChatgpt } from './formats/video-chatgpt';
import { pruneStaleFiles, readManifestFiles, type PruneResult } from './prune';
import { reviewSummary } from './review-summary';
import { ExportOwnership } from './ownership';
import { checkExportFolder, ExportFolder } from './safe-paths';
import { loadExportFilm, selectFilmIds, type ExportFilm } from './selection';
import { filmQualityMetrics, flaggedFrameIds } from '../quality/export-metrics';
import { datasetStats } from './stats';
import {
  EXPORT_FORMAT_VERSION, ExportOptions, FORMATS_WITH_CLIPS, type DataFile, type ExportFormat, type ExportOptionsInput,
  type FormatContext,
} from './types';

/**
 * Runs one export: select the allowed items, encode (or reuse) clips, write the format's data
 * files and a manifest with counts, settings, statistics and a checksum of every file. Data files
 * and the manifest carry no time stamps, so the same project exports byte-identical JSON.
 */

export interface ExportHooks {
  signal?: AbortSignal;
  progress?(fraction: number, message: string): void;
  /** After each clip is written or found unchanged. */
  onClip?(relPath: string, reused: boolean): void;
  /** Clips encoded side by side (default: os.availableParallelism()); 1 encodes one at a time. */
  concurrency?: number;
}

type ExportedFile = ExportManifest['files'][number];

export type { ExportManifest };

export interface ExportResult {
  outDir: string;
  format: ExportFormat;
  manifestPath: string;
  manifest: ExportManifest;
  clips: { total: number; encoded: number; reused: number };
  /** Files earlier exports of this folder wrote that this one no longer produces: removed or kept (why). */
  pruned: PruneResult;
}

const WRITERS: Record<ExportFormat, (ctx: FormatContext) => DataFile[]> = {
  'llama-vid': writeLlamaVid,
  'video-chatgpt': writeVideoChatgpt,
  'story-js': writeStoryJs,
  jsonl: writeJsonl,
};

export const manifestName = (format: ExportFormat) => `manifest.${format}.json`;

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AppError('cancelled', 'Export cancelled');
}

/** Clips of a film in the order they must be made: subchapters before the chapters and film that join them. */
function clipOrder(clips: FilmClips): PlannedClip[] {
  return [...clips.subchapters.values(), ...clips.chapters.values(), ...(clips.film ? [clips.film] : [])];
}

/** Loads the films an export covers with the review filter applied. */
export function selectFilms(project: Project, filmIds: number[] | undefined, includeDrafts: boolean, excludeFlagged = false): ExportFilm[] {
  return selectFilmIds(project.db, filmIds).map((id) => loadExportFilm(project.db, id, includeDrafts, excludeFlagged ? flaggedFrameIds(project.db, id) : undefined));
}

export function clipsEnabled(opts: ExportOptions): boolean {
  if (!FORMATS_WITH_CLIPS.includes(opts.format) || opts.format === 'story-js') return false;
  return opts.clips ?? opts.format !== 'jsonl';
}

export async function runExport(project: Project, input: ExportOptionsInput, hooks: ExportHooks = {}): Promise<ExportResult> {
  const opts = ExportOptions.parse(input);
  checkExportFolder(opts.outDir, project.dir);
  const folder = new ExportFolder(opts.outDir);
  if (existsSync(`${folder.root}/project.sqlite`)) {
    throw new AppError('export_bad_folder', `${folder.root} is a project folder; choose another export folder`, { outDir: folder.root });
  }
  const films = selectFilms(project, opts.filmIds, opts.includeDrafts, opts.excludeFlagged);
  const withClips = clipsEnabled(opts);
  const early = nothingExportedReason(project, films, opts);
  if (early) throw new AppError('export_empty', early, { format: opts.format });
  if (withClips && !opts.allowPlaceholders) {
    const missing = placeholderFrames(films);
    if (missing.length > 0) {
      throw new AppError('export_placeholders', `${missing.length} frame(s) have no finished keyframe render and would be encoded as "not rendered yet" cards `
        + `(${missing.slice(0, 5).map((m) => `film ${m.filmId} frame ${m.frameId}`).join(', ')}${missing.length > 5 ? ', …' : ''}); `
        + 'render them first, export without clips, or pass --allow-placeholders (allowPlaceholders) to encode the cards', { frames: missing.length });
    }
  }
  const report = (fraction: number, message: string) => hooks.progress?.(Math.min(1, fraction), message);

  // Plan every clip first so progress has a known total. Without clips the plan still names the
  // paths records point at (a JSON-only export next to clips made earlier or elsewhere).
  const planned = new Map<number, FilmClips>();
  for (const film of films) {
    throwIfCancelled(hooks.signal);
    planned.set(film.id, await planFilmClips(project, film, { fps: opts.fps, maxSize: opts.maxSize, measure: withClips }));
  }
  const queue = !withClips ? [] : [...planned.values()].flatMap((c) => clipOrder(c).map((clip) => ({ clip, size: c })));
  // Work units: one per keyframe to encode, one per joined clip, one for the data files.
  const units = queue.reduce((n, { clip }) => n + (clip.scope === 'subchapter' ? clip.keyframes.length : 1), 0) + 1;
  let done = 0;
  const writer = new ClipWriter(project, folder, { fps: opts.fps, maxSize: opts.maxSize });
  // Every clip path is claimed before the first is encoded: one holding a file of someone else stops the export now.
  const ownership = new ExportOwnership(folder, manifestName, writer.recordedClips());
  ownership.claim([...queue.map(({ clip }) => clip.relPath), manifestName(opts.format)]);
  let clipsDone = 0;
  const records = await writeClips(writer, queue, {
    concurrency: hooks.concurrency,
    signal: hooks.signal,
    onFrame: () => report(++done / units, `Clip ${clipsDone + 1}/${queue.length}`),
    onClip: (c, reused) => {
      // A reused clip's keyframes and a joined clip count in one step.
      if (reused || c.scope !== 'subchapter') done += c.scope === 'subchapter' ? c.keyframes.length : 1;
      clipsDone++;
      report(done / units, `Clip ${clipsDone}/${queue.length}: ${c.relPath}`);
      hooks.onClip?.(c.relPath, reused);
    },
  });
  throwIfCancelled(hooks.signal);
  report(done / units, 'Writing data files');

  const dataFiles = WRITERS[opts.format]({ project, folder, films, clips: planned, clipsWritten: withClips, options: opts });
  const dataRecords = dataFiles.filter((f) => !f.relPath.endsWith('.srt')).reduce((n, f) => n + f.records, 0);
  if (dataRecords === 0) {
    const leftOut = dataFiles.flatMap((f) => f.tokenBudget?.leftOut ?? []);
    throw new AppError('export_empty', `Nothing to export: the data files would hold no records${leftOut.length > 0 ? ` (${leftOut.length} question(s) left out by the token budget; raise --max-tokens)` : ''}`, { format: opts.format });
  }
  const usage = usageLines(opts.format, opts);
  dataFiles.push(readmeFile(opts.format, usage));
  ownership.claim(dataFiles.map((f) => f.relPath));
  const files: ExportedFile[] = [];
  for (const f of dataFiles) {
    const target = folder.path(f.relPath);
    // Unchanged files keep their bytes and modification time.
    if (!existsSync(target) || readFileSync(target, 'utf8') !== f.content) writeFileAtomic(target, f.content);
    files.push({ path: folder.relative(target), bytes: Buffer.byteLength(f.content), sha256: sha256(f.content) });
  }
  for (const [relPath, rec] of records) files.push({ path: relPath, bytes: rec.bytes, sha256: rec.sha256 });
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  // Remove what earlier exports wrote and this one no longer produces, before the new manifest
  // replaces the old one: if we stop in between, the old manifest still names what is left.
  const keep = new Set(files.map((f) => f.path));
  if (!withClips) {
    // A JSON-only export's records still point at clips (and subtitles) made earlier.
    for (const clip of [...planned.values()].flatMap(clipOrder)) {
      keep.add(clip.relPath);
      keep.add(clip.relPath.replace(/\.mp4$/, '.srt'));
    }
  }
  const pruned = pruneStaleFiles({
    folder, format: opts.format, keep, manifestName,
    previous: readManifestFiles(folder, manifestName(opts.format)),
    recordedClips: writer.recordedClips(),
  });
  writer.forget(pruned.removed);
  ownership.release(pruned.removed);

  const stats = datasetStats(films);
  const manifest: ExportManifest = {
    formatVersion: EXPORT_FORMAT_VERSION,
    generator: 'DreamFrame Studio',
    appVersion: appVersion(),
    format: opts.format,
    settings: {
      includeDrafts: opts.includeDrafts, clips: withClips, subtitles: opts.subtitles, fps: opts.fps, maxSize: opts.maxSize,
      filmIds: films.map((f) => f.id),
      ...(opts.excludeFlagged ? { excludeFlagged: true } : {}),
    },
    films: films.map((f) => {
      const c = planned.get(f.id);
      const quality = filmQualityMetrics(project.db, f.id);
      return {
        id: f.id, title: f.title, dir: f.dirName, clipWidth: (withClips && c?.width) || null, clipHeight: (withClips && c?.height) || null,
        ...(quality ? { quality } : {}),
      };
    }),
    counts: {
      records: Object.fromEntries(dataFiles.filter((f) => !f.relPath.endsWith('.srt') && !f.relPath.startsWith('README.')).map((f) => [f.relPath, f.records])),
      clips: records.size,
      keyframesInClips: [...records.values()].reduce((n, r) => n + r.keyframes, 0),
      unrenderedFrames: stats.unrenderedFrames,
      excluded: stats.excluded,
    },
    stats,
    ...(dataFiles.some((f) => f.tokenBudget) ? { tokenBudgets: dataFiles.flatMap((f) => (f.tokenBudget ? [f.tokenBudget] : [])) } : {}),
    usage,
    review: reviewSummary(project.db, films.map((f) => f.id)),
    files,
  };
  const manifestPath = folder.path(manifestName(opts.format));
  writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  report(1, `Exported ${files.length} files to ${folder.root}`);
  return {
    outDir: folder.root,
    format: opts.format,
    manifestPath,
    manifest,
    clips: { total: records.size, encoded: writer.encoded, reused: writer.reused },
    pruned,
  };
}

/** Reads the manifest an earlier export left in a folder (null when there is none). */
export function readManifest(outDir: string, format: ExportFormat): ExportManifest | null {
  if (!existsSync(outDir)) return null;
  const folder = new ExportFolder(outDir);
  const file = folder.path(manifestName(format));
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ExportManifest;
  } catch (err) {
    throw new AppError('export_manifest_invalid', `${file} is not valid JSON: ${(err as Error).message}`, { file });
  }
}
