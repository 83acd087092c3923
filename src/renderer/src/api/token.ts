/**
 * Serve mode hands the access token to the first page load as `?token=`; keep it for this tab only
 * (sessionStorage) and take it out of the address bar so it does not linger in history or screenshots.
 */
export const TOKEN_STORAGE_KEY = 'dreamframe.token';

export interface TokenEnvironment {
  location: Pick<Location, 'href'>;
  history: Pick<History, 'replaceState' | 'state'>;
  storage: Pick<Storage, 'getItem' | 'setItem'>;
}

export function takeServeToken(env: TokenEnvironment): string | null {
  const url = new URL(env.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl !== null) {
    url.searchParams.delete('token');
    env.storage.setItem(TOKEN_STORAGE_KEY, fromUrl);
    env.history.replaceState(env.history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return env.storage.getItem(TOKEN_STORAGE_KEY);
}

/** `/media/<variant>/<key>?token=…`; the key is passed through as is (it may carry its own `?v=`). */
export function serveMediaUrl(key: string, variant: 'thumb' | 'full', token: string): string {
  const path = `/media/${variant}/${encodeURI(key)}`;
  const sep = path.includes('?') ? '&' : '?';
  return `${path}${sep}token=${encodeURIComponent(token)}`;
}
