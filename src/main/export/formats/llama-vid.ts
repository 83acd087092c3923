import { z } from 'zod';
import { clipSubtitles, longVideoInputs, type FilmClips, type PlannedClip } from '../clips';
import type { ExportFilm, ExportQa } from '../selection';
import { estimateMp4Record, estimatePklRecord, roundsToTurns, splitRounds, VISUAL_TOKENS_PER_FRAME, type TokenEstimate, type Turn } from '../tokens';
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

/**
 * Long-video record on the film clip; `inputs` is the subtitle-interleaved text (one <image> per
 * keyframe). llama_vid_long.json names the mp4 (several rounds, split to the stage-3 budget);
 * llama_vid_long_pkl.json names the features file and holds one question per record.
 */
export const LlamaVidLongRecord = z.object({
  id: z.string().min(1),
  video: LlamaVidRecord.shape.video,
  conversations: LlamaVidRecord.shape.conversations,
  inputs: z.string(),
}).strict();

/** Whole-conversation turns of a QA list (first human turn led by "<image>\n"). */
export function conversation(qa: ExportQa[]): LlamaVidRecord['conversations'] {
  return roundsToTurns(qa);
}

type Budget = NonNullable<DataFile['tokenBudget']>;
type LongRecord = z.infer<typeof LlamaVidLongRecord>;

function newBudget(file: string, stage: 'stage2' | 'stage3', route: 'mp4' | 'pkl', maxTokens: number): Budget {
  return { file, stage, route, maxTokens, visualTokensPerFrame: VISUAL_TOKENS_PER_FRAME, records: 0, largestEstimate: 0, split: [], leftOut: [] };
}

/**
 * Records of one scope fitted to a budget: consecutive rounds per record (at most `maxRounds`), ids
 * `<base>` when one record holds them all, `<base>_p01`, `<base>_p02`, … otherwise; rounds too long
 * on their own are left out. Every record and left-out round is entered in `budget`.
 */
function fitted(base: string, qa: ExportQa[], budget: Budget, estimate: (turns: Turn[]) => TokenEstimate, maxRounds: number, why: string): { id: string; conversations: Turn[] }[] {
  const { chunks, leftOut } = splitRounds(qa, budget.maxTokens, estimate, maxRounds);
  for (const l of leftOut) {
    budget.leftOut.push({ id: base, question: l.round.question.trim(), estimate: l.estimate.total, reason: `${l.estimate.total} estimated tokens (${l.estimate.visual} visual) exceed ${budget.maxTokens}; ${why}` });
  }
  if (chunks.length > 1 && maxRounds > 1) budget.split.push({ id: base, parts: chunks.length });
  const width = Math.max(2, String(chunks.length).length);
  return chunks.map((c, i) => {
    budget.records++;
    budget.largestEstimate = Math.max(budget.largestEstimate, c.estimate.total);
    return { id: chunks.length === 1 ? base : `${base}_${maxRounds === 1 ? 'q' : 'p'}${String(i + 1).padStart(width, '0')}`, conversations: roundsToTurns(c.rounds) };
  });
}

/** Records in story order per film: the film, then each chapter followed by its subchapters. */
function filmRecords(film: ExportFilm, clips: FilmClips, budget: Budget): LlamaVidRecord[] {
  const out: LlamaVidRecord[] = [];
  const add = (clip: PlannedClip | null | undefined, stem: string, qa: ExportQa[]) => {
    if (!clip || qa.length === 0) return;
    const frames = clip.keyframes.length;
    const why = `the ${frames}-frame clip alone costs ${frames * VISUAL_TOKENS_PER_FRAME} visual tokens per question (it is in llama_vid_long*.json)`;
    for (const r of fitted(`${film.dirName}_${stem}`, qa, budget, (turns) => estimateMp4Record(turns, frames), Infinity, why)) {
      out.push({ id: r.id, video: clip.relPath, conversations: r.conversations });
    }
  };
  add(clips.film, 'film', film.qa);
  for (const ch of film.chapters) {
    add(clips.chapters.get(ch.id), ch.stem, ch.qa);
    for (const sub of ch.subchapters) add(clips.subchapters.get(sub.id), sub.stem, sub.qa);
  }
  return out;
}

/** Path of the features LLaMA-VID's extract_video_features_subtitles.py writes for a clip with --feat_dir videos. */
export function featuresPath(clip: PlannedClip): string {
  return clip.relPath.replace(/\.mp4$/, '.pkl');
}

export function writeLlamaVid(ctx: FormatContext): DataFile[] {
  const { stage2, stage3 } = ctx.options.maxTokens;
  const shortBudget = newBudget('llama_vid.json', 'stage2', 'mp4', stage2);
  const longBudget = newBudget('llama_vid_long.json', 'stage3', 'mp4', stage3);
  const pklBudget = newBudget('llama_vid_long_pkl.json', 'stage3', 'pkl', stage3);
  const records: LlamaVidRecord[] = [];
  const long: LongRecord[] = [];
  const pkl: LongRecord[] = [];
  const files: DataFile[] = [];
  for (const film of ctx.films) {
    const clips = ctx.clips.get(film.id);
    if (!clips || !clips.film) continue;
    records.push(...filmRecords(film, clips, shortBudget));
    const allQa = [...film.qa, ...film.chapters.flatMap((c) => [...c.qa, ...c.subchapters.flatMap((s) => s.qa)])];
    if (allQa.length > 0) {
      const filmClip = clips.film;
      const frames = filmClip.keyframes.length;
      const inputs = longVideoInputs(filmClip);
      const base = `${film.dirName}_long`;
      // mp4 route: rounds split by budget (each human turn shows the whole film again); `inputs` kept.
      for (const r of fitted(base, allQa, longBudget, (turns) => estimateMp4Record(turns, frames), Infinity, 'the film is too long for one question on this stage')) {
        long.push({ id: r.id, video: filmClip.relPath, conversations: r.conversations, inputs });
      }
      // .pkl route: `inputs` replaces the one <image>, so one question per record.
      for (const r of fitted(base, allQa, pklBudget, (turns) => estimatePklRecord(turns, inputs), 1, 'the film with its dialogue is too long for this stage')) {
        pkl.push({ id: r.id, video: featuresPath(filmClip), conversations: r.conversations, inputs });
      }
    }
    if (ctx.options.subtitles && ctx.clipsWritten) files.push(...subtitleFiles(clips));
  }
  for (const r of records) LlamaVidRecord.parse(r);
  for (const r of [...long, ...pkl]) LlamaVidLongRecord.parse(r);
  return [
    { relPath: 'llama_vid.json', content: jsonText(records), records: records.length, tokenBudget: shortBudget },
    { relPath: 'llama_vid_long.json', content: jsonText(long), records: long.length, tokenBudget: longBudget },
    { relPath: 'llama_vid_long_pkl.json', content: jsonText(pkl), records: pkl.length, tokenBudget: pklBudget },
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
