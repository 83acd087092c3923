import { z } from 'zod';
import { CLIPS_DIR, clipStem, type PlannedClip } from '../clips';
import type { ExportQa } from '../selection';
import { jsonText, type DataFile, type FormatContext } from '../types';
import { subtitleFiles } from './llama-vid';

/**
 * Video-ChatGPT's quantitative benchmark files (quantitative_evaluation/README.md):
 * generic_qa.json and temporal_qa.json hold {video_name, Q, A}; consistency_qa.json holds
 * {video_name, Q1, Q2, A}. Videos resolve as <video_dir>/<video_name>.mp4 and the scoring scripts
 * write <output_dir>/<video_name>.json, so video_name is the clip's flat file stem (no "/") and
 * --video_dir is the export folder's clips folder (VIDEO_DIR).
 */

export const VIDEO_DIR = CLIPS_DIR;

/** A name Video-ChatGPT can use as a file stem in any folder: no separators, NUL or control characters, no leading dot. */
// eslint-disable-next-line no-control-regex
export const FLAT_STEM = /^(?!\.)[^/\\\u0000-\u001f\u007f]+$/;

const VideoName = z.string().regex(FLAT_STEM, 'flat file stem');
export const GenericEntry = z.object({ video_name: VideoName, Q: z.string().min(1), A: z.string().min(1) }).strict();
export const ConsistencyEntry = z.object({
  video_name: VideoName, Q1: z.string().min(1), Q2: z.string().min(1), A: z.string().min(1),
}).strict();

/** Questions about order in time: "when" questions and ones naming a before/after relation. */
const TEMPORAL = /\b(when|before|after|first|then|finally|next|later|earlier|begin(?:s|ning)?|end(?:s)?|sequence|order|while|during|chronological)\b/i;

export function isTemporal(q: ExportQa): boolean {
  return q.kind === 'when' || TEMPORAL.test(q.question);
}

/**
 * The second phrasing of a consistency pair: the same question restated as a request, which keeps
 * its meaning (Video-ChatGPT's own pairs are paraphrases written by annotators). Whatever the
 * question ends with ("?", ".", "!", or several) is replaced by one "?".
 */
export function rephrase(question: string): string {
  const q = question.trim().replace(/[\s?.!…？。！]+$/u, '');
  return `Based on the video, answer this question: ${q.charAt(0).toLowerCase()}${q.slice(1)}?`;
}

export function writeVideoChatgpt(ctx: FormatContext): DataFile[] {
  const generic: z.infer<typeof GenericEntry>[] = [];
  const temporal: z.infer<typeof GenericEntry>[] = [];
  const consistency: z.infer<typeof ConsistencyEntry>[] = [];
  const files: DataFile[] = [];
  const add = (clip: PlannedClip | null | undefined, qa: ExportQa[]) => {
    if (!clip) return;
    const videoName = clipStem(clip.relPath);
    for (const q of qa) {
      const entry = { video_name: videoName, Q: q.question.trim(), A: q.answer.trim() };
      (isTemporal(q) ? temporal : generic).push(entry);
      consistency.push({ video_name: videoName, Q1: entry.Q, Q2: rephrase(entry.Q), A: entry.A });
    }
  };
  for (const film of ctx.films) {
    const clips = ctx.clips.get(film.id);
    if (!clips) continue;
    add(clips.film, film.qa);
    for (const ch of film.chapters) {
      add(clips.chapters.get(ch.id), ch.qa);
      for (const sub of ch.subchapters) add(clips.subchapters.get(sub.id), sub.qa);
    }
    if (ctx.options.subtitles && ctx.clipsWritten) files.push(...subtitleFiles(clips));
  }
  for (const e of [...generic, ...temporal]) GenericEntry.parse(e);
  for (const e of consistency) ConsistencyEntry.parse(e);
  return [
    { relPath: 'generic_qa.json', content: jsonText(generic), records: generic.length },
    { relPath: 'temporal_qa.json', content: jsonText(temporal), records: temporal.length },
    { relPath: 'consistency_qa.json', content: jsonText(consistency), records: consistency.length },
    ...files,
  ];
}
