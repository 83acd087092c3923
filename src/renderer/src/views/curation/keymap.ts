/**
 * Curation shortcuts: a table of actions with default keys that a curator can remap; the map is
 * kept in localStorage. Keys are written "Ctrl+Alt+Shift+<key>" with one-character keys in lower
 * case ("Shift+a"), so the storyboard's own single keys (a, r, d, e, j, k, …) never collide.
 */

export type CurationAction =
  | 'togglePanel' | 'toggleJobs' | 'toggleSelect' | 'selectAllShown' | 'clearSelection'
  | 'approveSelection' | 'rejectSelection' | 'focusSearch' | 'openViewer'
  | 'insertFrameAfter' | 'deleteFrame' | 'moveFrameUp' | 'moveFrameDown'
  | 'renderFrame' | 'rerenderNewSeed' | 'renderSubchapter';

export interface CurationShortcut { action: CurationAction; label: string; keys: string[] }

export const DEFAULT_KEYMAP: readonly CurationShortcut[] = [
  { action: 'togglePanel', label: 'Show / hide the curation panel', keys: ['c'] },
  { action: 'toggleJobs', label: 'Show / hide the jobs view', keys: ['Shift+j'] },
  { action: 'toggleSelect', label: 'Select / unselect the focused frame', keys: ['x'] },
  { action: 'selectAllShown', label: 'Select every item the filter shows', keys: ['Shift+x'] },
  { action: 'clearSelection', label: 'Clear the selection', keys: ['Shift+c'] },
  { action: 'approveSelection', label: 'Approve the selection', keys: ['Shift+a'] },
  { action: 'rejectSelection', label: 'Reject the selection (asks for a note)', keys: ['Shift+r'] },
  { action: 'focusSearch', label: 'Search the film', keys: ['/'] },
  { action: 'openViewer', label: 'View the focused keyframe full size', keys: ['v'] },
  { action: 'insertFrameAfter', label: 'Insert a frame after the focused one', keys: ['Shift+n'] },
  { action: 'deleteFrame', label: 'Delete the focused frame (undoable)', keys: ['Shift+Delete'] },
  { action: 'moveFrameUp', label: 'Move the focused frame up', keys: ['Alt+ArrowUp'] },
  { action: 'moveFrameDown', label: 'Move the focused frame down', keys: ['Alt+ArrowDown'] },
  { action: 'renderFrame', label: 'Render the focused frame', keys: ['Shift+f'] },
  { action: 'rerenderNewSeed', label: 'Re-render the focused frame with a new seed', keys: ['Shift+s'] },
  { action: 'renderSubchapter', label: 'Render the focused frame\'s subchapter', keys: ['Shift+b'] },
];

const STORAGE_KEY = 'dreamframe.curationKeymap.v1';

export type Keymap = Record<CurationAction, string[]>;

export function defaultKeymap(): Keymap {
  return Object.fromEntries(DEFAULT_KEYMAP.map((s) => [s.action, [...s.keys]])) as Keymap;
}

/** The saved map over the defaults; unknown actions and malformed entries are ignored. */
export function loadKeymap(storage: Pick<Storage, 'getItem'> | null = globalThis.localStorage ?? null): Keymap {
  const map = defaultKeymap();
  try {
    const saved = JSON.parse(storage?.getItem(STORAGE_KEY) ?? '{}') as Record<string, unknown>;
    for (const [action, keys] of Object.entries(saved)) {
      if (action in map && Array.isArray(keys) && keys.every((k) => typeof k === 'string')) map[action as CurationAction] = keys as string[];
    }
  } catch {
    // A corrupt entry falls back to the defaults.
  }
  return map;
}

export function saveKeymap(map: Keymap, storage: Pick<Storage, 'setItem'> | null = globalThis.localStorage ?? null): void {
  storage?.setItem(STORAGE_KEY, JSON.stringify(map));
}

/** The canonical name of a key press, e.g. "Shift+a", "Alt+ArrowUp", "/". */
export function keyName(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey'>): string {
  if (['Control', 'Alt', 'Shift', 'Meta'].includes(e.key)) return '';
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  // Shifted punctuation ("?", "/") is its own key; Shift only counts for letters and named keys.
  const shiftCounts = e.key.length > 1 || /\p{L}/u.test(e.key);
  return [(e.ctrlKey || e.metaKey) && 'Ctrl', e.altKey && 'Alt', e.shiftKey && shiftCounts && 'Shift', key].filter(Boolean).join('+');
}

export function actionFor(map: Keymap, name: string): CurationAction | null {
  if (!name) return null;
  for (const [action, keys] of Object.entries(map)) if (keys.includes(name)) return action as CurationAction;
  return null;
}

/** Rebinds an action to one key, taking that key away from any other action. */
export function rebind(map: Keymap, action: CurationAction, name: string): Keymap {
  const next = { ...map };
  for (const a of Object.keys(next) as CurationAction[]) next[a] = next[a].filter((k) => k !== name);
  next[action] = [name];
  return next;
}
