import { z } from 'zod';
import { QaKind } from './api/entities';

/**
 * DreamFrame Studio's own JSON document for one film: the sample project ships in it, and it is the
 * lossless interchange format between projects. Frame descriptions use character *names*; the
 * render prompt ("generate an image in <keyword> style: …" with lookalikes) is assembled later.
 */

const QaItem = z.object({
  question: z.string().min(1),
  answer: z.string().min(1),
  kind: QaKind.optional(),
});

const FrameItem = z.object({
  type: z.literal('frame'),
  description: z.string().min(1),
  scene: z.string().default(''),
});

const DialogueItem = z.object({
  type: z.literal('dialogue'),
  speaker: z.string().nullable().default(null),
  text: z.string().min(1),
});

export const FilmDocument = z.object({
  format: z.literal('dreamframe-film'),
  version: z.literal(1),
  theme: z.string().default(''),
  title: z.string().min(1),
  overview: z.string().default(''),
  styleDescription: z.string().default(''),
  styleKeyword: z.string().default(''),
  locations: z.array(z.string()).default([]),
  characters: z.array(z.object({
    name: z.string().min(1),
    lookalike: z.string().default(''),
    role: z.enum(['main', 'supporting', 'other']).default('main'),
    color: z.string().nullable().default(null),
  })).default([]),
  qa: z.array(QaItem).default([]),
  chapters: z.array(z.object({
    title: z.string().default(''),
    scene: z.string().default(''),
    summary: z.string().default(''),
    qa: z.array(QaItem).default([]),
    subchapters: z.array(z.object({
      title: z.string().default(''),
      scene: z.string().default(''),
      summary: z.string().default(''),
      qa: z.array(QaItem).default([]),
      items: z.array(z.discriminatedUnion('type', [FrameItem, DialogueItem])),
    })).min(1),
  })).min(1),
});
export type FilmDocument = z.infer<typeof FilmDocument>;
