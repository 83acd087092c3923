import { emptyFilter, type FrameFilter } from '../storyboard/filters';

/**
 * Saved views and the storyboard layout, kept in the browser's localStorage (per user and machine, shared
 * by every project and film: a view names review states, flags, a character and a location by name,
 * so it carries over to any film). Anything malformed read back is dropped, never trusted.
 */

export interface SavedView { name: string; filter: FrameFilter }
export interface StoryboardLayout { mode: 'list' | 'grid'; cardWidth: number }

export const VIEWS_KEY = 'dreamframe.storyboardViews.v1';
export const LAYOUT_KEY = 'dreamframe.storyboardLayout.v1';
const DEFAULT_LAYOUT: StoryboardLayout = { mode: 'list', cardWidth: 180 };

type Storage_ = Pick<Storage, 'getItem' | 'setItem'> | null;
const storage = (): Storage_ => (typeof localStorage === 'undefined' ? null : localStorage);

function read(key: string, from: Storage_): unknown {
  try {
    const raw = from?.getItem(key);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

const REVIEW = new Set(['draft', 'approved', 'rejected']);
const FLAGS = new Set(['', 'any', 'low_description_score', 'lpips_jump', 'clip_jump']);

/** A stored filter over the empty one: only fields of the right type and value are taken. */
export function parseFilter(value: unknown): FrameFilter {
  const out = emptyFilter();
  if (typeof value !== 'object' || value === null) return out;
  const v = value as Record<string, unknown>;
  if (Array.isArray(v.review)) out.review = v.review.filter((s): s is FrameFilter['review'][number] => typeof s === 'string' && REVIEW.has(s));
  for (const k of ['notRendered', 'stale', 'failedRender'] as const) if (typeof v[k] === 'boolean') out[k] = v[k];
  for (const k of ['text', 'character', 'location'] as const) if (typeof v[k] === 'string') out[k] = v[k];
  if (typeof v.qualityFlag === 'string' && FLAGS.has(v.qualityFlag)) out.qualityFlag = v.qualityFlag as FrameFilter['qualityFlag'];
  if (v.sort === 'quality' || v.sort === 'story') out.sort = v.sort;
  return out;
}

export function loadSavedViews(from: Storage_ = storage()): SavedView[] {
  const value = read(VIEWS_KEY, from);
  if (!Array.isArray(value)) return [];
  return value.flatMap((v) => (typeof v === 'object' && v !== null && typeof (v as SavedView).name === 'string' && (v as SavedView).name.trim()
    ? [{ name: (v as SavedView).name.trim(), filter: parseFilter((v as SavedView).filter) }] : []));
}

export function saveSavedViews(views: readonly SavedView[], to: Storage_ = storage()): void {
  to?.setItem(VIEWS_KEY, JSON.stringify(views));
}

export function loadLayout(from: Storage_ = storage()): StoryboardLayout {
  const value = read(LAYOUT_KEY, from) as Partial<StoryboardLayout> | null;
  return {
    mode: value?.mode === 'grid' ? 'grid' : DEFAULT_LAYOUT.mode,
    cardWidth: typeof value?.cardWidth === 'number' && value.cardWidth >= 96 && value.cardWidth <= 480 ? value.cardWidth : DEFAULT_LAYOUT.cardWidth,
  };
}

export function saveLayout(layout: StoryboardLayout, to: Storage_ = storage()): void {
  to?.setItem(LAYOUT_KEY, JSON.stringify({ mode: layout.mode, cardWidth: layout.cardWidth }));
}
