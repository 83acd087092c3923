import { z } from 'zod';
import { PlotBreadth } from '../../shared/api/methods-plot';
import { classifyQuestion } from '../story/qa-kind';

/**
 * The answer shapes of the three expansion levels, built per breadth so counts are part of the
 * JSON Schema (minItems = maxItems) the server is asked to honour. Rules JSON Schema cannot say
 * (scenes drawn from the film's locations, QA question types, the one-word keyword) are checked
 * here too and quoted back to the model on a re-ask.
 */

export const Breadth = PlotBreadth;
export type Breadth = z.infer<typeof Breadth>;
export const DEFAULT_BREADTH: Breadth = Breadth.parse({});

export const MIN_LOCATIONS = 12;
const QA_KINDS = new Set(['what', 'why', 'how', 'where']);

const text = () => z.string().trim().min(1);

const QaItem = z.object({ question: text(), answer: text() }).superRefine((qa, ctx) => {
  if (!QA_KINDS.has(classifyQuestion(qa.question))) {
    ctx.addIssue({ code: 'custom', path: ['question'], message: `must be a what/why/how/where question (got "${qa.question.slice(0, 60)}")` });
  }
});
export type QaItem = z.infer<typeof QaItem>;

const exactly = <T extends z.ZodType>(item: T, n: number) => z.array(item).min(n).max(n);

/** A single word of letters; when a CLIP tokenizer is at hand, also exactly one BPE token. */
export function styleKeywordProblem(keyword: string, tokenize?: (text: string) => string[]): string | null {
  if (!/^[A-Za-z]+$/.test(keyword)) return `must be one word of letters only (got "${keyword}")`;
  if (tokenize) {
    const tokens = tokenize(keyword);
    if (tokens.length !== 1) return `must be a single CLIP token ("${keyword}" is ${tokens.length} tokens: ${tokens.join(' ')})`;
  }
  return null;
}

export function level1Schema(b: Breadth, tokenize?: (text: string) => string[]) {
  return z.object({
    title: text(),
    overview: text().describe('one paragraph telling the whole story'),
    styleDescription: text().describe('visual style only: adjectives and short phrases, key phrases in ((double parentheses)), the style keyword once in {braces}'),
    styleKeyword: text().describe('one English word naming the visual style'),
    locations: z.array(text().describe('a common place, at most two words, no names or possessives')).min(MIN_LOCATIONS),
    characters: z.array(z.object({
      name: text(),
      role: z.enum(['main', 'supporting']),
      gender: z.enum(['man', 'woman']),
      lookalike: text().describe('a well-known Western actor or actress this character looks like'),
      color: text().describe('the colour of their clothes, one or two words'),
    })).min(1).max(3),
    chapters: exactly(z.object({
      title: text(),
      scene: z.array(text()).min(1).max(3).describe('1 to 3 entries of locations; the chapter happens only there'),
      summary: text(),
      qa: QaItem,
    }), b.chapters),
  }).superRefine((v, ctx) => {
    const kw = styleKeywordProblem(v.styleKeyword, tokenize);
    if (kw) ctx.addIssue({ code: 'custom', path: ['styleKeyword'], message: kw });
    else if (!v.styleDescription.toLowerCase().includes(`{${v.styleKeyword.toLowerCase()}}`)) {
      ctx.addIssue({ code: 'custom', path: ['styleDescription'], message: `must contain the style keyword in braces: {${v.styleKeyword}}` });
    }
    if (!/\(\([^()]+\)\)/.test(v.styleDescription)) {
      ctx.addIssue({ code: 'custom', path: ['styleDescription'], message: 'must wrap key phrases in ((double parentheses))' });
    }
    v.locations.forEach((loc, i) => {
      if (loc.split(/\s+/).length > 2) ctx.addIssue({ code: 'custom', path: ['locations', i], message: `"${loc}" has more than two words` });
      if (/['’]s\b/i.test(loc)) ctx.addIssue({ code: 'custom', path: ['locations', i], message: `"${loc}" names an owner; use a common place` });
    });
    const mains = v.characters.filter((c) => c.role === 'main').length;
    if (mains < 1 || mains > 2) ctx.addIssue({ code: 'custom', path: ['characters'], message: `needs 1 or 2 main characters (got ${mains})` });
    if (v.characters.length - mains > 1) ctx.addIssue({ code: 'custom', path: ['characters'], message: 'at most one supporting character' });
    const names = new Set<string>();
    v.characters.forEach((c, i) => {
      if (names.has(c.name.toLowerCase())) ctx.addIssue({ code: 'custom', path: ['characters', i, 'name'], message: `"${c.name}" is listed twice` });
      names.add(c.name.toLowerCase());
    });
    const known = new Set(v.locations.map((l) => l.toLowerCase()));
    v.chapters.forEach((ch, i) => ch.scene.forEach((s, j) => {
      if (!known.has(s.toLowerCase())) ctx.addIssue({ code: 'custom', path: ['chapters', i, 'scene', j], message: `"${s}" is not one of the locations` });
    }));
  });
}
export type Level1Answer = z.infer<ReturnType<typeof level1Schema>>;

export function level2Schema(b: Breadth) {
  return z.object({
    subchapters: exactly(z.object({
      title: text(),
      scene: text().describe('where it happens, consistent with the chapter scene and the locations'),
      summary: text(),
    }), b.subchapters),
    qa: QaItem.describe('one question over all the subchapters'),
  });
}
export type Level2Answer = z.infer<ReturnType<typeof level2Schema>>;

export function level3Schema(b: Breadth) {
  return z.object({
    frames: exactly(z.object({
      location: text(),
      who: z.array(text()).min(1).describe('character names, or "a man looks like <actor>" for one-off people'),
      action: text().describe('stand, sit, look, talk, hold, squat, walk or hug'),
      expression: text().describe('facial expression, e.g. smiling, crying'),
      description: text().describe('one sentence: "<at the location>, <who> is <action>, with a <expression> face."'),
    }), b.frames),
    dialogue: exactly(z.object({
      speaker: text(),
      text: text().describe('one or two sentences'),
      afterFrame: z.number().int().min(1).max(b.frames).describe('the line is spoken right after this frame (1-based)'),
    }), b.dialogueLines),
    qa: exactly(QaItem, b.qaPairs),
  });
}
export type Level3Answer = z.infer<ReturnType<typeof level3Schema>>;

/** zod → JSON Schema for response_format (refinements stay on our side). */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const js = z.toJSONSchema(schema, { unrepresentable: 'any' }) as Record<string, unknown>;
  delete js.$schema;
  return js;
}
