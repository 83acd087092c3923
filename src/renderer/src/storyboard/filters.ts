import type { Character, Frame, ReviewState } from '@shared/api/entities';
import type { FrameQuality, QualityFlagReason } from '@shared/api/methods-quality';
import type { FrameRow, StoryIndex, StoryRow } from './rows';

/**
 * The storyboard's filters, as pure functions: which frames a filter set shows, how many frames each
 * filter alone would show (the counts on its chip), the order when sorting by quality, and the story
 * index narrowed to the frames shown (headers kept only above frames that remain).
 *
 * Within review states the choice is "any of"; every other filter narrows further ("all of").
 * Quality flags are advice from `quality.film`: filtering on them never touches a review state.
 */

export type QualityFlagFilter = '' | 'any' | QualityFlagReason;
export type FrameSort = 'story' | 'quality';

export interface FrameFilter {
  /** Empty: any state. */
  review: ReviewState[];
  notRendered: boolean;
  stale: boolean;
  failedRender: boolean;
  /** Words in any order across the frame's description, scene, lines and QA (matched by the server). */
  text: string;
  /** A character's name ('' = any): frames whose description names the character or their lookalike. */
  character: string;
  /** A frame's scene, folded ('' = any). */
  location: string;
  qualityFlag: QualityFlagFilter;
  sort: FrameSort;
}

/** What the filters know beyond the storyboard: from `curation.frameFilters` and `quality.film`. */
export interface FilterFacts {
  failedRender: ReadonlySet<number>;
  /** Frames the text query matches; null while there is no query (or its answer is not in yet). */
  textMatches: ReadonlySet<number> | null;
  /** Per-frame quality of the film; null when it was never scored. */
  quality: ReadonlyMap<number, FrameQuality> | null;
}

export function emptyFilter(): FrameFilter {
  return { review: [], notRendered: false, stale: false, failedRender: false, text: '', character: '', location: '', qualityFlag: '', sort: 'story' };
}

export function isFiltering(f: FrameFilter): boolean {
  return f.review.length > 0 || f.notRendered || f.stale || f.failedRender || f.text.trim() !== '' || f.character !== ''
    || f.location !== '' || f.qualityFlag !== '';
}

export function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLocaleLowerCase().trim();
}

/** The location a frame is filed under: its scene, folded so "Town Square" and "town square" are one place. */
export function frameLocation(frame: Pick<Frame, 'scene'>): string {
  return fold(frame.scene);
}

/**
 * Characters a frame shows: those whose name or lookalike text ("a man looks like Gerard Butler in brown",
 * which the story's prompts use instead of names) occurs in its description.
 */
export function frameCharacters(frame: Pick<Frame, 'description'>, characters: readonly Pick<Character, 'name' | 'lookalike'>[]): string[] {
  const text = fold(frame.description);
  return characters.filter((c) => {
    const name = fold(c.name);
    const look = fold(c.lookalike);
    return (name !== '' && text.includes(name)) || (look !== '' && text.includes(look));
  }).map((c) => c.name);
}

function hasFlag(q: FrameQuality | undefined, flag: QualityFlagFilter): boolean {
  if (!q || q.flags.length === 0) return false;
  return flag === 'any' || q.flags.some((x) => x.reason === flag);
}

/** Precomputed per-frame facts that do not change with the filter (characters, location). */
export interface FrameTraits { characters: Map<number, string[]>; location: Map<number, string> }

export function frameTraits(frames: readonly Frame[], characters: readonly Character[]): FrameTraits {
  const chars = new Map<number, string[]>();
  const location = new Map<number, string>();
  for (const f of frames) {
    chars.set(f.id, frameCharacters(f, characters));
    location.set(f.id, frameLocation(f));
  }
  return { characters: chars, location };
}

export function frameMatches(frame: Frame, f: FrameFilter, facts: FilterFacts, traits: FrameTraits): boolean {
  if (f.review.length > 0 && !f.review.includes(frame.review.state)) return false;
  if (f.notRendered && frame.thumbnail.kind !== 'placeholder') return false;
  if (f.stale && !frame.stale) return false;
  if (f.failedRender && !facts.failedRender.has(frame.id)) return false;
  if (f.text.trim() !== '' && facts.textMatches && !facts.textMatches.has(frame.id)) return false;
  if (f.character !== '' && !(traits.characters.get(frame.id) ?? []).includes(f.character)) return false;
  if (f.location !== '' && traits.location.get(frame.id) !== f.location) return false;
  if (f.qualityFlag !== '' && !hasFlag(facts.quality?.get(frame.id), f.qualityFlag)) return false;
  return true;
}

/** How many frames of the film each filter alone shows. */
export interface FilterCounts {
  total: number;
  review: Record<ReviewState, number>;
  notRendered: number;
  stale: number;
  failedRender: number;
  /** null while there is no text query. */
  text: number | null;
  characters: { name: string; count: number }[];
  locations: { location: string; count: number }[];
  /** null when the film has no quality scores. */
  quality: Record<'any' | QualityFlagReason, number> | null;
}

