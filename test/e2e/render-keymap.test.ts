import { describe, expect, it } from 'vitest';
import {
  actionFor, DEFAULT_KEYMAP, defaultKeymap, keyName, loadKeymap, rebind, saveKeymap,
} from '../../src/renderer/src/views/curation/keymap';
import { SHORTCUTS } from '../../src/renderer/src/storyboard/shortcuts';

/** The curation keymap (renderer code, type-checked with the DOM types of the e2e config). */
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

describe('curation keymap', () => {
  it('names key presses canonically', () => {
    expect(keyName(press('A', { shiftKey: true }))).toBe('Shift+a');
    expect(keyName(press('ArrowUp', { altKey: true }))).toBe('Alt+ArrowUp');
    expect(keyName(press('?', { shiftKey: true }))).toBe('?');
    expect(keyName(press('/'))).toBe('/');
    expect(keyName(press('z', { metaKey: true }))).toBe('Ctrl+z');
    expect(keyName(press('Shift', { shiftKey: true }))).toBe('');
  });

  it('maps every default key to its action and never takes a storyboard key', () => {
    const map = defaultKeymap();
    for (const s of DEFAULT_KEYMAP) for (const k of s.keys) expect(actionFor(map, k)).toBe(s.action);
    const storyboardKeys = new Set(SHORTCUTS.flatMap((s) => s.keys).map((k) => (k.length === 1 ? k.toLowerCase() : k)));
    const curationKeys = DEFAULT_KEYMAP.flatMap((s) => s.keys);
    expect(curationKeys.filter((k) => storyboardKeys.has(k))).toEqual([]);
    expect(new Set(curationKeys).size).toBe(curationKeys.length);
  });

  it('rebinds a key away from its old action and persists the map', () => {
    const storage = memoryStorage();
    const map = rebind(defaultKeymap(), 'openViewer', 'x');
    expect(actionFor(map, 'x')).toBe('openViewer');
    expect(map.toggleSelect).toEqual([]);
    expect(actionFor(map, 'v')).toBeNull();
    saveKeymap(map, storage);
    expect(loadKeymap(storage)).toEqual(map);
    // Corrupt or foreign entries fall back to the defaults.
    storage.setItem('dreamframe.curationKeymap.v1', '{"openViewer": 3, "nope": ["q"]}');
    expect(loadKeymap(storage)).toEqual(defaultKeymap());
    storage.setItem('dreamframe.curationKeymap.v1', 'not json');
    expect(loadKeymap(storage)).toEqual(defaultKeymap());
  });
});
