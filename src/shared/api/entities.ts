import { z } from 'zod';

/** Wire shapes of the project's entities, shared by main, preload and renderer. */

export const Id = z.number().int().positive();

export const ReviewState = z.enum(['draft', 'approved', 'rejected']);
export type ReviewState = z.infer<typeof ReviewState>;

/** `reason`: the rejection reason picked from the project's list (absent or null when none was given). */
export const Review = z.object({ state: ReviewState, note: z.string().nullable(), reason: z.string().nullable().optional() });
export type Review = z.infer<typeof Review>;

export const Counts = z.object({
  chapters: z.number().int(),
  subchapters: z.number().int(),
  frames: z.number().int(),
  dialogueLines: z.number().int(),
  qaPairs: z.number().int(),
  characters: z.number().int(),
});
export type Counts = z.infer<typeof Counts>;

export const FilmStructure = z.enum(['hierarchical', 'flat']);
export const FilmSource = z.enum(['sample', 'story_js', 'llm', 'manual']);

export const FilmSummary = z.object({
  id: Id,
  title: z.string(),
  theme: z.string(),
  styleKeyword: z.string(),
  source: FilmSource,
  structure: FilmStructure,
  counts: Counts,
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type FilmSummary = z.infer<typeof FilmSummary>;

export const Film = FilmSummary.extend({
  overview: z.string(),
  styleDescription: z.string(),
  locations: z.array(z.string()),
  generation: z.record(z.string(), z.unknown()),
});
export type Film = z.infer<typeof Film>;

export const CharacterRole = z.enum(['main', 'supporting', 'other']);
export const Character = z.object({
  id: Id,
  name: z.string(),
  lookalike: z.string(),
  role: CharacterRole,
  color: z.string().nullable(),
  position: z.number().int(),
});
export type Character = z.infer<typeof Character>;

export const Chapter = z.object({
  id: Id,
  position: z.number().int(),
  title: z.string(),
  scene: z.string(),
  summary: z.string(),
});
export type Chapter = z.infer<typeof Chapter>;

export const Subchapter = z.object({
  id: Id,
  chapterId: Id,
  position: z.number().int(),
  title: z.string(),
  scene: z.string(),
  summary: z.string(),
});
export type Subchapter = z.infer<typeof Subchapter>;

/** Where a frame's picture comes from: a finished render, or a generated "not rendered yet" card. */
export const Thumbnail = z.object({ kind: z.enum(['render', 'placeholder']), key: z.string() });
export type Thumbnail = z.infer<typeof Thumbnail>;

export const Frame = z.object({
  id: Id,
  subchapterId: Id,
  position: z.number().int(),
  description: z.string(),
  scene: z.string(),
  review: Review,
  stale: z.boolean(),
  thumbnail: Thumbnail,
});
export type Frame = z.infer<typeof Frame>;

/** A dialogue line sits after `afterFrame` frames of its subchapter (0 = before the first frame). */
export const DialogueLine = z.object({
  id: Id,
  subchapterId: Id,
  afterFrame: z.number().int().nonnegative(),
  seq: z.number().int(),
  speaker: z.string().nullable(),
  text: z.string(),
  review: Review,
});
export type DialogueLine = z.infer<typeof DialogueLine>;

export const QaScope = z.enum(['film', 'chapter', 'subchapter']);
export type QaScope = z.infer<typeof QaScope>;
export const QaKind = z.enum(['describe', 'what', 'why', 'how', 'where', 'who', 'when', 'other']);
export type QaKind = z.infer<typeof QaKind>;

export const QaPair = z.object({
  id: Id,
  scope: QaScope,
  chapterId: Id.nullable(),
  subchapterId: Id.nullable(),
  position: z.number().int(),
  question: z.string(),
  answer: z.string(),
  kind: QaKind,
  review: Review,
});
export type QaPair = z.infer<typeof QaPair>;

export const FilmDetail = z.object({
  film: Film,
  characters: z.array(Character),
  chapters: z.array(Chapter),
  subchapters: z.array(Subchapter),
  qa: z.array(QaPair),
});
export type FilmDetail = z.infer<typeof FilmDetail>;

/** Everything the storyboard shows for one film, ordered chapter → subchapter → position. */
export const Storyboard = FilmDetail.extend({
  frames: z.array(Frame),
  dialogue: z.array(DialogueLine),
});
export type Storyboard = z.infer<typeof Storyboard>;

export const JobStatus = z.enum(['queued', 'running', 'done', 'failed', 'cancelled']);
export type JobStatus = z.infer<typeof JobStatus>;

export const Job = z.object({
  id: Id,
  kind: z.string(),
  filmId: Id.nullable(),
  status: JobStatus,
  progress: z.number().min(0).max(1),
  message: z.string().nullable(),
  etaSeconds: z.number().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Job = z.infer<typeof Job>;

export const ItemRef = z.object({ type: z.enum(['frame', 'dialogue', 'qa']), id: Id });
export type ItemRef = z.infer<typeof ItemRef>;
