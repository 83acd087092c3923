/**
 * The one keymap of the app: every keyboard action with its scope, label and default keys, the
 * user's remapping (kept in localStorage), and the rules that decide which scope gets a key.
 *
 * Keys are named canonically by `keyName()`: "Ctrl+Alt+Shift+<key>", one-character keys in lower
 * case ("Shift+a"), named keys as the browser names them ("ArrowDown", "Escape", "PageUp").
 * Shifted punctuation ("?", "{") is its own key, so Shift is not written for it.
 */

/** Where a key acts. A scope also has the keys of the scopes that enclose it. */
export type Scope = 'global' | 'storyboard' | 'dock' | 'viewer' | 'compare' | 'dialog';

export interface ScopeInfo { label: string; parent: Scope | null; modal: boolean }

/**
 * `dock` sits inside `storyboard` (the curation keys act on the storyboard's focused frame and are
 * live together with its keys); `viewer` and `dialog` are modal: while one is open it takes the keys,
 * and only `global` keys still reach through.
 */
export const SCOPES: Readonly<Record<Scope, ScopeInfo>> = {
  global: { label: 'Everywhere', parent: null, modal: false },
  storyboard: { label: 'Storyboard', parent: 'global', modal: false },
  dock: { label: 'Curation', parent: 'storyboard', modal: false },
  viewer: { label: 'Full-size viewer', parent: 'global', modal: true },
  compare: { label: 'Compare variants', parent: 'global', modal: true },
  dialog: { label: 'Dialogs', parent: 'global', modal: true },
};

/** Help-sheet order. */
export const SCOPE_ORDER: readonly Scope[] = ['global', 'storyboard', 'dock', 'viewer', 'compare', 'dialog'];

export interface KeyAction { id: string; scope: Scope; label: string; keys: readonly string[] }

export const ACTIONS = [
  { id: 'toggleHelp', scope: 'global', label: 'Show / hide this help', keys: ['?'] },

  { id: 'nextFrame', scope: 'storyboard', label: 'Next frame (in the grid: the card to the right)', keys: ['ArrowRight', 'l'] },
  { id: 'prevFrame', scope: 'storyboard', label: 'Previous frame (in the grid: the card to the left)', keys: ['ArrowLeft', 'h'] },
  { id: 'rowDown', scope: 'storyboard', label: 'Next frame (in the grid: the card below)', keys: ['ArrowDown', 'j'] },
  { id: 'rowUp', scope: 'storyboard', label: 'Previous frame (in the grid: the card above)', keys: ['ArrowUp', 'k'] },
  { id: 'nextSubchapter', scope: 'storyboard', label: 'Next subchapter', keys: [']'] },
  { id: 'prevSubchapter', scope: 'storyboard', label: 'Previous subchapter (or start of this one)', keys: ['['] },
  { id: 'nextChapter', scope: 'storyboard', label: 'Next chapter', keys: ['PageDown', '}'] },
  { id: 'prevChapter', scope: 'storyboard', label: 'Previous chapter (or start of this one)', keys: ['PageUp', '{'] },
  { id: 'firstFrame', scope: 'storyboard', label: 'First frame', keys: ['Home'] },
  { id: 'lastFrame', scope: 'storyboard', label: 'Last frame', keys: ['End'] },
  { id: 'openDetail', scope: 'storyboard', label: 'Open frame details', keys: ['Enter'] },
  { id: 'closeDetail', scope: 'storyboard', label: 'Close frame details', keys: ['Escape'] },
  { id: 'approveFrame', scope: 'storyboard', label: 'Approve focused frame (then the next one, with auto-advance)', keys: ['a'] },
  { id: 'rejectFrame', scope: 'storyboard', label: 'Reject focused frame (then the next one, with auto-advance)', keys: ['r'] },
  { id: 'draftFrame', scope: 'storyboard', label: 'Reset focused frame to draft', keys: ['d'] },
  { id: 'nextUnreviewed', scope: 'storyboard', label: 'Next frame not reviewed yet (draft)', keys: ['u'] },
  { id: 'editDescription', scope: 'storyboard', label: 'Edit description of focused frame', keys: ['e'] },
  { id: 'undo', scope: 'storyboard', label: 'Undo last edit', keys: ['Ctrl+z'] },
  { id: 'redo', scope: 'storyboard', label: 'Redo', keys: ['Ctrl+Shift+z', 'Ctrl+y'] },
  { id: 'toggleGrid', scope: 'storyboard', label: 'Switch between list and grid', keys: ['g'] },
  { id: 'zoomIn', scope: 'storyboard', label: 'Larger grid thumbnails', keys: ['+', '='] },
  { id: 'zoomOut', scope: 'storyboard', label: 'Smaller grid thumbnails', keys: ['-'] },
  { id: 'compareVariants', scope: 'storyboard', label: 'Compare the focused frame\'s variants', keys: ['Shift+w'] },
  { id: 'selectShownFrames', scope: 'storyboard', label: 'Select every frame the storyboard shows (after its filters)', keys: ['Ctrl+a'] },
  { id: 'clearFilters', scope: 'storyboard', label: 'Clear the storyboard filters', keys: ['Shift+Escape'] },

  { id: 'togglePanel', scope: 'dock', label: 'Show / hide the curation panel', keys: ['c'] },
  { id: 'toggleJobs', scope: 'dock', label: 'Show / hide the jobs view', keys: ['Shift+j'] },
  { id: 'toggleSelect', scope: 'dock', label: 'Select / unselect the focused frame', keys: ['x'] },
  { id: 'selectAllShown', scope: 'dock', label: 'Select every item the filter shows', keys: ['Shift+x'] },
  { id: 'clearSelection', scope: 'dock', label: 'Clear the selection', keys: ['Shift+c'] },
  { id: 'approveSelection', scope: 'dock', label: 'Approve the selection', keys: ['Shift+a'] },
  { id: 'rejectSelection', scope: 'dock', label: 'Reject the selection, or the focused frame, with a reason and note', keys: ['Shift+r'] },
  { id: 'focusSearch', scope: 'dock', label: 'Search the film', keys: ['/'] },
  { id: 'openViewer', scope: 'dock', label: 'View the focused keyframe full size', keys: ['v'] },
  { id: 'insertFrameAfter', scope: 'dock', label: 'Insert a frame after the focused one', keys: ['Shift+n'] },
  { id: 'deleteFrame', scope: 'dock', label: 'Delete the focused frame (undoable)', keys: ['Shift+Delete'] },
  { id: 'moveFrameUp', scope: 'dock', label: 'Move the focused frame up', keys: ['Alt+ArrowUp'] },
  { id: 'moveFrameDown', scope: 'dock', label: 'Move the focused frame down', keys: ['Alt+ArrowDown'] },
  { id: 'renderFrame', scope: 'dock', label: 'Render the focused frame', keys: ['Shift+f'] },
  { id: 'rerenderNewSeed', scope: 'dock', label: 'Re-render the focused frame with a new seed', keys: ['Shift+s'] },
  { id: 'renderSubchapter', scope: 'dock', label: 'Render the focused frame\'s subchapter', keys: ['Shift+b'] },

  { id: 'closeViewer', scope: 'viewer', label: 'Close the full-size viewer', keys: ['Escape'] },

  { id: 'chooseVariant1', scope: 'compare', label: 'Make variant 1 the keyframe', keys: ['1'] },
  { id: 'chooseVariant2', scope: 'compare', label: 'Make variant 2 the keyframe', keys: ['2'] },
  { id: 'chooseVariant3', scope: 'compare', label: 'Make variant 3 the keyframe', keys: ['3'] },
  { id: 'chooseVariant4', scope: 'compare', label: 'Make variant 4 the keyframe', keys: ['4'] },
  { id: 'compareZoomIn', scope: 'compare', label: 'Zoom in', keys: ['+', '='] },
  { id: 'compareZoomOut', scope: 'compare', label: 'Zoom out', keys: ['-'] },
  { id: 'closeCompare', scope: 'compare', label: 'Close the comparison', keys: ['Escape'] },

  { id: 'closeDialog', scope: 'dialog', label: 'Close the dialog (or this help)', keys: ['Escape'] },
] as const satisfies readonly KeyAction[];

