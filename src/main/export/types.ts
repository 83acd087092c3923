import { z } from 'zod';
import type { Project } from '../project/project';
import type { FilmClips } from './clips';
import type { ExportFolder } from './safe-paths';
import type { ExportFilm } from './selection';

export const EXPORT_FORMAT_VERSION = 1;

export const ExportFormat = z.enum(['llama-vid', 'video-chatgpt', 'story-js', 'jsonl']);
export type ExportFormat = z.infer<typeof ExportFormat>;

/** Formats whose records point at mp4 clips (the others never encode). */
export const FORMATS_WITH_CLIPS: readonly ExportFormat[] = ['llama-vid', 'video-chatgpt', 'jsonl'];

export const ExportOptions = z.object({
  format: ExportFormat,
  outDir: z.string().min(1),
  /** Empty or absent: every film of the project. */
  filmIds: z.array(z.number().int().positive()).default([]),
  includeDrafts: z.boolean().default(false),
  /** Encode mp4 clips (llama-vid and video-chatgpt default on, jsonl off; story-js never). */
  clips: z.boolean().optional(),
  /** Write a .srt beside each clip that has dialogue. */
  subtitles: z.boolean().default(true),
  /** Clip frame rate; every keyframe lasts one second, i.e. `fps` identical frames. */
  fps: z.number().int().min(1).max(30).default(1),
  /** Longest clip side in pixels (the film's first picture sets the shape). */
  maxSize: z.number().int().min(16).max(4096).default(1024),
});
export type ExportOptions = z.output<typeof ExportOptions>;
export type ExportOptionsInput = z.input<typeof ExportOptions>;

/** Everything a format writer needs; it returns data files and never touches the disk itself. */
export interface FormatContext {
  project: Project;
  folder: ExportFolder;
  films: ExportFilm[];
  /** Planned clips per film id (absent when clips are off). */
  clips: Map<number, FilmClips> | null;
  options: ExportOptions;
}

export interface DataFile {
  relPath: string;
  content: string;
  /** Records (or entries) in the file, for the manifest. */
  records: number;
}

/** Deterministic JSON text: callers build objects with a fixed key order; two-space indent, final newline. */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
