import type Database from 'better-sqlite3';
import { AppError } from '../../shared/errors';
import { readProjectSetting, writeProjectSetting } from './settings';
import { mutate } from '../db/mutation';

/**
 * Our prompt templates for the three expansion levels, written after the structure the DreamFrame
 * paper describes (rules, then what to fill in), asking for JSON instead of a labelled text layout.
 * `{{name}}` placeholders are filled per node. Every version a project ever used stays in
 * plot_template so each node can name the one that produced it; editing makes a new version.
 */

export type Level = 1 | 2 | 3;

export interface TemplateText {
  system: string;
  user: string;
}

export interface StoredTemplate extends TemplateText {
  id: number;
  level: Level;
  version: string;
  builtin: boolean;
}

export const BUILTIN_VERSION = 'builtin-1';

const COMMON_RULES = `Write in English. Answer with one JSON object only, exactly in the shape of the JSON Schema given below, with no text before or after it.
Every question you write must start with What, Why, How or Where and be answerable from the story; answers are one or two sentences.
A character who appears twice or more must be one of the listed characters; everyone else is described once, as "a man looks like <Western actor>" or "a woman looks like <Western actress>".`;

export const BUILTIN_TEMPLATES: Record<Level, TemplateText> = {
  1: {
    system: `You are a screenwriter planning a short film that will be drawn as still keyframes by an image model.
${COMMON_RULES}
Rules for the plan:
- title: the film's title. overview: one paragraph that tells the whole story from beginning to end.
- styleDescription: only the VISUAL style (lighting, palette, texture, camera, mood), as comma-separated adjectives and short phrases. Wrap the key phrases in double parentheses like ((warm candlelight)), and include the style keyword exactly once in braces like {Dramatic}.
- styleKeyword: that same single English word, letters only (for example Dramatic, Romantic, Gothic).
- locations: at least {{minLocations}} common places where the story happens, at most two words each, without names or possessives ("tavern" is fine, "Mary's house" is not).
- characters: one or two main characters and at most one supporting character, each with a name, whether they are a man or a woman, a well-known Western actor or actress they look like, and the colour they wear (one or two words).
- chapters: exactly {{chapters}} chapters in story order, each with a title, a scene of one to three entries copied from locations (the chapter happens only there), a short summary, and one question-answer pair about it.`,
    user: `Theme of the film: {{theme}}`,
  },
  2: {
    system: `You are a screenwriter expanding one chapter of a film into shorter subchapters.
${COMMON_RULES}
Rules for the expansion:
- subchapters: exactly {{subchapters}} subchapters that tell this chapter in order, each with a title, a scene (where it happens; it may be a sentence, consistent with the chapter's scene, the film's visual style and locations) and a summary.
- Do not tell events of other chapters, and never shorten the list with "…".
- qa: one question-answer pair about the whole chapter.`,
    user: `Film: {{title}}
Overview: {{overview}}
Visual style: {{styleDescription}}
Locations: {{locations}}
Characters:
{{characters}}
All chapters:
{{chapterList}}

Expand chapter {{chapterNumber}}: {{chapterTitle}}
Scene: {{chapterScene}}
Summary: {{chapterSummary}}`,
  },
  3: {
    system: `You are a storyboard artist turning one short scene of a film into keyframes and dialogue.
${COMMON_RULES}
Rules for the storyboard:
- frames: exactly {{frames}} keyframes in order. Each names its location (matching the scene), who is in it (character names as listed, or "a man looks like <actor>" for one-off people), the action (only stand, sit, look, talk, hold, squat, walk or hug), the facial expression, and a one-sentence description of the form "<at the location>, <who> is <doing something>, with a <expression> face." using the characters' names.
- Never more than two neighbouring frames that look almost the same, and if so put different dialogue lines between them.
- dialogue: exactly {{dialogueLines}} lines spoken by the main characters, one or two sentences each, with the number of the frame each line follows (afterFrame, 1 to {{frames}}).
- qa: exactly {{qaPairs}} question-answer pairs about these frames and lines.`,
    user: `Film overview: {{overview}}
Characters:
{{characters}}
Chapter {{chapterNumber}}: {{chapterTitle}} — {{chapterSummary}}

Storyboard subchapter {{subchapterNumber}}: {{subchapterTitle}}
Scene: {{subchapterScene}}
Summary: {{subchapterSummary}}`,
  },
};