export function filterCounts(frames: readonly Frame[], characters: readonly Character[], facts: FilterFacts, traits: FrameTraits): FilterCounts {
  const review: Record<ReviewState, number> = { draft: 0, approved: 0, rejected: 0 };
  const byCharacter = new Map<string, number>(characters.map((c) => [c.name, 0]));
  const byLocation = new Map<string, number>();
  let notRendered = 0;
  let stale = 0;
  let failedRender = 0;
  let text = 0;
  const quality = facts.quality ? { any: 0, low_description_score: 0, lpips_jump: 0, clip_jump: 0 } : null;
  for (const frame of frames) {
    review[frame.review.state]++;
    if (frame.thumbnail.kind === 'placeholder') notRendered++;
    if (frame.stale) stale++;
    if (facts.failedRender.has(frame.id)) failedRender++;
    if (facts.textMatches?.has(frame.id)) text++;
    for (const name of traits.characters.get(frame.id) ?? []) byCharacter.set(name, (byCharacter.get(name) ?? 0) + 1);
    const loc = traits.location.get(frame.id) ?? '';
    if (loc !== '') byLocation.set(loc, (byLocation.get(loc) ?? 0) + 1);
    const q = facts.quality?.get(frame.id);
    if (quality && q && q.flags.length > 0) {
      quality.any++;
      for (const reason of new Set(q.flags.map((x) => x.reason))) quality[reason]++;
    }
  }
  return {
    total: frames.length, review, notRendered, stale, failedRender,
    text: facts.textMatches ? text : null,
    characters: [...byCharacter].map(([name, count]) => ({ name, count })),
    locations: [...byLocation].map(([location, count]) => ({ location, count })).sort((a, b) => b.count - a.count || a.location.localeCompare(b.location)),
    quality,
  };
}

/**
 * The quality order, worst first: flagged frames before unflagged (more flags first), then by the
 * keyframe's CLIP cosine with its description, lowest first; frames never scored come last, in story order.
 */
export function qualityOrder(frameIds: readonly number[], quality: ReadonlyMap<number, FrameQuality> | null): number[] {
  const rank = (id: number): [number, number] => {
    const q = quality?.get(id);
    if (!q) return [1, Infinity];
    return [-q.flags.length, q.textCosine ?? Infinity];
  };
  const story = new Map(frameIds.map((id, i) => [id, i]));
  return [...frameIds].sort((a, b) => {
    const [fa, ca] = rank(a);
    const [fb, cb] = rank(b);
    return fa - fb || (ca === cb ? 0 : ca < cb ? -1 : 1) || story.get(a)! - story.get(b)!;
  });
}

/** The frames a filter shows, in story order, or in quality order when sorting by quality. */
export function visibleFrames(frames: readonly Frame[], f: FrameFilter, facts: FilterFacts, traits: FrameTraits,
  storyOrder: readonly number[]): number[] {
  const byId = new Map(frames.map((fr) => [fr.id, fr]));
  const shown = storyOrder.filter((id) => {
    const frame = byId.get(id);
    return frame !== undefined && frameMatches(frame, f, facts, traits);
  });
  return f.sort === 'quality' ? qualityOrder(shown, facts.quality) : shown;
}

/** What the storyboard shows: the frames (ids) and whether they keep the story's headers. */
export interface FrameView { frameIds: readonly number[]; flat: boolean }

/**
 * The story index narrowed to `view`: frame rows renumbered (labels keep the film's numbering), chapter and
 * subchapter headers kept only above frames that remain; a flat view (sorted by quality) has frame rows only.
 */
export function narrowIndex(full: StoryIndex, view: FrameView | null): StoryIndex {
  if (view === null) return full;
  const frameRow = new Map<number, FrameRow>();
  for (const r of full.rows) if (r.kind === 'frame') frameRow.set(r.frame.id, r);
  const rows: StoryRow[] = [];
  const frameRows: number[] = [];
  const frameOrdinalById = new Map<number, number>();
  const subchapterStarts: number[] = [];
  const chapterStarts: number[] = [];
  const push = (r: FrameRow) => {
    const ordinal = frameRows.length;
    frameOrdinalById.set(r.frame.id, ordinal);
    frameRows.push(rows.length);
    rows.push(r.ordinal === ordinal ? r : { ...r, ordinal });
  };
  if (view.flat) {
    for (const id of view.frameIds) {
      const r = frameRow.get(id);
      if (r) push(r);
    }
    return { rows, frameRows, frameOrdinalById, subchapterStarts, chapterStarts, filmQa: full.filmQa };
  }
  const shown = new Set(view.frameIds);
  let chapterHeader: StoryRow | null = null;
  let subHeader: StoryRow | null = null;
  for (const r of full.rows) {
    if (r.kind === 'chapter') { chapterHeader = r; subHeader = null; continue; }
    if (r.kind === 'subchapter') { subHeader = r; continue; }
    if (!shown.has(r.frame.id)) continue;
    if (chapterHeader) {
      chapterStarts.push(frameRows.length);
      rows.push(chapterHeader);
      chapterHeader = null;
    }
    if (subHeader) {
      subchapterStarts.push(frameRows.length);
      rows.push(subHeader);
      subHeader = null;
    }
    push(r);
  }
  return { rows, frameRows, frameOrdinalById, subchapterStarts, chapterStarts, filmQa: full.filmQa };
}

/** Frame ids in story order (the full index's order). */
export function storyOrder(full: StoryIndex): number[] {
  return full.frameRows.map((i) => (full.rows[i] as FrameRow).frame.id);
}