export type ActionId = (typeof ACTIONS)[number]['id'];
export type ActionsOf<S extends Scope> = Extract<(typeof ACTIONS)[number], { scope: S }>['id'];

/** Action → its keys. */
export type Keymap = Record<ActionId, string[]>;

const BY_ID = new Map<string, KeyAction>(ACTIONS.map((a) => [a.id, a]));

export function actionInfo(id: ActionId): KeyAction {
  return BY_ID.get(id)!;
}

export function defaultKeymap(): Keymap {
  return Object.fromEntries(ACTIONS.map((a) => [a.id, [...a.keys]])) as Keymap;
}

/** A scope and the scopes enclosing it, innermost first. */
export function scopeChain(scope: Scope): Scope[] {
  const chain: Scope[] = [];
  for (let s: Scope | null = scope; s !== null; s = SCOPES[s].parent) chain.push(s);
  return chain;
}

/** Two scopes can see the same key press when one is, or encloses, the other. */
export function scopesOverlap(a: Scope, b: Scope): boolean {
  return scopeChain(a).includes(b) || scopeChain(b).includes(a);
}

/** The action a key press runs in `scope`: the innermost scope of its chain that binds the key. */
export function actionFor(map: Keymap, scope: Scope, name: string): ActionId | null {
  if (!name) return null;
  for (const s of scopeChain(scope)) {
    for (const a of ACTIONS) if (a.scope === s && map[a.id].includes(name)) return a.id;
  }
  return null;
}

/** The action other than `action` that already answers `name` wherever `action` could. */
export function conflictFor(map: Keymap, action: ActionId, name: string): ActionId | null {
  const scope = actionInfo(action).scope;
  for (const a of ACTIONS) {
    if (a.id !== action && scopesOverlap(a.scope, scope) && map[a.id].includes(name)) return a.id;
  }
  return null;
}

export type BindResult = { ok: true; map: Keymap } | { ok: false; error: string };