/** Fills `{{name}}` placeholders; an unknown name is an error naming the template level. */
export function fillTemplate(template: string, vars: Record<string, string | number>, level: Level): string {
  return template.replace(/\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g, (_, name: string) => {
    if (!(name in vars)) {
      throw new AppError('plot.template_unknown_placeholder', `Level ${level} template uses {{${name}}}, which is not one of: ${Object.keys(vars).join(', ')}`, { level, name });
    }
    return String(vars[name]);
  });
}

interface TemplateRow { id: number; level: Level; version: string; system_text: string; user_text: string; builtin: number }

const fromRow = (r: TemplateRow): StoredTemplate =>
  ({ id: r.id, level: r.level, version: r.version, system: r.system_text, user: r.user_text, builtin: r.builtin === 1 });

/** The version label of a stored template (null when the row is gone). */
export function templateVersion(db: Database.Database, id: number): string | null {
  return db.prepare<[number], { version: string }>('SELECT version FROM plot_template WHERE id = ?').get(id)?.version ?? null;
}

export function getTemplate(db: Database.Database, id: number): StoredTemplate {
  const row = db.prepare<unknown[], TemplateRow>('SELECT * FROM plot_template WHERE id = ?').get(id);
  if (!row) throw new AppError('not_found', `No plot template with id ${id}`, { id });
  return fromRow(row);
}

function builtinId(db: Database.Database, level: Level): number {
  const t = BUILTIN_TEMPLATES[level];
  db.prepare(`INSERT INTO plot_template (level, version, system_text, user_text, builtin) VALUES (?, ?, ?, ?, 1)
    ON CONFLICT (level, version) DO NOTHING`).run(level, BUILTIN_VERSION, t.system, t.user);
  return (db.prepare<unknown[], { id: number }>(
      'SELECT id FROM plot_template WHERE level = ? AND version = ?').get(level, BUILTIN_VERSION)!).id;
}

/** The template the project currently uses for a level (the built-in one unless edited). */
export function activeTemplate(db: Database.Database, level: Level): StoredTemplate {
  const id = readProjectSetting<number>(db, `template.level${level}`);
  return getTemplate(db, id ?? builtinId(db, level));
}

export function activeTemplateIds(db: Database.Database): Record<Level, number> {
  return { 1: activeTemplate(db, 1).id, 2: activeTemplate(db, 2).id, 3: activeTemplate(db, 3).id };
}

/** Saves an edited template as the project's next version for that level and makes it active. */
export function saveTemplate(db: Database.Database, level: Level, text: TemplateText): StoredTemplate {
  return mutate(db, () => {
    const n = (db.prepare<unknown[], { n: number }>(
        'SELECT count(*) AS n FROM plot_template WHERE level = ? AND builtin = 0').get(level)!).n;
    const id = Number(db.prepare(`INSERT INTO plot_template (level, version, system_text, user_text) VALUES (?, ?, ?, ?)`)
      .run(level, `custom-${n + 1}`, text.system, text.user).lastInsertRowid);
    writeProjectSetting(db, `template.level${level}`, id);
    return getTemplate(db, id);
  });
}

/** Makes the built-in template active again (edited versions stay for the nodes that used them). */
export function resetTemplate(db: Database.Database, level: Level): StoredTemplate {
  writeProjectSetting(db, `template.level${level}`, null);
  return activeTemplate(db, level);
}
