import type Database from 'better-sqlite3';
import { stmt } from './stmt';
import type { ChatMessage } from './llm-client';
import type { Breadth } from './schemas';
import { MIN_LOCATIONS } from './schemas';
import { fillTemplate, type Level, type TemplateText } from './templates';
import type { NodeRow } from './tree-store';

/**
 * Builds each node's messages from what the story tables hold *now*, so a level edited by hand
 * before expanding further is what the next level sees. The JSON Schema is appended to the system
 * message so servers without response_format support still know the shape.
 */

interface FilmRow { theme: string; title: string; overview: string; style_description: string; locations_json: string }

function filmVars(db: Database.Database, filmId: number): Record<string, string> {
  const f = stmt<FilmRow>(db, 'SELECT theme, title, overview, style_description, locations_json FROM film WHERE id = ?').get(filmId)!;
  const chars = stmt<{ name: string; role: string; lookalike: string }>(db,
      'SELECT name, role, lookalike FROM character WHERE film_id = ? ORDER BY position').all(filmId);
  const chapters = stmt<{ position: number; title: string; summary: string }>(db,
      'SELECT position, title, summary FROM chapter WHERE film_id = ? ORDER BY position').all(filmId);
  return {
    theme: f.theme,
    title: f.title,
    overview: f.overview,
    styleDescription: f.style_description,
    locations: (JSON.parse(f.locations_json) as string[]).join(', '),
    characters: chars.map((c) => `- ${c.name} (${c.role}): ${c.lookalike}`).join('\n'),
    chapterList: chapters.map((c) => `${c.position + 1}. ${c.title}: ${c.summary}`).join('\n'),
  };
}

function breadthVars(b: Breadth): Record<string, number> {
  return { chapters: b.chapters, subchapters: b.subchapters, frames: b.frames, dialogueLines: b.dialogueLines, qaPairs: b.qaPairs, minLocations: MIN_LOCATIONS };
}

export function nodeVars(db: Database.Database, filmId: number, node: NodeRow, breadth: Breadth): Record<string, string | number> {
  const vars: Record<string, string | number> = { ...filmVars(db, filmId), ...breadthVars(breadth) };
  if (node.level >= 2) {
    const ch = stmt<{ id: number; title: string; scene: string; summary: string }>(db,
        'SELECT id, title, scene, summary FROM chapter WHERE film_id = ? AND position = ?').get(filmId, node.chapter_pos)!;
    Object.assign(vars, { chapterNumber: node.chapter_pos! + 1, chapterTitle: ch.title, chapterScene: ch.scene, chapterSummary: ch.summary });
    if (node.level === 3) {
      const sub = stmt<{ title: string; scene: string; summary: string }>(db,
          'SELECT title, scene, summary FROM subchapter WHERE chapter_id = ? AND position = ?').get(ch.id, node.subchapter_pos)!;
      Object.assign(vars, {
        subchapterNumber: `${node.chapter_pos! + 1}-${node.subchapter_pos! + 1}`,
        subchapterTitle: sub.title, subchapterScene: sub.scene, subchapterSummary: sub.summary,
      });
    }
  }
  return vars;
}

export function buildMessages(template: TemplateText, level: Level, vars: Record<string, string | number>,
  jsonSchema: Record<string, unknown>): ChatMessage[] {
  return [
    { role: 'system', content: `${fillTemplate(template.system, vars, level)}\n\nJSON Schema of the answer:\n${JSON.stringify(jsonSchema)}` },
    { role: 'user', content: fillTemplate(template.user, vars, level) },
  ];
}
