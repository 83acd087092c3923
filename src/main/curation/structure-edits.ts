import type Database from 'better-sqlite3';
import { AppError } from '../../shared/errors';
import { readRow, type Change, type Values } from '../db/edit-log';
import { mutate } from '../db/mutation';
import { filmIdOf } from '../story/film-reader';
import { framePlaces, linePlaces, nextRowId, renderIdsOfFrame, type LinePlace } from './repo';

/**
 * Structure edits of the storyboard as undoable edit-log records: insert, delete and reorder frames
 * and dialogue lines. Each is one edit made of row inserts/deletes and the position shifts they
 * cause, so undo puts every row (and a deleted frame's renders) back exactly where it was.
 *
 * Positions: frames of a subchapter are ordered by `position` (kept 0..n-1); a dialogue line sits
 * after `after_frame` frames of its subchapter, lines at one spot ordered by `seq` (kept 0..k-1).
 */

function update(table: Change['table'], id: number, before: Values, after: Values): Change {
  return { table, id, before, after };
}

/** Changes that renumber frame positions to follow `order`. */
function renumberFrames(order: { id: number; position: number }[]): Change[] {
  return order.flatMap((f, i) => (f.position === i ? [] : [update('frame', f.id, { position: f.position }, { position: i })]));
}

/** Changes that put lines at a spot in the given order (seq 0..k-1) at after_frame `spot`. */
function placeLines(lines: LinePlace[], spot: number): Change[] {
  return lines.flatMap((l, i) => (l.after_frame === spot && l.seq === i ? []
    : [update('dialogue_line', l.id, { after_frame: l.after_frame, seq: l.seq }, { after_frame: spot, seq: i })]));
}

export interface InsertFrame { subchapterId: number; index: number; description: string; scene?: string }

/** Inserts a frame so that `index` frames precede it; lines after those frames stay before it. */
export function insertFrame(db: Database.Database, input: InsertFrame): { filmId: number; frameId: number } {
  return mutate(db, (m) => {
    const filmId = filmIdOf(db, 'subchapter', input.subchapterId);
    const frames = framePlaces(db, input.subchapterId);
    const index = Math.max(0, Math.min(input.index, frames.length));
    const frameId = nextRowId(db, 'frame');
    const order = [...frames];
    order.splice(index, 0, { id: frameId, position: index });
    const changes: Change[] = [];
    // Shift the frames at and after the insertion point, then add the new row.
    order.forEach((f, i) => {
      if (f.id !== frameId && f.position !== i) changes.push(update('frame', f.id, { position: f.position }, { position: i }));
    });
    for (const l of linePlaces(db, input.subchapterId)) {
      if (l.after_frame > index) changes.push(update('dialogue_line', l.id, { after_frame: l.after_frame }, { after_frame: l.after_frame + 1 }));
    }
    changes.push({
      table: 'frame', id: frameId, before: null,
      after: {
        subchapter_id: input.subchapterId, position: index, description: input.description, scene: input.scene ?? '',
        review_state: 'draft', review_note: null, reviewed_at: null, stale: 0,
      },
    });
    m.edit(filmId, `Insert frame ${index + 1}`, changes);
    m.touch(filmId, { type: 'subchapter', ids: [input.subchapterId] }, { type: 'frame', ids: [frameId] });
    return { filmId, frameId };
  });
}

/** Deletes a frame (and its renders); lines that followed it now follow the frame before it. */
export function deleteFrame(db: Database.Database, frameId: number): { filmId: number } {
  return mutate(db, (m) => {
    const filmId = filmIdOf(db, 'frame', frameId);
    const row = readRow(db, 'frame', frameId);
    const subchapterId = row.subchapter_id as number;
    const frames = framePlaces(db, subchapterId);
    const index = frames.findIndex((f) => f.id === frameId);
    const changes: Change[] = [];
    for (const id of renderIdsOfFrame(db, frameId)) changes.push({ table: 'render', id, before: readRow(db, 'render', id), after: null });
    changes.push({ table: 'frame', id: frameId, before: row, after: null });
    changes.push(...renumberFrames(frames.filter((f) => f.id !== frameId)));
    // Lines after the deleted frame join the spot before it, behind the lines already there.
    const lines = linePlaces(db, subchapterId);
    const atSpot = lines.filter((l) => l.after_frame === index);
    const moved = lines.filter((l) => l.after_frame === index + 1);
    changes.push(...placeLines([...atSpot, ...moved], index));
    for (const l of lines) {
      if (l.after_frame > index + 1) changes.push(update('dialogue_line', l.id, { after_frame: l.after_frame }, { after_frame: l.after_frame - 1 }));
    }
    m.edit(filmId, `Delete frame ${index + 1}`, changes);
    m.touch(filmId, { type: 'frame', ids: [frameId] });
    return { filmId };
  });
}

