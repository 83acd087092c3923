import type { StoryJs } from '../../import/story-js';
import { framePromptOf } from '../../story/frame-prompt';
import type { ExportFilm } from '../selection';
import { jsonText, type DataFile, type FormatContext } from '../types';

/**
 * DreamFrame's story_js film (shared/docs/dreamframe-method.md §3): exactly the keys character,
 * img_diag, QA, overview, in that order, so that src/main/import/story-js.ts reads it back.
 * Frame prompts are the app's one frame prompt (story/frame-prompt.ts): the "generate an image in
 * <keyword> style: " prefix back and character names become their lookalike descriptors again (the
 * importer's substitution, reversed); a film without a keyword gets "cinematic", as the format needs one.
 */

/** story_js frame entries always carry the "generate an image in <keyword> style: " prefix (see framePrompt's doc). */
const STORY_JS_FALLBACK_KEYWORD = 'cinematic';

export function toStoryJs(film: ExportFilm): StoryJs {
  const imgDiag: StoryJs['img_diag'] = [];
  const prompted = { keyword: film.styleKeyword, characters: film.characters };
  for (const ch of film.chapters) {
    for (const sub of ch.subchapters) {
      const lines = [...sub.dialogue];
      let li = 0;
      // Lines before the first frame, then each frame followed by the lines after it.
      while (li < lines.length && lines[li].afterFrame === 0) imgDiag.push(['dialogue', lines[li++].text]);
      sub.frames.forEach((f, fi) => {
        imgDiag.push(['frame', framePromptOf(prompted, f.description, { fallbackKeyword: STORY_JS_FALLBACK_KEYWORD })]);
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
