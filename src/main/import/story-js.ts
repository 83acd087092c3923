import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ImportReport } from '../../shared/api/contract';
import { AppError } from '../../shared/errors';
import { withWriteRetry } from '../db/write-retry';
import type { FilmDocument } from '../../shared/film-document';
import type { Project } from '../project/project';
import { insertFilmDocument } from '../story/film-writer';
import { getFilm } from '../story/film-reader';
import { readImportText } from './input-file';
import { filmsImportedFrom } from './repo';
import { describeIssues, parseJsonText } from './json-errors';

/**
 * The DreamFrame release's "story_js" film: characters (name → lookalike), the interleaved
 * frame/dialogue sequence, QA pairs and the overview. See shared/docs/dreamframe-method.md §3.
 */
export const StoryJs = z.object({
  character: z.record(z.string().min(1), z.string()),
  img_diag: z.array(z.tuple([z.enum(['frame', 'dialogue']), z.string()])),
  QA: z.array(z.object({ Question: z.string(), Answer: z.string() })),
  overview: z.string(),
});
export type StoryJs = z.infer<typeof StoryJs>;

const PROMPT_PREFIX = /^\s*generate an image (?:in|on) (\S+?) style\s*:\s*/i;
const LEADING_PLACE = /^(?:in|at|on|inside|outside|near|by)\s+(?:the\s+)?([^,]{2,60}),/i;
const OVERVIEW_QUESTION = 'Describe in detail the events that occur in this movie.';

interface Grouping {
  structure: 'hierarchical' | 'flat';
  chapters: number;
  subchapters: number;
  frames: number;
}

/** 1,331 frames = 11 × 11 × 11: any perfect cube is split evenly; anything else stays one sequence. */
function chooseGrouping(frameCount: number): Grouping {
  const k = Math.round(Math.cbrt(frameCount));
  if (k >= 2 && k * k * k === frameCount) return { structure: 'hierarchical', chapters: k, subchapters: k, frames: k };
  return { structure: 'flat', chapters: 1, subchapters: 1, frames: frameCount };
}

