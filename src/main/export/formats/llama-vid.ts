import { z } from 'zod';
import { clipSubtitles, longVideoInputs, type FilmClips, type PlannedClip } from '../clips';
import type { ExportFilm, ExportQa } from '../selection';
import { jsonText, type DataFile, type FormatContext } from '../types';

/**
 * LLaMA-VID instruction data (llamavid/train/train.py, LazySupervisedDataset): a JSON list of
 * {id, video, conversations}; conversations alternate human/gpt starting with human, and the first
 * human turn carries the single "<image>" placeholder at its front ("<image>\n…", the position
 * preprocess_multimodal moves it to). `video` is relative to --video_folder (the export folder).
 * See shared/docs/export-formats.md §2–5.
 */

export const IMAGE_TOKEN = '<image>';

const Turn = z.object({ from: z.enum(['human', 'gpt']), value: z.string().min(1) }).strict();

/** What LLaMA-VID's loader requires of a record, plus the placement rules this exporter keeps. */
export const LlamaVidRecord = z.object({
  id: z.union([z.string().min(1), z.number()]),
  video: z.string().regex(/^(?!\/)(?!.*\.\.)[^\\]+\.(mp4|pkl)$/, 'relative mp4/pkl path'),
  conversations: z.array(Turn).min(2),
}).strict().superRefine((rec, ctx) => {
  if (rec.conversations.length % 2 !== 0) ctx.addIssue({ code: 'custom', message: 'odd number of turns' });
  rec.conversations.forEach((t, i) => {
    const want = i % 2 === 0 ? 'human' : 'gpt';
    if (t.from !== want) ctx.addIssue({ code: 'custom', path: ['conversations', i, 'from'], message: `turn ${i} must be ${want}` });
    const tokens = t.value.split(IMAGE_TOKEN).length - 1;
    if (i === 0 && !(t.value.startsWith(`${IMAGE_TOKEN}\n`) && tokens === 1)) {
      ctx.addIssue({ code: 'custom', path: ['conversations', 0, 'value'], message: 'first human turn must start with one "<image>\\n"' });
    }
    if (i > 0 && tokens > 0) ctx.addIssue({ code: 'custom', path: ['conversations', i, 'value'], message: 'only the first turn may hold <image>' });
  });
});
export type LlamaVidRecord = z.infer<typeof LlamaVidRecord>;

/** Long-video record: one per film; `inputs` is the subtitle-interleaved text (one <image> per keyframe). */
export const LlamaVidLongRecord = z.object({
  id: z.string().min(1),
  video: LlamaVidRecord.shape.video,
  conversations: LlamaVidRecord.shape.conversations,
  inputs: z.string(),
}).strict();

export function conversation(qa: ExportQa[]): LlamaVidRecord['conversations'] {
  return qa.flatMap((q, i) => [
    { from: 'human' as const, value: i === 0 ? `${IMAGE_TOKEN}\n${q.question.trim()}` : q.question.trim() },
    { from: 'gpt' as const, value: q.answer.trim() },
  ]);
}

/** Records in story order per film: the film, then each chapter followed by its subchapters. */
function filmRecords(film: ExportFilm, clips: FilmClips): LlamaVidRecord[] {
  const out: LlamaVidRecord[] = [];
  const add = (clip: PlannedClip | null | undefined, stem: string, qa: ExportQa[]) => {
    if (!clip || qa.length === 0) return;
    out.push({ id: `${film.dirName}_${stem}`, video: clip.relPath, conversations: conversation(qa) });
  };
  add(clips.film, 'film', film.qa);
  for (const ch of film.chapters) {
    add(clips.chapters.get(ch.id), ch.stem, ch.qa);
    for (const sub of ch.subchapters) add(clips.subchapters.get(sub.id), sub.stem, sub.qa);
  }
  return out;
}

export function writeLlamaVid(ctx: FormatContext): DataFile[] {
  const records: LlamaVidRecord[] = [];
  const long: z.infer<typeof LlamaVidLongRecord>[] = [];
  const files: DataFile[] = [];
  for (const film of ctx.films) {
    const clips = ctx.clips.get(film.id);
    if (!clips || !clips.film) continue;
    records.push(...filmRecords(film, clips));
    const allQa = [...film.qa, ...film.chapters.flatMap((c) => [...c.qa, ...c.subchapters.flatMap((s) => s.qa)])];
    if (allQa.length > 0) {
      long.push({ id: `${film.dirName}_long`, video: clips.film.relPath, conversations: conversation(allQa), inputs: longVideoInputs(clips.film) });
    }
    if (ctx.options.subtitles && ctx.clipsWritten) files.push(...subtitleFiles(clips));
  }
  for (const r of records) LlamaVidRecord.parse(r);
  for (const r of long) LlamaVidLongRecord.parse(r);
  return [
    { relPath: 'llama_vid.json', content: jsonText(records), records: records.length },
    { relPath: 'llama_vid_long.json', content: jsonText(long), records: long.length },
    ...files,
  ];
}

/** SubRip sidecars next to every clip that has dialogue. */
export function subtitleFiles(clips: FilmClips): DataFile[] {
  const all = [...(clips.film ? [clips.film] : []), ...clips.chapters.values(), ...clips.subchapters.values()];
  return all.filter((c) => c.lines.length > 0).map((c) => ({
    relPath: c.relPath.replace(/\.mp4$/, '.srt'),
    content: clipSubtitles(c),
    records: c.lines.length,
  }));
}
