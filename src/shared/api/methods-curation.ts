import { z } from 'zod';
import { DialogueLine, Frame, Id, ItemRef, ReviewState } from './entities';

/**
 * Curation: structure edits of the storyboard (insert, delete, reorder frames and dialogue lines,
 * all undoable), moving a dialogue line, text search across a film, and the undo/redo labels.
 */

const text = (max: number) => z.string().max(max);

export const SearchHit = ItemRef.extend({
  /** Which field matched, e.g. "description", "text", "speaker", "question", "answer". */
  field: z.string(),
  snippet: z.string(),
  state: ReviewState,
});
export type SearchHit = z.infer<typeof SearchHit>;

export const curationMethods = {
  'curation.insertFrame': {
    input: z.object({
      subchapterId: Id,
      /** How many frames of the subchapter precede the new one. */
      index: z.number().int().min(0),
      description: text(4000),
      scene: text(500).optional(),
    }).strict(),
    output: Frame,
  },
  'curation.deleteFrame': { input: z.object({ frameId: Id }).strict(), output: z.object({ deleted: z.boolean() }) },
  'curation.moveFrame': {
    input: z.object({ frameId: Id, toIndex: z.number().int().min(0) }).strict(),
    output: z.object({ moved: z.boolean() }),
  },
  'curation.insertDialogue': {
    input: z.object({
      subchapterId: Id,
      afterFrame: z.number().int().min(0),
      index: z.number().int().min(0).optional(),
      speaker: text(200).nullable().default(null),
      text: text(4000),
    }).strict(),
    output: DialogueLine,
  },
  'curation.deleteDialogue': { input: z.object({ id: Id }).strict(), output: z.object({ deleted: z.boolean() }) },
  'curation.moveDialogue': {
    input: z.object({ id: Id, afterFrame: z.number().int().min(0), index: z.number().int().min(0).optional() }).strict(),
    output: DialogueLine,
  },
  'curation.search': {
    input: z.object({
      filmId: Id,
      query: text(500),
      state: ReviewState.optional(),
      /** Only frames, dialogue lines or QA pairs. */
      type: ItemRef.shape.type.optional(),
      limit: z.number().int().min(1).max(10_000).default(500),
    }).strict(),
    output: z.object({ hits: z.array(SearchHit), total: z.number().int() }),
  },
  /**
   * What the storyboard's filters take from the database: the frames whose last render attempt failed and,
   * for a query, the frames whose description, scene, lines or QA hold every word of it (in any order).
   */
  'curation.frameFilters': {
    input: z.object({ filmId: Id, query: text(500).default('') }).strict(),
    output: z.object({ failedRender: z.array(Id), textMatches: z.array(Id).nullable() }),
  },
  'curation.history': {
    input: z.object({ filmId: Id }).strict(),
    output: z.object({ undo: z.string().nullable(), redo: z.string().nullable() }),
  },
} as const;
