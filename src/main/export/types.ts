import type { ExportFormat, ExportManifest, ExportOptions } from '../../shared/api/methods-export';
import type { Project } from '../project/project';
import type { FilmClips } from './clips';
import type { ExportFolder } from './safe-paths';
import type { ExportFilm } from './selection';

export const EXPORT_FORMAT_VERSION = 1;

export { ExportFormat, ExportOptions } from '../../shared/api/methods-export';
export type { ExportOptionsInput } from '../../shared/api/methods-export';

/** Formats whose records can point at mp4 clips (story-js never encodes). */
export const FORMATS_WITH_CLIPS: readonly ExportFormat[] = ['llama-vid', 'video-chatgpt', 'jsonl'];

/** Everything a format writer needs; it returns data files and never touches the disk itself. */
export interface FormatContext {
  project: Project;
  folder: ExportFolder;
  films: ExportFilm[];
  /** Planned clips per film id (their paths; a film without frames has no clips). */
  clips: Map<number, FilmClips>;
  /** Whether this export encoded (or verified) the clips; if not, their paths are only names. */
  clipsWritten: boolean;
  options: ExportOptions;
}

export interface DataFile {
  relPath: string;
  content: string;
  /** Records (or entries) in the file, for the manifest. */
  records: number;
  /** LLaMA-VID files: the token budget its records were fitted to (manifest `tokenBudgets`). */
  tokenBudget?: NonNullable<ExportManifest['tokenBudgets']>[number];
}

/** Deterministic JSON text: callers build objects with a fixed key order; two-space indent, final newline. */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
