import type { ChapterRow, FrameRow, StoryIndex, SubchapterRow } from './rows';

/**
 * The grid view's layout: the story index's headers as full-width rows and its frames packed into
 * rows of `columns` cards (a subchapter starts a new row), plus two-dimensional keyboard moves and
 * the click rules of selection (click, Shift-click range, Ctrl-click toggle), as pure functions.
 */

export type GridRow =
  | { kind: 'chapter'; key: string; header: ChapterRow }
  | { kind: 'subchapter'; key: string; header: SubchapterRow }
  | { kind: 'cards'; key: string; cards: FrameRow[] };

export interface GridLayout {
  rows: GridRow[];
  columns: number;
  /** frame ordinal → index in `rows` of the cards row holding it */
  rowOfOrdinal: number[];
  /** frame ordinal → its column in that row */
  columnOfOrdinal: number[];
  /** indexes in `rows` of the cards rows, top to bottom */
  cardRows: number[];
}

export function buildGrid(index: Pick<StoryIndex, 'rows'>, columns: number): GridLayout {
  const cols = Math.max(1, Math.floor(columns));
  const rows: GridRow[] = [];
  const rowOfOrdinal: number[] = [];
  const columnOfOrdinal: number[] = [];
  const cardRows: number[] = [];
  let open: Extract<GridRow, { kind: 'cards' }> | null = null;
  for (const r of index.rows) {
    if (r.kind !== 'frame') {
      open = null;
      rows.push(r.kind === 'chapter' ? { kind: 'chapter', key: r.key, header: r } : { kind: 'subchapter', key: r.key, header: r });
      continue;
    }
    if (!open || open.cards.length >= cols) {
      open = { kind: 'cards', key: `g${r.key}`, cards: [] };
      cardRows.push(rows.length);
      rows.push(open);
    }
    rowOfOrdinal[r.ordinal] = rows.length - 1;
    columnOfOrdinal[r.ordinal] = open.cards.length;
    open.cards.push(r);
  }
  return { rows, columns: cols, rowOfOrdinal, columnOfOrdinal, cardRows };
}

export type GridMove = 'up' | 'down' | 'left' | 'right';

/**
 * The ordinal a move lands on: left/right step through the frames in order (wrapping across rows),
 * up/down go to the cards row above/below (across headers) in the same column, or its last card when
 * that row is shorter. At an edge the focus stays.
 */
export function gridMove(layout: GridLayout, ordinal: number, move: GridMove): number {
  const count = layout.rowOfOrdinal.length;
  if (count === 0) return -1;
  const current = Math.max(0, Math.min(count - 1, ordinal));
  if (move === 'left') return Math.max(0, current - 1);
  if (move === 'right') return Math.min(count - 1, current + 1);
  const at = layout.cardRows.indexOf(layout.rowOfOrdinal[current]);
  const target = layout.cardRows[at + (move === 'down' ? 1 : -1)];
  if (target === undefined) return current;
  const row = layout.rows[target] as Extract<GridRow, { kind: 'cards' }>;
  return row.cards[Math.min(layout.columnOfOrdinal[current], row.cards.length - 1)].ordinal;
}

/** How many cards of `cardWidth` (plus `gap`) fit across `width`. */
export function columnsFor(width: number, cardWidth: number, gap: number): number {
  return Math.max(1, Math.floor((width + gap) / (cardWidth + gap)));
}

export interface ClickModifiers { shift: boolean; toggle: boolean }

/**
 * Selection after a click on the card at `ordinal` (frame ids): a plain click selects only it,
 * Ctrl/⌘-click adds or removes it, Shift-click selects the range from the anchor (the last plain or
 * Ctrl click) to it, added to what was selected. Returns the new selection and anchor.
 */
export function clickSelect(selected: ReadonlySet<number>, anchor: number | null, ordinal: number, mods: ClickModifiers,
  frameIdAt: (ordinal: number) => number | undefined): { selected: Set<number>; anchor: number } {
  const id = frameIdAt(ordinal);
  if (id === undefined) return { selected: new Set(selected), anchor: anchor ?? ordinal };
  if (mods.shift && anchor !== null) {
    const next = new Set(selected);
    const [from, to] = anchor <= ordinal ? [anchor, ordinal] : [ordinal, anchor];
    for (let o = from; o <= to; o++) {
      const fid = frameIdAt(o);
      if (fid !== undefined) next.add(fid);
    }
    return { selected: next, anchor };
  }
  if (mods.toggle) {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    return { selected: next, anchor: ordinal };
  }
  return { selected: new Set([id]), anchor: ordinal };
}
