import type { ApiClient } from '../shared/api/client';

// The preload (src/preload/index.ts) exposes exactly this object via contextBridge; the renderer
// falls back to the WebSocket client when it is absent (serve mode in a plain browser).
declare global {
  interface Window {
    dreamframe?: ApiClient;
  }
}

export {};
