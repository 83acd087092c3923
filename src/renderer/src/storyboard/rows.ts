import type { Chapter, DialogueLine, Frame, QaPair, Storyboard, Subchapter } from '@shared/api/entities';

/**
 * Flattens a storyboard into the rows of the virtual list: a chapter header, then for each of its
 * subchapters a header (with its QA and any dialogue before its first frame) followed by one row per
 * frame carrying the dialogue lines that follow it. Frames are also numbered globally ("ordinal")
 * so keyboard navigation can work on plain integers.
 */

export interface ChapterRow {
  kind: 'chapter';
  key: string;
  chapter: Chapter;
  number: number;
  qa: QaPair[];
  frameCount: number;
}

export interface SubchapterRow {
  kind: 'subchapter';
  key: string;
  subchapter: Subchapter;
  chapterNumber: number;
  number: number;
  qa: QaPair[];
  /** Lines with afterFrame = 0: spoken before the first frame. */
  leadingDialogue: DialogueLine[];
}

export interface FrameRow {
  kind: 'frame';
  key: string;
  frame: Frame;
  ordinal: number;
  /** "chapter.subchapter.frame", 1-based, as curators refer to frames. */
  label: string;
  dialogue: DialogueLine[];
}

export type StoryRow = ChapterRow | SubchapterRow | FrameRow;

export interface StoryIndex {
  rows: StoryRow[];
  /** frame ordinal → index in `rows` */
  frameRows: number[];
  frameOrdinalById: Map<number, number>;
  /** Ordinals of the first frame of each subchapter / chapter that has frames, ascending. */
  subchapterStarts: number[];
  chapterStarts: number[];
  filmQa: QaPair[];
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const map = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}

const byPosition = (a: { position: number }, b: { position: number }) => a.position - b.position;

export function buildStoryIndex(board: Pick<Storyboard, 'chapters' | 'subchapters' | 'frames' | 'dialogue' | 'qa'>): StoryIndex {
  const subsByChapter = groupBy([...board.subchapters].sort(byPosition), (s) => s.chapterId);
  const framesBySub = groupBy(board.frames, (f) => f.subchapterId);
  const dialogueBySub = groupBy(
    [...board.dialogue].sort((a, b) => a.afterFrame - b.afterFrame || a.seq - b.seq),
    (d) => d.subchapterId,
  );
  const qaSorted = [...board.qa].sort(byPosition);
  const chapterQa = groupBy(qaSorted.filter((q) => q.scope === 'chapter'), (q) => q.chapterId);
  const subQa = groupBy(qaSorted.filter((q) => q.scope === 'subchapter'), (q) => q.subchapterId);

  const rows: StoryRow[] = [];
  const frameRows: number[] = [];
  const frameOrdinalById = new Map<number, number>();
  const subchapterStarts: number[] = [];
  const chapterStarts: number[] = [];

  [...board.chapters].sort(byPosition).forEach((chapter, ci) => {
    const subs = subsByChapter.get(chapter.id) ?? [];
    const chapterRow: ChapterRow = {
      kind: 'chapter', key: `c${chapter.id}`, chapter, number: ci + 1,
      qa: chapterQa.get(chapter.id) ?? [], frameCount: 0,
    };
    rows.push(chapterRow);
    const chapterFirstOrdinal = frameRows.length;
    subs.forEach((sub, si) => {
      const frames = [...(framesBySub.get(sub.id) ?? [])].sort(byPosition);
      const lines = dialogueBySub.get(sub.id) ?? [];
      rows.push({
        kind: 'subchapter', key: `s${sub.id}`, subchapter: sub, chapterNumber: ci + 1, number: si + 1,
        qa: subQa.get(sub.id) ?? [], leadingDialogue: lines.filter((d) => d.afterFrame === 0),
      });
      if (frames.length > 0) subchapterStarts.push(frameRows.length);
      frames.forEach((frame, fi) => {
        const k = fi + 1;
        const isLast = k === frames.length;
        // A line placed after more frames than the subchapter has still belongs after its last frame.
        const dialogue = lines.filter((d) => d.afterFrame === k || (isLast && d.afterFrame > k));
        const ordinal = frameRows.length;
        frameOrdinalById.set(frame.id, ordinal);
        frameRows.push(rows.length);
        rows.push({ kind: 'frame', key: `f${frame.id}`, frame, ordinal, label: `${ci + 1}.${si + 1}.${k}`, dialogue });
      });
    });
    chapterRow.frameCount = frameRows.length - chapterFirstOrdinal;
    if (chapterRow.frameCount > 0) chapterStarts.push(chapterFirstOrdinal);
  });

  return { rows, frameRows, frameOrdinalById, subchapterStarts, chapterStarts, filmQa: qaSorted.filter((q) => q.scope === 'film') };
}

/** Keyboard moves, as pure functions of the current frame ordinal. */
export type Move = 'next' | 'prev' | 'first' | 'last' | 'nextSub' | 'prevSub' | 'nextChapter' | 'prevChapter';

export function moveFocus(index: Pick<StoryIndex, 'frameRows' | 'subchapterStarts' | 'chapterStarts'>, current: number, move: Move): number {
  const count = index.frameRows.length;
  if (count === 0) return -1;
  const last = count - 1;
  const clamp = (n: number) => Math.max(0, Math.min(last, n));
  switch (move) {
    case 'next': return clamp(current + 1);
    case 'prev': return clamp(current - 1);
    case 'first': return 0;
    case 'last': return last;
    case 'nextSub': return nextStart(index.subchapterStarts, current) ?? last;
    case 'prevSub': return prevStart(index.subchapterStarts, current) ?? 0;
    case 'nextChapter': return nextStart(index.chapterStarts, current) ?? last;
    case 'prevChapter': return prevStart(index.chapterStarts, current) ?? 0;
  }
}

function nextStart(starts: number[], current: number): number | undefined {
  return starts.find((s) => s > current);
}

/** The start of the section holding `current` if we are inside it, else the previous section's start. */
function prevStart(starts: number[], current: number): number | undefined {
  for (let i = starts.length - 1; i >= 0; i--) if (starts[i] < current) return starts[i];
  return undefined;
}
