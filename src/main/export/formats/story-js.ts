import type { StoryJs } from '../../import/story-js';
import type { ExportFilm } from '../selection';
import { jsonText, type DataFile, type FormatContext } from '../types';

/**
 * DreamFrame's story_js film (shared/docs/dreamframe-method.md §3): exactly the keys character,
 * img_diag, QA, overview, in that order, so that src/main/import/story-js.ts reads it back.
 * Frame prompts get the "generate an image in <keyword> style: " prefix back and character names
 * become their lookalike descriptors again (the importer's substitution, reversed).
 */

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function framePrompt(film: ExportFilm, description: string): string {
  // Longest names first so "Baron Rigby" wins over a character called "Rigby".
  const named = film.characters.filter((c) => c.lookalike.trim()).sort((a, b) => b.name.length - a.name.length);
  let text = description;
  if (named.length > 0) {
    const re = new RegExp(`(?<![\\p{L}\\p{N}])(${named.map((c) => escapeRegExp(c.name)).join('|')})(?![\\p{L}\\p{N}])`, 'gu');
    const byName = new Map(named.map((c) => [c.name, c.lookalike.trim()]));
    text = text.replace(re, (m) => byName.get(m) ?? m);
  }
  const keyword = film.styleKeyword.trim() || 'cinematic';
  return `generate an image in ${keyword} style: ${text}`;
}

export function toStoryJs(film: ExportFilm): StoryJs {
  const imgDiag: StoryJs['img_diag'] = [];
  for (const ch of film.chapters) {
    for (const sub of ch.subchapters) {
      const lines = [...sub.dialogue];
      let li = 0;
      // Lines before the first frame, then each frame followed by the lines after it.
      while (li < lines.length && lines[li].afterFrame === 0) imgDiag.push(['dialogue', lines[li++].text]);
      sub.frames.forEach((f, fi) => {
        imgDiag.push(['frame', framePrompt(film, f.description)]);
        while (li < lines.length && lines[li].afterFrame <= fi + 1) imgDiag.push(['dialogue', lines[li++].text]);
      });
      while (li < lines.length) imgDiag.push(['dialogue', lines[li++].text]);
    }
  }
  // QA order the importer expects: film level, then the k-th QA of every chapter for k = 1, 2, …,
  // then the subchapters' QAs in story order.
  const qa: StoryJs['QA'] = film.qa.map((q) => ({ Question: q.question, Answer: q.answer }));
  const perChapter = Math.max(0, ...film.chapters.map((c) => c.qa.length));
  for (let k = 0; k < perChapter; k++) {
    for (const ch of film.chapters) if (ch.qa[k]) qa.push({ Question: ch.qa[k].question, Answer: ch.qa[k].answer });
  }
  for (const ch of film.chapters) for (const sub of ch.subchapters) for (const q of sub.qa) qa.push({ Question: q.question, Answer: q.answer });

  const character: Record<string, string> = {};
  for (const c of film.characters) character[c.name] = c.lookalike;
  return { character, img_diag: imgDiag, QA: qa, overview: film.overview };
}

export function writeStoryJs(ctx: FormatContext): DataFile[] {
  return ctx.films.map((film) => {
    const story = toStoryJs(film);
    return { relPath: `story_js/${film.dirName}.json`, content: jsonText(story), records: story.img_diag.length };
  });
}
