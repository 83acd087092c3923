import { z } from 'zod';
import { Id, Job } from './entities';

/** Export area: dataset export jobs, statistics, and reading back an export's manifest. */

export const ExportFormat = z.enum(['llama-vid', 'video-chatgpt', 'story-js', 'jsonl']);
export type ExportFormat = z.infer<typeof ExportFormat>;

export const ExportOptions = z.object({
  format: ExportFormat,
  outDir: z.string().min(1).max(4096),
  /** Empty: every film of the project. */
  filmIds: z.array(Id).max(100_000).default([]),
  includeDrafts: z.boolean().default(false),
  /** Leave out frames the quality check flags (docs/quality.md) unless the curator approved them explicitly. */
  excludeFlagged: z.boolean().default(false),
  /** Encode mp4 clips (default: on for llama-vid and video-chatgpt, off for jsonl; story-js never). */
  clips: z.boolean().optional(),
  /** Write a .srt beside each clip that has dialogue. */
  subtitles: z.boolean().default(true),
  /** Clip frame rate; every keyframe lasts one second, i.e. `fps` identical frames. */
  fps: z.number().int().min(1).max(30).default(1),
  /** Longest clip side in pixels (the film's first picture sets the shape). */
  maxSize: z.number().int().min(16).max(4096).default(1024),
  /** Encode clips even when frames have no finished render (their "not rendered yet" cards); refused otherwise. */
  allowPlaceholders: z.boolean().default(false),
  /** LLaMA-VID token budgets per training stage (`--model_max_length` of its stage 2 and 3 scripts). */
  maxTokens: z.object({
    /** llama_vid.json (short clips, stage 2). */
    stage2: z.number().int().min(64).max(1_048_576).default(2048),
    /** llama_vid_long*.json (long video, stage 3). */
    stage3: z.number().int().min(64).max(1_048_576).default(65536),
  }).strict().default({ stage2: 2048, stage3: 65536 }),
}).strict();
export type ExportOptions = z.output<typeof ExportOptions>;
export type ExportOptionsInput = z.input<typeof ExportOptions>;

const QaKindCounts = z.object({
  describe: z.number().int(), what: z.number().int(), why: z.number().int(), how: z.number().int(),
  where: z.number().int(), who: z.number().int(), when: z.number().int(), other: z.number().int(),
});

export const Distribution = z.object({
  count: z.number().int(), min: z.number(), max: z.number(), mean: z.number(), median: z.number(), p90: z.number(),
});
export type Distribution = z.infer<typeof Distribution>;

const Excluded = z.object({ frames: z.number().int(), dialogueLines: z.number().int(), qaPairs: z.number().int() });

export const DatasetStats = z.object({
  films: z.number().int(),
  chapters: z.number().int(),
  subchapters: z.number().int(),
  frames: z.number().int(),
  unrenderedFrames: z.number().int(),
  dialogueLines: z.number().int(),
  qaPairs: z.object({ film: z.number().int(), chapter: z.number().int(), subchapter: z.number().int(), total: z.number().int() }),
  questionKinds: QaKindCounts,
  answerWords: Distribution,
  questionWords: Distribution,
  dialogueWords: Distribution,
  framesPerFilm: Distribution,
  perFilm: z.array(z.object({
    filmId: Id, title: z.string(), frames: z.number().int(), dialogueLines: z.number().int(), qaPairs: z.number().int(),
  })),
  excluded: Excluded,
});
export type DatasetStats = z.infer<typeof DatasetStats>;

