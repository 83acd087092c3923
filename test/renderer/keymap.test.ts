import { describe, expect, it } from 'vitest';
import {
  ACTIONS, actionFor, bind, defaultKeymap, displayKey, helpSheet, keyName, LEGACY_STORAGE_KEY, loadKeymap, saveKeymap,
  SCOPES, withoutConflicts, STORAGE_KEY, type ActionId, type Keymap, type Scope,
} from '../../src/renderer/src/keyboard/keymap';
import { activeScope, handlerFor, type KeyRegistration } from '../../src/renderer/src/keyboard/scopes';

/** The one keymap: canonical key names, scopes, refusal of colliding bindings, persistence, the help sheet. */

const press = (key: string, mods: Partial<Record<'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey', boolean>> = {}) =>
  ({ key, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...mods });

function memoryStorage(): Storage {
  const data = new Map<string, string>();
  return {
    get length() { return data.size; },
    clear: () => data.clear(),
    getItem: (k) => data.get(k) ?? null,
    key: (i) => [...data.keys()][i] ?? null,
    removeItem: (k) => { data.delete(k); },
    setItem: (k, v) => { data.set(k, v); },
  };
}

const reg = (scope: Scope, handlers: KeyRegistration['handlers'] = {}): KeyRegistration => ({ scope, handlers });

