import type { Move } from './rows';

/** Storyboard keyboard actions; the help overlay is generated from the same table. */
export type Action =
  | { type: 'move'; move: Move }
  | { type: 'openDetail' }
  | { type: 'close' }
  | { type: 'review'; state: 'approved' | 'rejected' | 'draft' }
  | { type: 'edit' }
  | { type: 'help' }
  | { type: 'undo' }
  | { type: 'redo' };

export interface Shortcut {
  keys: string[];
  label: string;
  action: Action;
}

export const SHORTCUTS: Shortcut[] = [
  { keys: ['↓', '→', 'j'], label: 'Next frame', action: { type: 'move', move: 'next' } },
  { keys: ['↑', '←', 'k'], label: 'Previous frame', action: { type: 'move', move: 'prev' } },
  { keys: [']'], label: 'Next subchapter', action: { type: 'move', move: 'nextSub' } },
  { keys: ['['], label: 'Previous subchapter (or start of this one)', action: { type: 'move', move: 'prevSub' } },
  { keys: ['PageDown', '}'], label: 'Next chapter', action: { type: 'move', move: 'nextChapter' } },
  { keys: ['PageUp', '{'], label: 'Previous chapter (or start of this one)', action: { type: 'move', move: 'prevChapter' } },
  { keys: ['Home'], label: 'First frame', action: { type: 'move', move: 'first' } },
  { keys: ['End'], label: 'Last frame', action: { type: 'move', move: 'last' } },
  { keys: ['Enter'], label: 'Open frame details', action: { type: 'openDetail' } },
  { keys: ['Esc'], label: 'Close details / help', action: { type: 'close' } },
  { keys: ['a'], label: 'Approve focused frame', action: { type: 'review', state: 'approved' } },
  { keys: ['r'], label: 'Reject focused frame', action: { type: 'review', state: 'rejected' } },
  { keys: ['d'], label: 'Reset focused frame to draft', action: { type: 'review', state: 'draft' } },
  { keys: ['e'], label: 'Edit description of focused frame', action: { type: 'edit' } },
  { keys: ['Ctrl+Z'], label: 'Undo last edit', action: { type: 'undo' } },
  { keys: ['Ctrl+Shift+Z', 'Ctrl+Y'], label: 'Redo', action: { type: 'redo' } },
  { keys: ['?'], label: 'Show / hide this help', action: { type: 'help' } },
];

const KEY_NAMES: Record<string, string> = {
  ArrowDown: '↓', ArrowRight: '→', ArrowUp: '↑', ArrowLeft: '←', Escape: 'Esc',
};

export function actionForKey(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey'>): Action | null {
  if (e.altKey) return null;
  if (e.ctrlKey || e.metaKey) {
    const k = e.key.toLowerCase();
    if (k === 'z') return { type: e.shiftKey ? 'redo' : 'undo' };
    if (k === 'y') return { type: 'redo' };
    return null;
  }
  const name = KEY_NAMES[e.key] ?? e.key;
  return SHORTCUTS.find((s) => !s.keys.some((k) => k.startsWith('Ctrl')) && s.keys.includes(name))?.action ?? null;
}

/** Keys typed into a text field belong to the field. */
export function isTextTarget(target: EventTarget | null): boolean {
  if (!target || typeof (target as Element).closest !== 'function') return false;
  return (target as Element).closest('input, textarea, select, [contenteditable="true"]') !== null;
}
