import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { bind, defaultKeymap, helpSheet, loadKeymap, saveKeymap, type ActionId, type Keymap } from '../keyboard/keymap';

/** The user's keymap (every scope), saved in this browser; the Keys tab edits it, the help overlay shows it. */
export const useKeymapStore = defineStore('keymap', () => {
  const map = ref<Keymap>(loadKeymap());
  const sheet = computed(() => helpSheet(map.value));

  /** Binds `action` to `key`; returns why not (nothing changes) when another action in reach has that key. */
  function setBinding(action: ActionId, key: string): string | null {
    const result = bind(map.value, action, key);
    if (!result.ok) return result.error;
    map.value = result.map;
    saveKeymap(map.value);
    return null;
  }

  function reset(): void {
    map.value = defaultKeymap();
    saveKeymap(map.value);
  }

  return { map, sheet, setBinding, reset };
});