describe('keymap', () => {
  it('names key presses canonically', () => {
    expect(keyName(press('A', { shiftKey: true }))).toBe('Shift+a');
    expect(keyName(press('ArrowUp', { altKey: true }))).toBe('Alt+ArrowUp');
    expect(keyName(press('?', { shiftKey: true }))).toBe('?');
    expect(keyName(press('/'))).toBe('/');
    expect(keyName(press('z', { metaKey: true }))).toBe('Ctrl+z');
    expect(keyName(press('Z', { ctrlKey: true, shiftKey: true }))).toBe('Ctrl+Shift+z');
    expect(keyName(press('Shift', { shiftKey: true }))).toBe('');
  });

  it('turns storyboard key presses into their actions', () => {
    const map = defaultKeymap();
    const key = (k: string, mods: Parameters<typeof press>[1] = {}) => actionFor(map, 'storyboard', keyName(press(k, mods)));
    expect(key('j')).toBe('rowDown');
    expect(key('ArrowUp')).toBe('rowUp');
    expect(key('l')).toBe('nextFrame');
    expect(key('ArrowLeft')).toBe('prevFrame');
    expect(key('PageDown')).toBe('nextChapter');
    expect(key(']')).toBe('nextSubchapter');
    expect(key('End')).toBe('lastFrame');
    expect(key('a')).toBe('approveFrame');
    expect(key('z', { ctrlKey: true })).toBe('undo');
    expect(key('Z', { ctrlKey: true, shiftKey: true })).toBe('redo');
    expect(key('j', { ctrlKey: true })).toBeNull();
    expect(key('x')).toBeNull();
    // Shifted letters belong to the curation dock's keymap (Shift+a approves its selection).
    expect(key('A', { shiftKey: true })).toBeNull();
  });

  it('shows keys the way people write them', () => {
    expect(displayKey('ArrowDown')).toBe('↓');
    expect(displayKey('Escape')).toBe('Esc');
    expect(displayKey('Ctrl+Shift+z')).toBe('Ctrl+Shift+Z');
    expect(displayKey('Shift+a')).toBe('Shift+A');
    expect(displayKey('j')).toBe('j');
    expect(displayKey('Ctrl++')).toBe('Ctrl++');
    expect(displayKey('+')).toBe('+');
  });

  it('gives every default key to its action, with no key answered twice where both could act', () => {
    const map = defaultKeymap();
    for (const a of ACTIONS) for (const k of a.keys) expect(actionFor(map, a.scope, k)).toBe(a.id);
    // Defaults never put one key on two actions that could both see the press.
    expect(withoutConflicts(map)).toEqual(map);
  });

  it('resolves a key in the active scope and the scopes enclosing it, never in a scope behind it', () => {
    const map = defaultKeymap();
    // The dock is inside the storyboard: both its keys and the storyboard's act.
    expect(actionFor(map, 'dock', 'j')).toBe('rowDown');
    expect(actionFor(map, 'dock', 'Shift+a')).toBe('approveSelection');
    expect(actionFor(map, 'dock', '?')).toBe('toggleHelp');
    expect(actionFor(map, 'dock', 'Escape')).toBe('closeDetail');
    // The storyboard alone has no dock keys.
    expect(actionFor(map, 'storyboard', 'Shift+a')).toBeNull();
    // A dialog or the viewer takes the keys: storyboard and dock keys do nothing, global ones still work.
    expect(actionFor(map, 'dialog', 'j')).toBeNull();
    expect(actionFor(map, 'dialog', 'v')).toBeNull();
    expect(actionFor(map, 'dialog', 'Escape')).toBe('closeDialog');
    expect(actionFor(map, 'dialog', '?')).toBe('toggleHelp');
    expect(actionFor(map, 'viewer', 'Escape')).toBe('closeViewer');
    expect(actionFor(map, 'viewer', 'k')).toBeNull();
  });

  it('makes the newest modal scope active, else the innermost open scope', () => {
    expect(activeScope([])).toBe('global');
    expect(activeScope([reg('global')])).toBe('global');
    expect(activeScope([reg('global'), reg('storyboard')])).toBe('storyboard');
    expect(activeScope([reg('global'), reg('dock'), reg('storyboard')])).toBe('dock');
    expect(activeScope([reg('global'), reg('storyboard'), reg('dock'), reg('viewer')])).toBe('viewer');
    expect(activeScope([reg('global'), reg('storyboard'), reg('viewer'), reg('dialog')])).toBe('dialog');
    expect(activeScope([reg('global'), reg('dialog'), reg('viewer')])).toBe('viewer');
  });

  it('hands a key to the newest registration that handles it, so the top dialog closes first', () => {
    const closed: string[] = [];
    const open = [
      reg('global', { toggleHelp: () => closed.push('help toggled') }),
      reg('dialog', { closeDialog: () => closed.push('export') }),
      reg('dialog', { closeDialog: () => closed.push('help') }),
    ];
    handlerFor(open, 'dialog', 'closeDialog')!();
    expect(closed).toEqual(['help']);
    expect(handlerFor(open, 'storyboard', 'nextFrame')).toBeNull();
    handlerFor(open, 'global', 'toggleHelp')!();
    expect(closed).toEqual(['help', 'help toggled']);
  });

  it('refuses a key another action answers in the same or an enclosing scope, and says which', () => {
    const map = defaultKeymap();
    const same = bind(map, 'openViewer', 'x');
    expect(same.ok).toBe(false);
    if (!same.ok) expect(same.error).toContain('Select / unselect the focused frame');
    // A dock key that the storyboard around it already uses.
    const enclosing = bind(map, 'openViewer', 'l');
    expect(enclosing.ok).toBe(false);
    if (!enclosing.ok) expect(enclosing.error).toMatch(/l already does “Next frame \(in the grid: the card to the right\)” \(Storyboard\)/);
    // A global key that an inner scope already uses would never reach its action there.
    expect(bind(map, 'toggleHelp', 'Shift+x').ok).toBe(false);
    expect(bind(map, 'closeDialog', '?').ok).toBe(false);
    expect(bind(map, 'openViewer', '')).toMatchObject({ ok: false });
    // Refusal changes nothing.
    expect(map).toEqual(defaultKeymap());
    // Scopes that never see the same press may share a key.
    const shared = bind(map, 'closeViewer', 'x');
    expect(shared.ok).toBe(true);
    if (shared.ok) expect(actionFor(shared.map, 'viewer', 'x')).toBe('closeViewer');
    // A free key, and rebinding an action to the key it already has, are fine.
    const free = bind(map, 'openViewer', 'Shift+v');
    expect(free.ok && free.map.openViewer).toEqual(['Shift+v']);
    expect(bind(map, 'rowDown', 'j').ok).toBe(true);
  });

  it('keeps a remapped key across a reload and falls back to the defaults on bad entries', () => {
    const storage = memoryStorage();
    const result = bind(defaultKeymap(), 'openViewer', 'Shift+v');
    if (!result.ok) throw new Error(result.error);
    saveKeymap(result.map, storage);
    const loaded = loadKeymap(storage);
    expect(loaded).toEqual(result.map);
    expect(actionFor(loaded, 'dock', 'Shift+v')).toBe('openViewer');
    expect(actionFor(loaded, 'dock', 'v')).toBeNull();

    storage.setItem(STORAGE_KEY, '{"openViewer": 3, "nope": ["q"]}');
    expect(loadKeymap(storage)).toEqual(defaultKeymap());
    storage.setItem(STORAGE_KEY, 'not json');
    expect(loadKeymap(storage)).toEqual(defaultKeymap());
  });

  it('drops saved keys that collide, keeping the action earlier in the table', () => {
    const storage = memoryStorage();
    // Written by hand (or by an older version that let a curation key take a storyboard key).
    storage.setItem(STORAGE_KEY, JSON.stringify({ openViewer: ['j', 'Shift+v'], toggleHelp: ['x'] }));
    const map = loadKeymap(storage);
    expect(map.rowDown).toEqual(['ArrowDown', 'j']);
    expect(map.openViewer).toEqual(['Shift+v']);
    // toggleHelp comes first in the table, so it keeps "x" and the dock's toggleSelect loses it.
    expect(map.toggleHelp).toEqual(['x']);
    expect(map.toggleSelect).toEqual([]);
  });

  it('reads the curation-only map saved by earlier versions', () => {
    const storage = memoryStorage();
    storage.setItem(LEGACY_STORAGE_KEY, JSON.stringify({ ...Object.fromEntries(ACTIONS.filter((a) => a.scope === 'dock').map((a) => [a.id, [...a.keys]])), toggleSelect: [], openViewer: ['x'] }));
    const map = loadKeymap(storage);
    expect(map.openViewer).toEqual(['x']);
    expect(map.toggleSelect).toEqual([]);
    expect(map.rowDown).toEqual(['ArrowDown', 'j']);
  });

  it('generates the help sheet from the keymap: every scope, every action, current keys', () => {
    const result = bind(defaultKeymap(), 'openViewer', 'Shift+v');
    if (!result.ok) throw new Error(result.error);
    const sheet = helpSheet(result.map);
    expect(sheet.map((s) => s.scope).sort()).toEqual((Object.keys(SCOPES) as Scope[]).sort());
    const listed = sheet.flatMap((s) => s.rows.map((r) => r.action));
    expect(listed.sort()).toEqual(ACTIONS.map((a) => a.id).sort());
    const row = (scope: Scope, action: ActionId) => sheet.find((s) => s.scope === scope)!.rows.find((r) => r.action === action)!;
    expect(row('dock', 'openViewer').keys).toEqual(['Shift+V']);
    expect(row('dock', 'togglePanel')).toMatchObject({ label: 'Show / hide the curation panel', keys: ['c'] });
    expect(row('storyboard', 'nextFrame').keys).toEqual(['→', 'l']);
    expect(row('storyboard', 'rowDown').keys).toEqual(['↓', 'j']);
    expect(row('storyboard', 'redo').keys).toEqual(['Ctrl+Shift+Z', 'Ctrl+Y']);
    expect(row('dialog', 'closeDialog').keys).toEqual(['Esc']);
    expect(row('global', 'toggleHelp').keys).toEqual(['?']);
  });
});

// Compile-time check that the keymap type is the table's: an unknown action is an error.
// @ts-expect-error not an action
const unknown: Keymap['noSuchAction'] = [];
void unknown;
