import type { ApiClient } from '@shared/api/client';
import { serveMediaUrl, takeServeToken } from './token';
import { ElectronApiClient } from './electron-client';
import type { ApiSetup } from './setup';
import { WebSocketApiClient, type ConnectionStatus } from './ws-client';

export type { ApiSetup, ConnectionStatus } from './setup';

const ALWAYS_OPEN: ConnectionStatus = { state: 'open', error: null, resumed: false };

/** Picks the transport once at start: the preload's bridge inside Electron, the WebSocket in a browser. */
export function createApi(): ApiSetup {
  if (window.dreamframe) {
    return { client: new ElectronApiClient(window.dreamframe), mode: 'electron', onConnectionChange: () => () => {}, connection: () => ALWAYS_OPEN };
  }
  const token = takeServeToken({ location: window.location, history: window.history, storage: window.sessionStorage });
  if (token === null) {
    const status: ConnectionStatus = {
      state: 'failed',
      error: 'No access token. Open the link printed by "dreamframe serve" (it ends in ?token=…).',
      resumed: false,
    };
    const client: ApiClient = {
      call: () => Promise.reject(new Error(status.error ?? '')),
      on: () => () => {},
      assetUrl: () => '',
    };
    return { client, mode: 'serve', onConnectionChange: () => () => {}, connection: () => status };
  }
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocketApiClient({
    url: `${scheme}://${window.location.host}/api?token=${encodeURIComponent(token)}`,
    assetUrl: (key, variant) => serveMediaUrl(key, variant, token),
  });
  return {
    client: ws,
    mode: 'serve',
    onConnectionChange: (listener) => ws.onConnectionChange(listener),
    connection: () => ws.connection,
  };
}
