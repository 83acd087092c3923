import { classifyQuestion } from '../story/qa-kind';
import { styleKeywordProblem, type Breadth, type Level1Answer, type Level2Answer, type Level3Answer, type QaItem } from './schemas';
import type { Level } from './templates';

/**
 * What a model gets wrong that is cosmetic is repaired here and reported as warnings the curator sees
 * on the plot node; only what makes the film unusable is left to fail validation (and so to a re-ask).
 * Two steps around the structural zod schema (schemas.ts):
 * - `prepareAnswer` works on the parsed JSON before validation: trims and collapses whitespace,
 *   keeps the first N items of a list longer than asked, reads a lone text as a one-item list,
 *   normalises enum spellings, clamps indices;
 * - `reviewLevelN` works on the validated answer: the rules the prompt states but JSON Schema cannot
 *   (keyword in braces, ((emphasis)), short locations, scenes drawn from the locations, question kinds).
 */

export interface Prepared { value: unknown; warnings: string[] }
export interface Reviewed<T> { value: T; warnings: string[]; issues: string[] }

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Trims every string and collapses runs of whitespace (line breaks included) to one space. */
function tidyStrings(v: Json, changed: { n: number }): Json {
  if (typeof v === 'string') {
    const t = v.replace(/\s+/g, ' ').trim();
    if (t !== v) changed.n++;
    return t;
  }
  if (Array.isArray(v)) return v.map((x) => tidyStrings(x, changed));
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, tidyStrings(x, changed)]));
  return v;
}

/** Keeps the first `max` items of `obj[key]` when it is a longer array. */
function truncate(obj: Json, key: string, max: number, path: string, warnings: string[]): void {
  if (!isObject(obj) || !Array.isArray(obj[key])) return;
  const list = obj[key] as Json[];
  if (list.length > max) {
    warnings.push(`${path}: ${list.length} given, ${max} asked; kept the first ${max}`);
    obj[key] = list.slice(0, max);
  }
}

/** A single string where a list is asked for ("scene": "tavern") is that one-item list. */
function listOfOne(obj: Json, key: string, path: string, warnings: string[]): void {
  if (!isObject(obj) || typeof obj[key] !== 'string') return;
  warnings.push(`${path}: a single text where a list was asked; read as a list of one`);
  obj[key] = [obj[key]];
}

const ENUMS: Record<string, Record<string, string>> = {
  role: { main: 'main', lead: 'main', protagonist: 'main', supporting: 'supporting', support: 'supporting', secondary: 'supporting' },
  gender: { man: 'man', male: 'man', boy: 'man', woman: 'woman', female: 'woman', girl: 'woman' },
};

/** "Main", "female": the words the schema's enums mean, spelled as they ask. */
function normaliseEnum(obj: Json, key: 'role' | 'gender', path: string, warnings: string[]): void {
  if (!isObject(obj) || typeof obj[key] !== 'string') return;
  const given = obj[key] as string;
  const mapped = ENUMS[key][given.toLowerCase()];
  if (mapped && mapped !== given) {
    obj[key] = mapped;
    if (mapped !== given.toLowerCase()) warnings.push(`${path}: "${given}" read as "${mapped}"`);
  }
}

export function prepareAnswer(level: Level, raw: Json, b: Breadth): Prepared {
  const warnings: string[] = [];
  const changed = { n: 0 };
  const value = tidyStrings(raw, changed);
  if (!isObject(value)) return { value, warnings };
  if (level === 1) {
    truncate(value, 'chapters', b.chapters, 'chapters', warnings);
    truncate(value, 'characters', 3, 'characters', warnings);
    if (Array.isArray(value.chapters)) {
      value.chapters.forEach((c, i) => {
        listOfOne(c, 'scene', `chapters.${i}.scene`, warnings);
        truncate(c, 'scene', 3, `chapters.${i}.scene`, warnings);
      });
    }
    if (Array.isArray(value.characters)) {
      value.characters.forEach((c, i) => {
        normaliseEnum(c, 'role', `characters.${i}.role`, warnings);
        normaliseEnum(c, 'gender', `characters.${i}.gender`, warnings);
      });
    }
    if (typeof value.styleKeyword === 'string') {
      // "{Dramatic}", "Dramatic." — the word itself is what is asked for.
      const bare = value.styleKeyword.replace(/^[^A-Za-z]+|[^A-Za-z]+$/g, '');
      if (bare !== value.styleKeyword && /^[A-Za-z]+$/.test(bare)) {
        warnings.push(`styleKeyword: "${value.styleKeyword}" read as "${bare}"`);
        value.styleKeyword = bare;
      }
    }
  } else if (level === 2) {
    truncate(value, 'subchapters', b.subchapters, 'subchapters', warnings);
  } else {
    truncate(value, 'frames', b.frames, 'frames', warnings);
    truncate(value, 'dialogue', b.dialogueLines, 'dialogue', warnings);
    truncate(value, 'qa', b.qaPairs, 'qa', warnings);
    if (Array.isArray(value.frames)) value.frames.forEach((f, i) => listOfOne(f, 'who', `frames.${i}.who`, warnings));
    if (Array.isArray(value.dialogue)) {
      value.dialogue.forEach((d, i) => {
        if (!isObject(d)) return;
        const given = typeof d.afterFrame === 'string' && /^\s*\d+\s*$/.test(d.afterFrame) ? Number(d.afterFrame) : d.afterFrame;
        if (typeof given !== 'number' || !Number.isFinite(given)) return;
        const clamped = Math.min(b.frames, Math.max(1, Math.round(given)));
        if (clamped !== d.afterFrame) {
          if (clamped !== given) warnings.push(`dialogue.${i}.afterFrame: ${given} is not a frame 1–${b.frames}; placed after frame ${clamped}`);
          d.afterFrame = clamped;
        }
      });
    }
  }
  if (changed.n > 0) warnings.push(`trimmed extra whitespace in ${changed.n} field(s)`);
  return { value, warnings };
}

