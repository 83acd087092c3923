import type Database from 'better-sqlite3';
import type { ReviewState } from '../../shared/api/entities';
import type { SearchHit } from '../../shared/api/methods-curation';
import { frameSearchRows, lineSearchRows, qaSearchRows, type SearchRow } from './repo';

/**
 * Text search across a film for curators: frame descriptions and scenes, dialogue text and
 * speakers, QA questions and answers. Case- and accent-insensitive substring match, in story order.
 */

function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLocaleLowerCase();
}

function snippet(text: string, at: number, length: number): string {
  const start = Math.max(0, at - 40);
  const end = Math.min(text.length, at + length + 60);
  return `${start > 0 ? '…' : ''}${text.slice(start, end)}${end < text.length ? '…' : ''}`;
}

export function searchFilm(db: Database.Database, filmId: number, query: string, state: ReviewState | undefined, limit: number,
  type?: SearchHit['type']):
  { hits: SearchHit[]; total: number } {
  const q = fold(query.trim());
  const sources: { type: SearchHit['type']; fields: string[]; rows: SearchRow[] }[] = [
    { type: 'frame', fields: ['description', 'scene'], rows: frameSearchRows(db, filmId) },
    { type: 'dialogue', fields: ['text', 'speaker'], rows: lineSearchRows(db, filmId) },
    { type: 'qa', fields: ['question', 'answer'], rows: qaSearchRows(db, filmId) },
  ];
  const hits: SearchHit[] = [];
  let total = 0;
  for (const src of sources) {
    if (type && src.type !== type) continue;
    for (const row of src.rows) {
      if (state && row.state !== state) continue;
      for (const field of src.fields) {
        const value = row[field];
        if (typeof value !== 'string') continue;
        const at = q === '' ? 0 : fold(value).indexOf(q);
        if (at < 0) continue;
        total++;
        // Folding can change lengths (decomposed accents); the snippet position is approximate then.
        if (hits.length < limit) hits.push({ type: src.type, id: row.id, field, snippet: snippet(value, at, q.length), state: row.state });
        break;
      }
    }
  }
  return { hits, total };
}