export const ExportManifest = z.object({
  formatVersion: z.number().int(),
  generator: z.string(),
  appVersion: z.string(),
  format: ExportFormat,
  settings: z.object({
    includeDrafts: z.boolean(), clips: z.boolean(), subtitles: z.boolean(), fps: z.number().int(), maxSize: z.number().int(),
    filmIds: z.array(Id),
    /** Present (true) only when flagged frames were left out. */
    excludeFlagged: z.boolean().optional(),
  }),
  films: z.array(z.object({
    id: Id, title: z.string(), dir: z.string(), clipWidth: z.number().int().nullable(), clipHeight: z.number().int().nullable(),
    /** The film's dataset-quality metrics when they were computed (`quality.score`); absent otherwise. */
    quality: z.object({
      clipScore: z.number().nullable(), lpips: z.number().nullable(), descriptionClipScore: z.number().nullable(),
      frames: z.number().int(), scoredFrames: z.number().int(), pairs: z.number().int(), flagged: z.number().int(), computedAt: z.string(),
    }).optional(),
  })),
  counts: z.object({
    records: z.record(z.string(), z.number().int()),
    clips: z.number().int(),
    keyframesInClips: z.number().int(),
    unrenderedFrames: z.number().int(),
    excluded: Excluded,
  }),
  stats: DatasetStats,
  /** Per LLaMA-VID data file: the stage budget, the estimate's facts, and the records split or left out to fit. */
  tokenBudgets: z.array(z.object({
    file: z.string(),
    stage: z.string(),
    route: z.enum(['mp4', 'pkl']),
    maxTokens: z.number().int(),
    visualTokensPerFrame: z.number().int(),
    records: z.number().int(),
    largestEstimate: z.number().int(),
    split: z.array(z.object({ id: z.string(), parts: z.number().int() })),
    leftOut: z.array(z.object({ id: z.string(), question: z.string(), estimate: z.number().int(), reason: z.string() })),
  })).optional(),
  /** How to train or evaluate with this folder (the same facts as its README.<format>.md). */
  usage: z.array(z.string()).optional(),
  /** Rejections in the exported films (never exported themselves): counts per reason, and each with its note. */
  review: z.object({
    rejectedByReason: z.record(z.string(), z.number().int()),
    rejected: z.array(z.object({ filmId: Id, item: z.string(), reason: z.string().nullable(), note: z.string().nullable() })),
  }).optional(),
  files: z.array(z.object({ path: z.string(), bytes: z.number().int(), sha256: z.string() })),
});
export type ExportManifest = z.infer<typeof ExportManifest>;

export const ExportPreflightInput = z.object({
  format: ExportFormat,
  filmIds: z.array(Id).max(100_000).default([]),
  includeDrafts: z.boolean().default(false),
  excludeFlagged: z.boolean().default(false),
}).strict();
export type ExportPreflightInput = z.infer<typeof ExportPreflightInput>;

/** What an export would put out and leave out (export.preflight). */
export const ExportPreflight = z.object({
  films: z.number().int(),
  frames: z.number().int(),
  /** Frames going out without a render (encoded as "not rendered yet" cards only with allowPlaceholders). */
  unrenderedFrames: z.number().int(),
  /** Frames going out whose description changed after their keyframe was rendered. */
  staleFrames: z.number().int(),
  dialogueLines: z.number().int(),
  qaPairs: z.number().int(),
  /** Left out by review (not approved; drafts too unless includeDrafts). */
  excluded: Excluded,
  /** Why the export would write nothing (it is then refused), or null. */
  emptyReason: z.string().nullable(),
});
export type ExportPreflight = z.infer<typeof ExportPreflight>;

export const exportMethods = {
  /** What an export with these settings would put out and leave out, for the decision before it starts. */
  'export.preflight': { input: ExportPreflightInput, output: ExportPreflight },
  /** Queues an export job; progress arrives as job.progress events, cancel with jobs.cancel. */
  'export.start': { input: ExportOptions, output: Job },
  /** Statistics of what an export with these settings would contain (no files written). */
  'export.stats': {
    input: z.object({ filmIds: z.array(Id).max(100_000).default([]), includeDrafts: z.boolean().default(false) }).strict(),
    output: DatasetStats,
  },
  /** The manifest an earlier export left in a folder, or null. */
  'export.manifest': {
    input: z.object({ outDir: z.string().min(1).max(4096), format: ExportFormat }).strict(),
    output: ExportManifest.nullable(),
  },
} as const;