/**
 * Binds `action` to the one key `name`. A key another action already answers in the same or an
 * overlapping scope is refused (nothing changes) with a sentence naming that action.
 */
export function bind(map: Keymap, action: ActionId, name: string): BindResult {
  if (!BY_ID.has(action)) return { ok: false, error: `Unknown keyboard action "${action}"` };
  if (!name) return { ok: false, error: 'Press a key (modifier keys alone cannot be bound)' };
  const other = conflictFor(map, action, name);
  if (other) {
    const info = actionInfo(other);
    return { ok: false, error: `${displayKey(name)} already does “${info.label}” (${SCOPES[info.scope].label}); change that one first` };
  }
  return { ok: true, map: { ...map, [action]: [name] } };
}

/**
 * Drops every key that collides with one an earlier action (in table order) already holds, so a
 * map read from storage (hand-edited, or older than a new default) never has two actions on a key.
 */
export function withoutConflicts(map: Keymap): Keymap {
  const out = Object.fromEntries(ACTIONS.map((a) => [a.id, [] as string[]])) as Keymap;
  for (const a of ACTIONS) {
    for (const k of map[a.id]) if (!out[a.id].includes(k) && conflictFor(out, a.id, k) === null) out[a.id].push(k);
  }
  return out;
}

export const STORAGE_KEY = 'dreamframe.keymap.v2';
/** The curation-only map of earlier versions; read once when no current map is saved. */
export const LEGACY_STORAGE_KEY = 'dreamframe.curationKeymap.v1';

type ReadStorage = Pick<Storage, 'getItem'> | null;
type WriteStorage = Pick<Storage, 'setItem'> | null;

function defaultStorage(): Storage | null {
  return typeof localStorage === 'undefined' ? null : localStorage;
}

/** The saved map over the defaults; unknown actions, malformed entries and colliding keys are ignored. */
export function loadKeymap(storage: ReadStorage = defaultStorage()): Keymap {
  const map = defaultKeymap();
  const raw = storage?.getItem(STORAGE_KEY) ?? storage?.getItem(LEGACY_STORAGE_KEY) ?? null;
  if (raw === null) return map;
  let saved: unknown;
  try {
    saved = JSON.parse(raw);
  } catch {
    return map; // a corrupt entry falls back to the defaults
  }
  if (typeof saved !== 'object' || saved === null) return map;
  for (const [action, keys] of Object.entries(saved)) {
    if (BY_ID.has(action) && Array.isArray(keys) && keys.every((k) => typeof k === 'string' && k !== '')) {
      map[action as ActionId] = keys as string[];
    }
  }
  return withoutConflicts(map);
}

export function saveKeymap(map: Keymap, storage: WriteStorage = defaultStorage()): void {
  storage?.setItem(STORAGE_KEY, JSON.stringify(map));
}

type KeyPress = Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey'>;

/** The canonical name of a key press, e.g. "Shift+a", "Alt+ArrowUp", "/", "Ctrl+Shift+z"; "" for a lone modifier. */
export function keyName(e: KeyPress): string {
  if (['Control', 'Alt', 'Shift', 'Meta'].includes(e.key)) return '';
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  // Shifted punctuation ("?", "/") is its own key; Shift only counts for letters and named keys.
  const shiftCounts = e.key.length > 1 || /\p{L}/u.test(e.key);
  return [(e.ctrlKey || e.metaKey) && 'Ctrl', e.altKey && 'Alt', e.shiftKey && shiftCounts && 'Shift', key].filter(Boolean).join('+');
}

const KEY_LABELS: Record<string, string> = {
  ArrowDown: '↓', ArrowRight: '→', ArrowUp: '↑', ArrowLeft: '←', Escape: 'Esc', ' ': 'Space',
};

/** How a key name is shown to people: arrows as arrows, a letter after a modifier in capitals ("Ctrl+Z"). */
export function displayKey(name: string): string {
  // "+" can itself be the key ("+", "Ctrl++").
  const at = name.endsWith('+') ? name.length - 1 : name.lastIndexOf('+') + 1;
  const key = name.slice(at);
  const mods = name.slice(0, at).split('+').filter(Boolean);
  const shown = KEY_LABELS[key] ?? (mods.length && key.length === 1 ? key.toUpperCase() : key);
  return [...mods, shown].join('+');
}

export interface HelpSection { scope: Scope; label: string; rows: { action: ActionId; label: string; keys: string[] }[] }

/** The help sheet: every scope with its actions and their current keys (as shown to people). */
export function helpSheet(map: Keymap): HelpSection[] {
  return SCOPE_ORDER.map((scope) => ({
    scope,
    label: SCOPES[scope].label,
    rows: ACTIONS.filter((a) => a.scope === scope).map((a) => ({ action: a.id, label: a.label, keys: map[a.id].map(displayKey) })),
  }));
}

/** Keys typed into a text field belong to the field. */
export function isTextTarget(target: EventTarget | null): boolean {
  if (!target || typeof (target as Element).closest !== 'function') return false;
  return (target as Element).closest('input, textarea, select, [contenteditable="true"]') !== null;
}
