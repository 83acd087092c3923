import type { EventPayload } from '@shared/api/contract';
import type { DialogueLine, Frame, QaPair, Storyboard } from '@shared/api/entities';

/**
 * Which part of an open storyboard a `data.changed` event touches, and how to patch it in place.
 * Events that name the frames, dialogue lines or QA pairs they changed are refreshed item by item
 * (`films.storyboardItems`); anything else — structure (chapters, subchapters), the film, events with
 * no ids — needs the whole storyboard again. A patch that turns out to change the order (an item
 * inserted, deleted or moved) is refused, and the caller refetches everything.
 */

/** Work a refresh has to do: the whole storyboard, or only these items. */
export interface RefreshWork {
  full: boolean;
  frames: Set<number>;
  dialogue: Set<number>;
  qa: Set<number>;
}

/** More named items than this are fetched as a whole storyboard: one query, a bounded message. */
export const PATCH_LIMIT = 2000;

export function emptyWork(): RefreshWork {
  return { full: false, frames: new Set(), dialogue: new Set(), qa: new Set() };
}

export function hasWork(w: RefreshWork): boolean {
  return w.full || w.frames.size + w.dialogue.size + w.qa.size > 0;
}

export function workSize(w: RefreshWork): number {
  return w.frames.size + w.dialogue.size + w.qa.size;
}

/**
 * Adds what an event of the open film asks for to `work`. Style changes are not shown on the
 * storyboard and add nothing; a render named together with its frame is covered by the frame's row
 * (its thumbnail key carries the keyframe), a render on its own is not (we do not know its frame).
 */
export function addEvent(work: RefreshWork, payload: EventPayload<'data.changed'>): void {
  const hasFrames = payload.entities.some((e) => e.type === 'frame' && e.ids.length > 0);
  if (payload.entities.length === 0) work.full = true;
  for (const { type, ids } of payload.entities) {
    if (type === 'style') continue;
    if (type === 'render' && hasFrames) continue;
    if (ids.length === 0 || !(type === 'frame' || type === 'dialogue' || type === 'qa')) {
      work.full = true;
      continue;
    }
    const target = type === 'frame' ? work.frames : type === 'dialogue' ? work.dialogue : work.qa;
    for (const id of ids) target.add(id);
  }
}

type Items = Pick<Storyboard, 'film' | 'frames' | 'dialogue' | 'qa'>;

/**
 * Replaces the named items of `board` (and the film row) with their fetched rows, keeping every
 * other item (the same objects) and the order. Null when the patch cannot be applied in place: a named item is gone,
 * new to this board, or sits elsewhere now (subchapter, position, dialogue slot, QA scope).
 */
export function applyItems(board: Storyboard, work: RefreshWork, items: Items): Storyboard | null {
  const frames = replaceAll(board.frames, work.frames, items.frames,
    (a, b) => a.subchapterId === b.subchapterId && a.position === b.position);
  const dialogue = replaceAll(board.dialogue, work.dialogue, items.dialogue,
    (a, b) => a.subchapterId === b.subchapterId && a.afterFrame === b.afterFrame && a.seq === b.seq);
  const qa = replaceAll(board.qa, work.qa, items.qa,
    (a, b) => a.scope === b.scope && a.chapterId === b.chapterId && a.subchapterId === b.subchapterId && a.position === b.position);
  if (!frames || !dialogue || !qa) return null;
  return { ...board, film: items.film, frames, dialogue, qa };
}

function replaceAll<T extends Frame | DialogueLine | QaPair>(
  list: T[], wanted: Set<number>, fetched: T[], samePlace: (before: T, after: T) => boolean,
): T[] | null {
  if (wanted.size === 0) return list;
  if (fetched.length !== wanted.size) return null;
  const byId = new Map(fetched.map((x) => [x.id, x]));
  let found = 0;
  const out = list.map((item) => {
    const next = byId.get(item.id);
    if (!next) return item;
    found++;
    return samePlace(item, next) ? next : null;
  });
  if (found !== wanted.size || out.some((x) => x === null)) return null;
  return out as T[];
}