/** Distinct place names, ignoring case and apostrophe style; the first spelling wins. */
function distinctPlaces(scenes: string[]): string[] {
  const seen = new Map<string, string>();
  for (const scene of scenes) {
    const key = scene.toLowerCase().replace(/[’‘`]/g, "'").trim();
    if (key && !seen.has(key)) seen.set(key, scene);
  }
  return [...seen.values()].slice(0, 64);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Converts a validated story_js value into our film document, collecting what could not be mapped. */
export function storyJsToFilmDocument(story: StoryJs, sourceName: string): {
  doc: FilmDocument; structure: Grouping['structure']; unmapped: string[];
} {
  const unmapped: string[] = [];
  const characters = Object.entries(story.character).map(([name, lookalike]) => ({ name, lookalike }));

  // Longest descriptors first so "… in dark green" never half-matches a shorter one.
  const byLength = [...characters].filter((c) => c.lookalike.trim()).sort((a, b) => b.lookalike.length - a.lookalike.length);
  const descriptorRes = byLength.map((c) => ({ name: c.name, re: new RegExp(escapeRegExp(c.lookalike.trim()), 'gi') }));
  const mentions = new Map<string, number>(characters.map((c) => [c.name, 0]));

  const keywordVotes = new Map<string, number>();
  let framesWithoutPrefix = 0;
  let partialLookalikes = 0;
  const celebrityRes = characters
    .map((c) => /looks like (.+?)(?: in |$)/i.exec(c.lookalike)?.[1])
    .filter((s): s is string => Boolean(s))
    .map((s) => new RegExp(`looks like ${escapeRegExp(s)}`, 'i'));

  const frameTexts: { description: string; scene: string }[] = [];
  for (const [kind, text] of story.img_diag) {
    if (kind !== 'frame') continue;
    let description = text;
    const prefix = PROMPT_PREFIX.exec(description);
    if (prefix) {
      keywordVotes.set(prefix[1], (keywordVotes.get(prefix[1]) ?? 0) + 1);
      description = description.slice(prefix[0].length);
    } else {
      framesWithoutPrefix++;
    }
    for (const { name, re } of descriptorRes) {
      description = description.replace(re, () => {
        mentions.set(name, (mentions.get(name) ?? 0) + 1);
        return name;
      });
    }
    if (celebrityRes.some((re) => re.test(description))) partialLookalikes++;
    const place = LEADING_PLACE.exec(description);
    frameTexts.push({ description: description.trim(), scene: place ? place[1].trim() : '' });
  }

  const keywords = [...keywordVotes.entries()].sort((a, b) => b[1] - a[1]);
  const styleKeyword = keywords[0]?.[0] ?? '';
  if (keywords.length > 1) {
    unmapped.push(`frames name ${keywords.length} style keywords (${keywords.map(([k, n]) => `${k} ×${n}`).join(', ')}); kept "${styleKeyword}"`);
  }
  if (framesWithoutPrefix > 0) {
    unmapped.push(`${framesWithoutPrefix} frame(s) lack the "generate an image in <keyword> style:" prefix; their text was kept whole`);
  }
  if (partialLookalikes > 0) {
    unmapped.push(`${partialLookalikes} frame(s) mention a character's lookalike celebrity without the full descriptor; left unchanged`);
  }

  const grouping = chooseGrouping(frameTexts.length);
  if (grouping.structure === 'flat' && frameTexts.length > 0) {
    unmapped.push(`${frameTexts.length} frames do not form equal chapters and subchapters; imported as one flat sequence`);
  }

  // Walk img_diag again, placing frames and the dialogue lines that follow them.
  type Item = FilmDocument['chapters'][number]['subchapters'][number]['items'][number];
  const perSub = grouping.frames;
  const subCount = grouping.chapters * grouping.subchapters;
  const items: Item[][] = Array.from({ length: Math.max(subCount, 1) }, () => []);
  let frameIndex = 0;
  for (const [kind, text] of story.img_diag) {
    if (kind === 'frame') {
      const sub = Math.min(Math.floor(frameIndex / Math.max(perSub, 1)), items.length - 1);
      items[sub].push({ type: 'frame', ...frameTexts[frameIndex] });
      frameIndex++;
    } else {
      // A line follows the last frame placed; before any frame it opens the first subchapter.
      const sub = frameIndex === 0 ? 0 : Math.min(Math.floor((frameIndex - 1) / Math.max(perSub, 1)), items.length - 1);
      items[sub].push({ type: 'dialogue', speaker: null, text });
    }
  }

  // QA: the overview question, then level-1, level-2 (one per chapter each) and level-3 (per subchapter).
  const qa = story.QA.map((q) => ({ question: q.Question, answer: q.Answer }));
  const filmQa: FilmDocument['qa'] = [];
  const chapterQa: FilmDocument['qa'][] = Array.from({ length: grouping.chapters }, () => []);
  const subQa: FilmDocument['qa'][] = Array.from({ length: subCount }, () => []);
  let rest = qa;
  const hasOverviewQa = rest.length > 0 && /^describe\b/i.test(rest[0].question);
  if (hasOverviewQa) {
    filmQa.push(rest[0]);
    rest = rest.slice(1);
  } else if (story.overview.trim()) {
    filmQa.push({ question: OVERVIEW_QUESTION, answer: story.overview.trim() });
    unmapped.push('no overview QA pair in the file; added the "describe the whole movie" pair from the overview');
  }
  const c = grouping.chapters;
  const s = subCount;
  const perSubQa = grouping.structure === 'hierarchical' && s > 0 && (rest.length - 2 * c) % s === 0 ? (rest.length - 2 * c) / s : -1;
  if (grouping.structure === 'hierarchical' && perSubQa >= 1) {
    for (let i = 0; i < c; i++) chapterQa[i].push(rest[i]);
    for (let i = 0; i < c; i++) chapterQa[i].push(rest[c + i]);
    rest.slice(2 * c).forEach((q, i) => subQa[Math.floor(i / perSubQa)].push(q));
  } else {
    filmQa.push(...rest);
    if (rest.length > 0 && grouping.structure === 'hierarchical') {
      unmapped.push(`${rest.length} QA pairs do not match the 1 + 2×chapters + k×subchapters layout; kept at film level`);
    }
  }

  const ranked = [...characters].sort((a, b) => (mentions.get(b.name) ?? 0) - (mentions.get(a.name) ?? 0));
  const mainNames = new Set(ranked.slice(0, 2).map((ch) => ch.name));
  for (const ch of characters) {
    if ((mentions.get(ch.name) ?? 0) === 0) unmapped.push(`character "${ch.name}": descriptor "${ch.lookalike}" never appears in a frame`);
  }

  const title = /^\s*['"‘“]([^'"’”]{2,120})['"’”]/.exec(story.overview)?.[1] ?? sourceName;
  const doc: FilmDocument = {
    format: 'dreamframe-film',
    version: 1,
    theme: '',
    title,
    overview: story.overview,
    styleDescription: '',
    styleKeyword,
    locations: distinctPlaces(frameTexts.map((f) => f.scene)),
    characters: characters.map((ch) => ({
      name: ch.name,
      lookalike: ch.lookalike,
      role: mainNames.has(ch.name) ? 'main' : 'supporting',
      color: /\bin ([a-z ]+)$/i.exec(ch.lookalike)?.[1] ?? null,
    })),
    qa: filmQa,
    chapters: Array.from({ length: grouping.chapters }, (_, ci) => ({
      title: grouping.structure === 'flat' ? 'Full film' : `Chapter ${ci + 1}`,
      scene: '',
      summary: '',
      qa: chapterQa[ci] ?? [],
      subchapters: Array.from({ length: grouping.subchapters }, (_, si) => {
        const index = ci * grouping.subchapters + si;
        const subItems = items[index] ?? [];
        const scenes = [...new Set(subItems.flatMap((it) => (it.type === 'frame' && it.scene ? [it.scene] : [])))];
        return {
          title: grouping.structure === 'flat' ? 'All frames' : `Subchapter ${ci + 1}.${si + 1}`,
          scene: scenes.join(', '),
          summary: '',
          qa: subQa[index] ?? [],
          items: subItems,
        };
      }),
    })),
  };
  return { doc, structure: grouping.structure, unmapped };
}

/** Validates story_js text; errors name the file and the JSON path at fault. */
export function parseStoryJs(text: string, file: string): StoryJs {
  const parsed = parseJsonText(text);
  if (!parsed.ok) throw new AppError('import_invalid_json', `${file}: ${parsed.message}`, { file });
  const result = StoryJs.safeParse(parsed.value);
  if (!result.success) {
    const { text: summary, issues } = describeIssues(result.error);
    throw new AppError('import_invalid_shape', `${file}: not a story_js film: ${summary}`, { file, issues });
  }
  if (!result.data.img_diag.some(([k]) => k === 'frame')) {
    throw new AppError('import_invalid_shape', `${file}: $.img_diag holds no frame`, { file, issues: [{ path: '$.img_diag', message: 'no frame' }] });
  }
  return result.data;
}

export interface StoryJsImportOptions {
  /** Import even when a film of the project was imported from the same content. */
  asNew?: boolean;
}

/** Hash of a story_js film's content (its parsed JSON), so whitespace and key spacing do not matter. */
export function storyJsContentHash(story: StoryJs): string {
  return createHash('sha256').update(JSON.stringify(story)).digest('hex');
}

/**
 * Imports one story_js file as a new film, in a single transaction; nothing is written on error.
 * Content a film of the project was imported from is refused unless `asNew` (films imported before
 * the hash was recorded are not recognised).
 */
export function importStoryJsText(project: Project, text: string, file: string, options: StoryJsImportOptions = {}): ImportReport {
  // Immediate: the duplicate check reads before the film is written, and a deferred read would be refused
  // outright (not waited for) once another process wrote in between; withWriteRetry waits out a long writer.
  return withWriteRetry(project.db, () => project.db.transaction(() => importParsed(project, text, file, options)).immediate());
}

function importParsed(project: Project, text: string, file: string, options: StoryJsImportOptions): ImportReport {
  const story = parseStoryJs(text, file);
  const name = file.split(/[\\/]/).pop()?.replace(/\.json$/i, '') ?? 'Imported film';
  const sourceSha256 = storyJsContentHash(story);
  if (!options.asNew) {
    const earlier = filmsImportedFrom(project.db, sourceSha256);
    if (earlier.length > 0) {
      throw new AppError('import_duplicate', `${file} was already imported as ${earlier.map((f) => `film ${f.id} ("${f.title}")`).join(', ')}; `
        + 'pass --as-new (API: asNew: true) to import it again as another film', { file, filmIds: earlier.map((f) => f.id) });
    }
  }
  const { doc, structure, unmapped } = storyJsToFilmDocument(story, name);
  const filmId = insertFilmDocument(project.db, doc, {
    source: 'story_js',
    structure,
    generation: { importedFrom: name, sourceSha256 },
  });
  return { filmId, structure, counts: getFilm(project.db, filmId).counts, unmapped };
}

export function importStoryJsFile(project: Project, file: string, options: StoryJsImportOptions = {}): ImportReport {
  // Only a regular file within the size limit is read (not /dev/zero, a FIFO or a folder).
  const text = readImportText(file);
  return importStoryJsText(project, text, file, options);
}