const ASKED_KINDS = new Set(['what', 'why', 'how', 'where']);

function reviewQa(qa: QaItem, path: string, warnings: string[]): void {
  const kind = classifyQuestion(qa.question);
  if (!ASKED_KINDS.has(kind)) warnings.push(`${path}: a "${kind}" question, not what/why/how/where; kept as written ("${qa.question.slice(0, 60)}")`);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const placeKey = (s: string) => s.toLowerCase().replace(/^(the|a|an)\s+/, '');

/**
 * Level 1: the keyword must be usable by style learning (one word, one CLIP token when a tokenizer is
 * known) — that stays an issue for a re-ask; the rest is repaired.
 */
export function reviewLevel1(a: Level1Answer, tokenize?: (text: string) => string[]): Reviewed<Level1Answer> {
  const warnings: string[] = [];
  const issues: string[] = [];
  const keywordProblem = styleKeywordProblem(a.styleKeyword, tokenize);
  if (keywordProblem) issues.push(`styleKeyword: ${keywordProblem}`);

  let style = a.styleDescription;
  const braced = `{${a.styleKeyword}}`;
  if (!style.toLowerCase().includes(braced.toLowerCase())) {
    const bare = new RegExp(`(?<![{A-Za-z])${escapeRegExp(a.styleKeyword)}(?![}A-Za-z])`, 'i');
    style = bare.test(style) ? style.replace(bare, braced) : `${style}, ${braced}`;
    warnings.push(`styleDescription: had no ${braced}; ${bare.test(a.styleDescription) ? 'put the keyword in braces' : 'appended it'}`);
  }
  if (!/\(\([^()]+\)\)/.test(style)) warnings.push('styleDescription: no key phrase in ((double parentheses)); kept without emphasis');

  const locations: string[] = [];
  const byKey = new Map<string, string>();
  for (const loc of a.locations) {
    if (byKey.has(loc.toLowerCase())) { warnings.push(`locations: "${loc}" is listed twice; kept once`); continue; }
    byKey.set(loc.toLowerCase(), loc);
    locations.push(loc);
  }
  const long = locations.filter((l) => l.split(' ').length > 2);
  if (long.length) warnings.push(`locations: ${long.length} with more than two words, kept as written: ${long.map((l) => `"${l}"`).join(', ')}`);
  const owned = locations.filter((l) => /['’]s\b/i.test(l));
  if (owned.length) warnings.push(`locations: ${owned.map((l) => `"${l}"`).join(', ')} name an owner; kept as written`);

  const articleFree = new Map(locations.map((l) => [placeKey(l), l]));
  const chapters = a.chapters.map((ch, i) => {
    reviewQa(ch.qa, `chapters.${i}.qa`, warnings);
    const scene = ch.scene.map((s) => {
      const listed = byKey.get(s.toLowerCase()) ?? articleFree.get(placeKey(s));
      if (listed) return listed;
      warnings.push(`chapters.${i}.scene: "${s}" is not one of the locations; added it to them`);
      locations.push(s);
      byKey.set(s.toLowerCase(), s);
      articleFree.set(placeKey(s), s);
      return s;
    });
    return { ...ch, scene };
  });

  const mains = a.characters.filter((c) => c.role === 'main').length;
  if (mains < 1 || mains > 2) warnings.push(`characters: ${mains} main characters (1 or 2 asked)`);
  if (a.characters.length - mains > 1) warnings.push(`characters: ${a.characters.length - mains} supporting characters (at most 1 asked)`);
  const names = new Set<string>();
  const characters = a.characters.filter((c) => {
    const key = c.name.toLowerCase();
    if (names.has(key)) { warnings.push(`characters: "${c.name}" is listed twice; kept the first`); return false; }
    names.add(key);
    return true;
  });

  return { value: { ...a, styleDescription: style, locations, characters, chapters }, warnings, issues };
}

export function reviewLevel2(a: Level2Answer): Reviewed<Level2Answer> {
  const warnings: string[] = [];
  reviewQa(a.qa, 'qa', warnings);
  return { value: a, warnings, issues: [] };
}

export function reviewLevel3(a: Level3Answer): Reviewed<Level3Answer> {
  const warnings: string[] = [];
  a.qa.forEach((qa, i) => reviewQa(qa, `qa.${i}`, warnings));
  return { value: a, warnings, issues: [] };
}
