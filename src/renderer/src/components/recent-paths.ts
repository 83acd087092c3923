/**
 * Recently used paths per purpose ("export", "embedding"), newest first, kept in this browser's localStorage
 * (per user and machine, like the keymap), so a picker can offer them again.
 */

const MAX_RECENT = 8;
const key = (purpose: string) => `dreamframe.recent.${purpose}`;
const storage = (): Storage | null => (typeof localStorage === 'undefined' ? null : localStorage);

export function recentPaths(purpose: string): string[] {
  try {
    const raw = JSON.parse(storage()?.getItem(key(purpose)) ?? '[]') as unknown;
    return Array.isArray(raw) ? raw.filter((p): p is string => typeof p === 'string').slice(0, MAX_RECENT) : [];
  } catch {
    return [];
  }
}

/** Puts `path` first in the purpose's list (once), keeping the newest MAX_RECENT. */
export function rememberPath(purpose: string, path: string): void {
  const p = path.trim();
  if (!p) return;
  const next = [p, ...recentPaths(purpose).filter((x) => x !== p)].slice(0, MAX_RECENT);
  storage()?.setItem(key(purpose), JSON.stringify(next));
}