/** Moves a frame to another place in its subchapter; dialogue lines keep their places between frames. */
export function moveFrame(db: Database.Database, frameId: number, toIndex: number): { filmId: number } {
  return mutate(db, (m) => {
    const filmId = filmIdOf(db, 'frame', frameId);
    const { subchapter_id: subchapterId } = readRow(db, 'frame', frameId);
    const frames = framePlaces(db, subchapterId as number);
    const from = frames.findIndex((f) => f.id === frameId);
    const to = Math.max(0, Math.min(toIndex, frames.length - 1));
    const order = [...frames];
    const [moving] = order.splice(from, 1);
    order.splice(to, 0, moving);
    m.edit(filmId, `Move frame ${from + 1} to ${to + 1}`, renumberFrames(order));
    m.touch(filmId, { type: 'frame', ids: [frameId] });
    return { filmId };
  });
}

export interface InsertDialogue { subchapterId: number; afterFrame: number; index?: number; speaker: string | null; text: string }

export function insertDialogue(db: Database.Database, input: InsertDialogue): { filmId: number; id: number } {
  return mutate(db, (m) => {
    const filmId = filmIdOf(db, 'subchapter', input.subchapterId);
    const frameCount = framePlaces(db, input.subchapterId).length;
    if (input.afterFrame > frameCount) {
      throw new AppError('invalid_input', `afterFrame ${input.afterFrame}: subchapter ${input.subchapterId} has ${frameCount} frame(s)`,
        { afterFrame: input.afterFrame, frameCount });
    }
    const spot = linePlaces(db, input.subchapterId).filter((l) => l.after_frame === input.afterFrame);
    const index = Math.max(0, Math.min(input.index ?? spot.length, spot.length));
    const id = nextRowId(db, 'dialogue_line');
    const changes: Change[] = [];
    spot.forEach((l, i) => {
      const seq = i < index ? i : i + 1;
      if (l.seq !== seq) changes.push(update('dialogue_line', l.id, { seq: l.seq }, { seq }));
    });
    changes.push({
      table: 'dialogue_line', id, before: null,
      after: {
        subchapter_id: input.subchapterId, after_frame: input.afterFrame, seq: index, speaker: input.speaker, text: input.text,
        review_state: 'draft', review_note: null, reviewed_at: null,
      },
    });
    m.edit(filmId, 'Insert dialogue line', changes);
    m.touch(filmId, { type: 'dialogue', ids: [id] });
    return { filmId, id };
  });
}

export function deleteDialogue(db: Database.Database, id: number): { filmId: number } {
  return mutate(db, (m) => {
    const filmId = filmIdOf(db, 'dialogue', id);
    const row = readRow(db, 'dialogue_line', id);
    const spot = linePlaces(db, row.subchapter_id as number).filter((l) => l.after_frame === row.after_frame && l.id !== id);
    m.edit(filmId, 'Delete dialogue line', [
      { table: 'dialogue_line', id, before: row, after: null },
      ...placeLines(spot, row.after_frame as number),
    ]);
    m.touch(filmId, { type: 'dialogue', ids: [id] });
    return { filmId };
  });
}

/** Moves a line to the spot after `afterFrame` frames, as the `index`-th line there (default: last). */
export function moveDialogue(db: Database.Database, id: number, afterFrame: number, index?: number): { filmId: number } {
  return mutate(db, (m) => {
    const filmId = filmIdOf(db, 'dialogue', id);
    const row = readRow(db, 'dialogue_line', id);
    const subchapterId = row.subchapter_id as number;
    const frameCount = framePlaces(db, subchapterId).length;
    if (afterFrame > frameCount) {
      throw new AppError('invalid_input', `afterFrame ${afterFrame}: subchapter ${subchapterId} has ${frameCount} frame(s)`,
        { afterFrame, frameCount });
    }
    const lines = linePlaces(db, subchapterId);
    const self = lines.find((l) => l.id === id)!;
    const source = lines.filter((l) => l.after_frame === self.after_frame && l.id !== id);
    const target = lines.filter((l) => l.after_frame === afterFrame && l.id !== id);
    const at = Math.max(0, Math.min(index ?? target.length, target.length));
    target.splice(at, 0, self);
    const changes = [...(self.after_frame === afterFrame ? [] : placeLines(source, self.after_frame)), ...placeLines(target, afterFrame)];
    m.edit(filmId, 'Move dialogue line', changes);
    m.touch(filmId, { type: 'dialogue', ids: [id] });
    return { filmId };
  });
}
