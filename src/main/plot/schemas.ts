import { z } from 'zod';
import { PlotBreadth } from '../../shared/api/methods-plot';

/**
 * The answer shapes of the three expansion levels, built per breadth. They hold what makes a film
 * usable, all of it expressible in the JSON Schema the server is asked to honour: required fields,
 * non-empty text, counts (minItems = maxItems), enums, the one-word keyword. The prompt's cosmetic
 * rules (keyword in braces, ((emphasis)), short locations, question kinds) are not validation:
 * answer-repair.ts repairs or accepts them and records warnings.
 */

export const Breadth = PlotBreadth;
export type Breadth = z.infer<typeof Breadth>;
export const DEFAULT_BREADTH: Breadth = Breadth.parse({});

export const MIN_LOCATIONS = 12;
const text = () => z.string().trim().min(1);

const QaItem = z.object({
  question: text().describe('starts with What, Why, How or Where'),
  answer: text().describe('one or two sentences'),
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

export function level1Schema(b: Breadth) {
  return z.object({
    title: text(),
    overview: text().describe('one paragraph telling the whole story'),
    styleDescription: text().describe('visual style only: adjectives and short phrases, key phrases in ((double parentheses)), the style keyword once in {braces}'),
    styleKeyword: text().regex(/^[A-Za-z]+$/, 'must be one word of letters only').describe('one English word naming the visual style'),
    locations: z.array(text().describe('a common place, at most two words, no names or possessives')).min(MIN_LOCATIONS),
    characters: z.array(z.object({
      name: text(),
      role: z.enum(['main', 'supporting']),
      gender: z.enum(['man', 'woman']),
      lookalike: text().describe('a well-known Western actor or actress this character looks like'),
      color: text().describe('the colour of their clothes, one or two words'),
    })).min(1).max(3).describe('one or two main characters and at most one supporting character'),
    chapters: exactly(z.object({
      title: text(),
      scene: z.array(text()).min(1).max(3).describe('1 to 3 entries copied from locations; the chapter happens only there'),
      summary: text(),
      qa: QaItem,
    }), b.chapters),
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

/** zod → JSON Schema for response_format. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const js = z.toJSONSchema(schema, { unrepresentable: 'any' }) as Record<string, unknown>;
  delete js.$schema;
  return js;
}
