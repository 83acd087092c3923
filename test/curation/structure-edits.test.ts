import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { openProject } from '../../src/main/project/project';
import { editItem, redo, undo } from '../../src/main/story/edits';
import { undoRedoLabels } from '../../src/main/db/edit-log';
import { getStoryboard, listFilms } from '../../src/main/story/film-reader';
import {
  deleteDialogue, deleteFrame, insertDialogue, insertFrame, moveDialogue, moveFrame,
} from '../../src/main/curation/structure-edits';
import { useTempDir } from '../support/tmp';

/**
 * The storyboard of a subchapter as one interleaved sequence ("F<id>" frames, "D<id>" lines), read back
 * through the film reader; each edit is checked against the same operation done on a plain array.
 */
function sequence(db: Database.Database, filmId: number, subchapterId: number): string[] {
  const sb = getStoryboard(db, filmId);
  const frames = sb.frames.filter((f) => f.subchapterId === subchapterId);
  const lines = sb.dialogue.filter((d) => d.subchapterId === subchapterId);
  const out: string[] = [];
  for (let k = 0; k <= frames.length; k++) {
    out.push(...lines.filter((l) => l.afterFrame === k).map((l) => `D${l.id}`));
    if (k < frames.length) out.push(`F${frames[k].id}`);
  }
  return out;
}

/** The storyboard without the film's updatedAt (every edit, and its undo, touches that). */
function content(db: Database.Database, filmId: number) {
  const sb = getStoryboard(db, filmId);
  return { ...sb, film: { ...sb.film, updatedAt: '' } };
}

function frameSlots(seq: string[]): number[] {
  return seq.flatMap((t, i) => (t.startsWith('F') ? [i] : []));
}

function setup(dir: string) {
  const p = createProjectWithSample(dir, true);
  const filmId = listFilms(p.db)[0].id;
  const sb = getStoryboard(p.db, filmId);
  // The subchapter with the most dialogue lines exercises the line bookkeeping best.
  const sub = [...sb.subchapters].sort((a, b) =>
    sb.dialogue.filter((d) => d.subchapterId === b.id).length - sb.dialogue.filter((d) => d.subchapterId === a.id).length)[0];
  return { p, filmId, sub: sub.id };
}

