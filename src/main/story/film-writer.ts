import type Database from 'better-sqlite3';
import type { FilmDocument } from '../../shared/film-document';
import { AppError } from '../../shared/errors';
import { mutate } from '../db/mutation';
import { classifyQuestion } from './qa-kind';

export interface FilmMeta {
  source: 'sample' | 'story_js' | 'llm' | 'manual';
  structure: 'hierarchical' | 'flat';
  generation?: Record<string, unknown>;
}

/**
 * Inserts a whole film tree from a validated FilmDocument in one transaction (a savepoint when the
 * caller already holds one) and returns the new film id.
 */
export function insertFilmDocument(db: Database.Database, doc: FilmDocument, meta: FilmMeta): number {
  const insFilm = db.prepare(`INSERT INTO film
    (theme, title, overview, style_description, style_keyword, locations_json, generation_json, source, structure)
    VALUES (@theme, @title, @overview, @styleDescription, @styleKeyword, @locations, @generation, @source, @structure)`);
  const insChar = db.prepare(`INSERT INTO character (film_id, position, name, lookalike, role, color)
    VALUES (?, ?, ?, ?, ?, ?)`);
  const insChapter = db.prepare('INSERT INTO chapter (film_id, position, title, scene, summary) VALUES (?, ?, ?, ?, ?)');
  const insSub = db.prepare('INSERT INTO subchapter (chapter_id, position, title, scene, summary) VALUES (?, ?, ?, ?, ?)');
  const insFrame = db.prepare('INSERT INTO frame (subchapter_id, position, description, scene) VALUES (?, ?, ?, ?)');
  const insLine = db.prepare(`INSERT INTO dialogue_line (subchapter_id, after_frame, seq, speaker, text)
    VALUES (?, ?, ?, ?, ?)`);
  const insQa = db.prepare(`INSERT INTO qa_pair (film_id, scope, chapter_id, subchapter_id, position, question, answer, kind)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);

  return mutate(db, (m) => {
    const filmId = Number(insFilm.run({
      theme: doc.theme,
      title: doc.title,
      overview: doc.overview,
      styleDescription: doc.styleDescription,
      styleKeyword: doc.styleKeyword,
      locations: JSON.stringify(doc.locations),
      generation: JSON.stringify(meta.generation ?? {}),
      source: meta.source,
      structure: meta.structure,
    }).lastInsertRowid);

    doc.characters.forEach((c, i) => insChar.run(filmId, i, c.name, c.lookalike, c.role, c.color));
    let qaPosition = 0;
    const addQa = (scope: 'film' | 'chapter' | 'subchapter', chapterId: number | null, subId: number | null,
      qa: FilmDocument['qa'][number]) => {
      insQa.run(filmId, scope, chapterId, subId, qaPosition++, qa.question, qa.answer, qa.kind ?? classifyQuestion(qa.question));
    };
    for (const qa of doc.qa) addQa('film', null, null, qa);

    doc.chapters.forEach((ch, ci) => {
      const chapterId = Number(insChapter.run(filmId, ci, ch.title, ch.scene, ch.summary).lastInsertRowid);
      for (const qa of ch.qa) addQa('chapter', chapterId, null, qa);
      ch.subchapters.forEach((sub, si) => {
        const subId = Number(insSub.run(chapterId, si, sub.title, sub.scene, sub.summary).lastInsertRowid);
        for (const qa of sub.qa) addQa('subchapter', chapterId, subId, qa);
        let frames = 0;
        let seq = 0;
        for (const item of sub.items) {
          if (item.type === 'frame') {
            insFrame.run(subId, frames++, item.description, item.scene);
            seq = 0;
          } else {
            insLine.run(subId, frames, seq++, item.speaker, item.text);
          }
        }
      });
    });
    m.touch(filmId, { type: 'film', ids: [filmId] });
    return filmId;
  });
}

/** Deletes a film and everything under it (the schema cascades to its rows). */
export function deleteFilm(db: Database.Database, filmId: number): void {
  mutate(db, (m) => {
    const { changes } = db.prepare('DELETE FROM film WHERE id = ?').run(filmId);
    if (changes === 0) throw new AppError('not_found', `No film with id ${filmId}`, { filmId });
    m.touch(filmId, { type: 'film', ids: [filmId] });
  });
}
