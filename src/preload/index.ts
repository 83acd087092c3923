import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

/**
 * The renderer's only door to the main process (contextIsolation on, sandboxed, no Node).
 * It exposes the generic `ApiClient` shape of src/shared/api/client.ts: one `call` channel validated
 * in main against the contract, one event channel, and the media URL scheme. Changing the bridge
 * means changing three files together: this one, src/preload/index.d.ts and
 * src/main/electron/ipc.ts.
 */

const CALL_CHANNEL = 'dreamframe:call';
const EVENT_CHANNEL = 'dreamframe:event';

type Result = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string; details?: unknown } };

contextBridge.exposeInMainWorld('dreamframe', {
  async call(method: string, input: unknown): Promise<unknown> {
    const out = (await ipcRenderer.invoke(CALL_CHANNEL, method, input)) as Result;
    // Plain objects cross the bridge intact (Error objects would lose their code).
    if (!out.ok) throw { name: 'ApiCallError', ...out.error };
    return out.result;
  },
  on(event: string, listener: (payload: unknown) => void): () => void {
    const handler = (_e: IpcRendererEvent, name: string, payload: unknown) => {
      if (name === event) listener(payload);
    };
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, handler);
    };
  },
  assetUrl(key: string, variant: 'thumb' | 'full' = 'thumb'): string {
    return `dreamframe-media://${variant}/${key}`;
  },
});
