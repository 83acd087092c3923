import { z } from 'zod';
import {
  Character, Film, FilmDetail, FilmSummary, Frame, DialogueLine, Id, ItemRef, Job, QaPair, QaKind,
  ReviewState, Storyboard,
} from './entities';
import { exportMethods } from './methods-export';
import { farmMethods } from './methods-farm';
import { fsMethods } from './methods-fs';
import { modelMethods } from './methods-models';
import { renderMethods } from './methods-render';
import { curationMethods } from './methods-curation';
import { plotMethods } from './methods-plot';
import { qualityMethods } from './methods-quality';
import { styleMethods } from './methods-style';

/**
 * The single renderer ↔ main contract. Each method has a zod schema for its input and its output;
 * both transports (Electron IPC and the serve-mode WebSocket) carry exactly these messages, and the
 * main process validates every input against them before a handler runs.
 *
 * Adding a method: add it here (or in methods-<area>.ts spread below), add its handler to its area's map
 * (src/main/<area>/api-handlers.ts; core methods: src/main/api/core-handlers.ts), which src/main/composition.ts
 * collects; nothing else (the preload bridge and both clients are generic over this map).
 */

const Empty = z.object({}).strict();

export const ProjectInfo = z.object({ path: z.string(), name: z.string(), schemaVersion: z.number().int() });
export type ProjectInfo = z.infer<typeof ProjectInfo>;

export const ImportReport = z.object({
  filmId: Id,
  structure: z.enum(['hierarchical', 'flat']),
  counts: z.object({
    chapters: z.number().int(), subchapters: z.number().int(), frames: z.number().int(),
    dialogueLines: z.number().int(), qaPairs: z.number().int(), characters: z.number().int(),
  }),
  /** Things the importer kept but could not place exactly, one sentence each. */
  unmapped: z.array(z.string()),
});
export type ImportReport = z.infer<typeof ImportReport>;

export const EditSummary = z.object({ id: Id, label: z.string(), at: z.string() });

const text = (max: number) => z.string().max(max);

const coreMethods = {
  'app.info': {
    input: Empty,
    output: z.object({
      appVersion: z.string(),
      mode: z.enum(['electron', 'serve', 'test']),
      project: ProjectInfo.nullable(),
    }),
  },
  'project.open': { input: z.object({ path: z.string().min(1) }).strict(), output: ProjectInfo },
  'project.create': {
    input: z.object({ path: z.string().min(1), sample: z.boolean().default(false) }).strict(),
    output: ProjectInfo,
  },
  'project.backup': {
    input: z.object({ dest: z.string().min(1) }).strict(),
    output: z.object({ path: z.string(), bytes: z.number().int() }),
  },
  'films.list': { input: Empty, output: z.array(FilmSummary) },
  'films.get': { input: z.object({ filmId: Id }).strict(), output: FilmDetail },
  'films.storyboard': { input: z.object({ filmId: Id }).strict(), output: Storyboard },
  /** The film row and the current rows of the named items (absent: deleted or not in the film), for patching a storyboard. */
  'films.storyboardItems': {
    input: z.object({
      filmId: Id,
      frames: z.array(Id).max(5000).default([]),
      dialogue: z.array(Id).max(5000).default([]),
      qa: z.array(Id).max(5000).default([]),
    }).strict(),
    output: z.object({ film: Film, frames: z.array(Frame), dialogue: z.array(DialogueLine), qa: z.array(QaPair) }),
  },
  /** Refuses content a film of the project was imported from (code import_duplicate) unless `asNew`. */
  'films.importStoryJs': { input: z.object({ path: z.string().min(1), asNew: z.boolean().default(false) }).strict(), output: ImportReport },
  'films.delete': { input: z.object({ filmId: Id }).strict(), output: z.object({ deleted: z.boolean() }) },
  'characters.list': { input: z.object({ filmId: Id }).strict(), output: z.array(Character) },
  'frames.update': {
    input: z.object({
      frameId: Id,
      description: text(4000).optional(),
      scene: text(500).optional(),
    }).strict(),
    output: Frame,
  },
  'dialogue.update': {
    input: z.object({
      id: Id,
      text: text(4000).optional(),
      speaker: text(200).nullable().optional(),
    }).strict(),
    output: DialogueLine,
  },
  'qa.update': {
    input: z.object({
      id: Id,
      question: text(2000).optional(),
      answer: text(4000).optional(),
      kind: QaKind.optional(),
    }).strict(),
    output: QaPair,
  },
  'review.set': {
    input: z.object({
      items: z.array(ItemRef).min(1).max(100_000),
      state: ReviewState,
      note: text(2000).nullable().default(null),
      /** A rejection reason from the curator's list ("off-style", …); kept only for rejections. */
      reason: text(100).nullable().default(null),
      /**
       * Also give the frames' dialogue lines and QA the same state: the lines among the given frames, and the QA
       * pairs of every subchapter whose frames are all given (approving a subchapter approves what it says).
       */
      withLinesAndQa: z.boolean().default(false),
    }).strict(),
    output: z.object({ updated: z.number().int() }),
  },
  'edits.undo': { input: z.object({ filmId: Id }).strict(), output: z.object({ edit: EditSummary.nullable() }) },
  'edits.redo': { input: z.object({ filmId: Id }).strict(), output: z.object({ edit: EditSummary.nullable() }) },
  'jobs.list': { input: Empty, output: z.array(Job) },
  'jobs.cancel': { input: z.object({ jobId: Id }).strict(), output: z.object({ cancelled: z.boolean() }) },
  /**
   * Resumes a failed or cancelled job from its checkpoint with the settings it was queued with, or with the
   * current settings (`useCurrentSettings`, kinds that capture settings: render.keyframes); `settings` says which.
   */
  'jobs.resume': {
    input: z.object({ jobId: Id, useCurrentSettings: z.boolean().default(false) }).strict(),
    output: z.object({ resumed: z.boolean(), settings: z.string().nullable() }),
  },
} as const;

/** Job kinds that capture settings when queued, so jobs.resume can swap in the current ones (useCurrentSettings). */
export const JOB_KINDS_WITH_SETTINGS: readonly string[] = ['render.keyframes'];

/**
 * Feature areas contribute their methods from src/shared/api/methods-<area>.ts; spread them here.
 */
export const methods = {
  ...coreMethods,
  ...renderMethods,
  ...curationMethods,
  ...exportMethods,
  ...plotMethods,
  ...styleMethods,
  ...modelMethods,
  ...qualityMethods,
  ...farmMethods,
  ...fsMethods,
} as const;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type MethodInput<M extends MethodName> = z.input<Methods[M]['input']>;
export type MethodOutput<M extends MethodName> = z.output<Methods[M]['output']>;

/** Events pushed from main to every connected renderer. */
export const events = {
  /** Rows of a film changed (by an edit, an import, a job); stores refetch or patch what they show. */
  'data.changed': z.object({
    filmId: Id.nullable(),
    entities: z.array(z.object({
      type: z.enum(['film', 'character', 'chapter', 'subchapter', 'frame', 'dialogue', 'qa', 'render', 'style']),
      ids: z.array(Id),
    })),
  }),
  'job.progress': Job,
  /** The model library changed (an import finished, a model was removed, the folder moved): refetch `models.list`. */
  'models.changed': z.object({ dir: z.string() }),
} as const;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<E extends EventName> = z.output<Events[E]>;

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(methods, name);
}
