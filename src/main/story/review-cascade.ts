import type Database from 'better-sqlite3';
import type { ItemRef } from '../../shared/api/entities';

/**
 * What "approve with lines and QA" adds to a set of frames (issue #17 defect 7: approving frames alone left every
 * line and QA pair a draft, and the export wrote 0 records). A dialogue line goes with the frames around it: the
 * frame it follows is given (or, for lines before the first frame, the first frame). A subchapter's QA pairs go
 * when all of its frames are given — they ask about the whole subchapter.
 */
export function linesAndQaOfFrames(db: Database.Database, frameIds: readonly number[]): ItemRef[] {
  const given = new Set(frameIds);
  if (given.size === 0) return [];
  const subchapterOf = db.prepare<[number], { subchapter_id: number }>('SELECT subchapter_id FROM frame WHERE id = ?');
  const subchapters = new Set<number>();
  for (const id of given) {
    const row = subchapterOf.get(id);
    if (row) subchapters.add(row.subchapter_id);
  }
  const framesOf = db.prepare<[number], { id: number }>('SELECT id FROM frame WHERE subchapter_id = ? ORDER BY position, id');
  const linesOf = db.prepare<[number], { id: number; after_frame: number }>('SELECT id, after_frame FROM dialogue_line WHERE subchapter_id = ?');
  const qaOf = db.prepare<[number], { id: number }>("SELECT id FROM qa_pair WHERE scope = 'subchapter' AND subchapter_id = ?");
  const out: ItemRef[] = [];
  for (const sub of subchapters) {
    const frames = framesOf.all(sub).map((f) => f.id);
    for (const line of linesOf.all(sub)) {
      // after_frame k: the line follows the k-th frame (0: before the first one).
      const anchor = frames[Math.max(0, Math.min(line.after_frame, frames.length) - 1)];
      if (anchor !== undefined && given.has(anchor)) out.push({ type: 'dialogue', id: line.id });
    }
    if (frames.length > 0 && frames.every((id) => given.has(id))) {
      for (const qa of qaOf.all(sub)) out.push({ type: 'qa', id: qa.id });
    }
  }
  return out;
}

/** `items` plus the lines and QA that go with its frames (once each, given items first). */
export function withLinesAndQa(db: Database.Database, items: readonly ItemRef[]): ItemRef[] {
  const given = new Set(items.map((i) => `${i.type}:${i.id}`));
  const frames = items.filter((i) => i.type === 'frame').map((i) => i.id);
  return [...items, ...linesAndQaOfFrames(db, frames).filter((i) => !given.has(`${i.type}:${i.id}`))];
}