describe('structure edits', () => {
  const tmp = useTempDir();

  it('inserts, deletes and moves frames like the same edits on the sequence, and undoes each exactly', () => {
    const { p, filmId, sub } = setup(join(tmp(), 'p'));
    const original = content(p.db, filmId);
    const seq0 = sequence(p.db, filmId, sub);
    expect(seq0.some((t) => t.startsWith('D'))).toBe(true);

    // Insert as the 2nd frame: right before the old 2nd frame, after the lines that preceded it.
    const { frameId } = insertFrame(p.db, { subchapterId: sub, index: 1, description: 'A new frame', scene: 'Pier' });
    const expected1 = [...seq0];
    expected1.splice(frameSlots(seq0)[1], 0, `F${frameId}`);
    expect(sequence(p.db, filmId, sub)).toEqual(expected1);
    const inserted = getStoryboard(p.db, filmId).frames.find((f) => f.id === frameId)!;
    expect(inserted).toMatchObject({ description: 'A new frame', scene: 'Pier', position: 1, review: { state: 'draft' } });

    // Delete the 3rd frame: the token disappears, everything else keeps its order.
    const third = expected1[frameSlots(expected1)[2]];
    deleteFrame(p.db, Number(third.slice(1)));
    const expected2 = expected1.filter((t) => t !== third);
    expect(sequence(p.db, filmId, sub)).toEqual(expected2);

    // Move the 1st frame to the last place: frame ids permute over the same slots.
    const slots = frameSlots(expected2);
    const ids = slots.map((i) => expected2[i]);
    moveFrame(p.db, Number(ids[0].slice(1)), ids.length - 1);
    const expected3 = [...expected2];
    const permuted = [...ids.slice(1), ids[0]];
    slots.forEach((slot, i) => { expected3[slot] = permuted[i]; });
    expect(sequence(p.db, filmId, sub)).toEqual(expected3);
    // Positions stay 0..n-1.
    expect(getStoryboard(p.db, filmId).frames.filter((f) => f.subchapterId === sub).map((f) => f.position))
      .toEqual(permuted.map((_, i) => i));

    expect(undoRedoLabels(p.db, filmId).undo).toMatch(/^Move frame 1 to/);
    undo(p.db, filmId);
    expect(sequence(p.db, filmId, sub)).toEqual(expected2);
    undo(p.db, filmId);
    expect(sequence(p.db, filmId, sub)).toEqual(expected1);
    undo(p.db, filmId);
    expect(content(p.db, filmId)).toEqual(original);
    expect(undoRedoLabels(p.db, filmId)).toEqual({ undo: null, redo: 'Insert frame 2' });

    redo(p.db, filmId);
    redo(p.db, filmId);
    redo(p.db, filmId);
    expect(sequence(p.db, filmId, sub)).toEqual(expected3);
    p.close();
  });

  it('restores a deleted frame with its renders, review state and the places of the lines after it', () => {
    const dir = join(tmp(), 'p');
    const { p, filmId, sub } = setup(dir);
    const seq0 = sequence(p.db, filmId, sub);
    // The frame that has lines right after it, so they move to the frame before.
    const slot = frameSlots(seq0).find((i, k) => k > 0 && seq0[i + 1]?.startsWith('D'))!;
    const frameId = Number(seq0[slot].slice(1));
    editItem(p.db, { type: 'frame', id: frameId, values: { review_state: 'approved', review_note: 'good' }, label: 'approve' });
    p.db.prepare(`INSERT INTO asset (sha256, rel_path, mime, bytes) VALUES ('ab', 'images/ab/ab.png', 'image/png', 1)`).run();
    p.db.prepare(`INSERT INTO render (frame_id, status, asset_sha256, seed, model, is_keyframe) VALUES (?, 'done', 'ab', 21, 'm', 1)`).run(frameId);
    const before = content(p.db, filmId);
    const renderRows = p.db.prepare('SELECT * FROM render WHERE frame_id = ?').all(frameId);
    expect(before.frames.find((f) => f.id === frameId)!.thumbnail.kind).toBe('render');

    deleteFrame(p.db, frameId);
    expect(sequence(p.db, filmId, sub)).toEqual(seq0.filter((t) => t !== `F${frameId}`));
    expect(p.db.prepare('SELECT count(*) AS n FROM render WHERE frame_id = ?').get(frameId)).toEqual({ n: 0 });
    p.close();

    // Undo after reopening: the log alone brings everything back.
    const q = openProject(dir);
    expect(undo(q.db, filmId)?.label).toMatch(/^Delete frame/);
    expect(content(q.db, filmId)).toEqual(before);
    expect(q.db.prepare('SELECT * FROM render WHERE frame_id = ?').all(frameId)).toEqual(renderRows);
    q.close();
  });

  it('inserts, moves and deletes dialogue lines at a spot between frames', () => {
    const { p, filmId, sub } = setup(join(tmp(), 'p'));
    const original = content(p.db, filmId);
    const seq0 = sequence(p.db, filmId, sub);
    const slots = frameSlots(seq0);

    const line = insertDialogue(p.db, { subchapterId: sub, afterFrame: 1, index: 0, speaker: 'Mira', text: 'Look!' });
    const expected1 = [...seq0];
    expected1.splice(slots[0] + 1, 0, `D${line.id}`);
    expect(sequence(p.db, filmId, sub)).toEqual(expected1);
    expect(getStoryboard(p.db, filmId).dialogue.find((d) => d.id === line.id)).toMatchObject({ speaker: 'Mira', text: 'Look!', afterFrame: 1, seq: 0 });

    // Move it after the last frame, as the last line there.
    const frames = slots.length;
    moveDialogue(p.db, line.id, frames);
    const expected2 = [...expected1.filter((t) => t !== `D${line.id}`), `D${line.id}`];
    expect(sequence(p.db, filmId, sub)).toEqual(expected2);
    // Lines at every spot keep seq 0..k-1.
    const lines = getStoryboard(p.db, filmId).dialogue.filter((d) => d.subchapterId === sub);
    for (const spot of new Set(lines.map((l) => l.afterFrame))) {
      expect(lines.filter((l) => l.afterFrame === spot).map((l) => l.seq)).toEqual(lines.filter((l) => l.afterFrame === spot).map((_, i) => i));
    }

    const firstLine = expected2.find((t) => t.startsWith('D'))!;
    deleteDialogue(p.db, Number(firstLine.slice(1)));
    expect(sequence(p.db, filmId, sub)).toEqual(expected2.filter((t) => t !== firstLine));

    expect(() => insertDialogue(p.db, { subchapterId: sub, afterFrame: frames + 1, speaker: null, text: 'x' }))
      .toThrow(/afterFrame/);

    undo(p.db, filmId);
    undo(p.db, filmId);
    undo(p.db, filmId);
    expect(content(p.db, filmId)).toEqual(original);
    p.close();
  });

  it('refuses to redo an insertion whose row id was taken in the meantime, changing nothing', () => {
    const { p, filmId, sub } = setup(join(tmp(), 'p'));
    const { frameId } = insertFrame(p.db, { subchapterId: sub, index: 0, description: 'Inserted', scene: '' });
    undo(p.db, filmId);
    // Another film's import takes the freed id (SQLite reuses the largest deleted rowid).
    const other = p.db.prepare("INSERT INTO film (title) VALUES ('Other')").run().lastInsertRowid;
    const ch = p.db.prepare('INSERT INTO chapter (film_id, position) VALUES (?, 0)').run(other).lastInsertRowid;
    const sc = p.db.prepare('INSERT INTO subchapter (chapter_id, position) VALUES (?, 0)').run(ch).lastInsertRowid;
    const taken = p.db.prepare("INSERT INTO frame (subchapter_id, position, description) VALUES (?, 0, 'x')").run(sc).lastInsertRowid;
    expect(Number(taken)).toBe(frameId);
    const before = content(p.db, filmId);
    expect(() => redo(p.db, filmId)).toThrowError(/id has been reused/);
    expect(content(p.db, filmId)).toEqual(before);
    p.close();
  });
});
