import { ipcMain, protocol, type BrowserWindow, type WebContents } from 'electron';
import type { AppContext } from '../app/context';
import { dispatch } from '../api/dispatch';
import { readMedia } from '../media/media-service';

const CALL_CHANNEL = 'dreamframe:call';
const EVENT_CHANNEL = 'dreamframe:event';
export const MEDIA_SCHEME = 'dreamframe-media';

/** Must run before `app.whenReady()`: lets the renderer load images from our scheme. */
export function registerMediaScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: MEDIA_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

/** Only our own window's top frame may call the API. */
function trustedSender(sender: WebContents, win: BrowserWindow, frameUrl: string | undefined): boolean {
  if (sender.id !== win.webContents.id || !frameUrl) return false;
  const rendererUrl = process.env.ELECTRON_RENDERER_URL;
  return frameUrl.startsWith('file://') || (rendererUrl !== undefined && frameUrl.startsWith(rendererUrl));
}

/**
 * Electron transport of the contract: one invoke channel into the same dispatcher as serve mode,
 * events forwarded to the window, and the media scheme answered by the same media service.
 */
export function attachIpc(ctx: AppContext, win: BrowserWindow): () => void {
  ipcMain.handle(CALL_CHANNEL, async (event, method: unknown, input: unknown) => {
    if (!trustedSender(event.sender, win, event.senderFrame?.url)) {
      return { ok: false, error: { code: 'forbidden', message: 'Caller is not the DreamFrame window' } };
    }
    return dispatch(ctx, method, input);
  });

  const unsubscribe = ctx.events.onAny((name, payload) => {
    if (!win.isDestroyed()) win.webContents.send(EVENT_CHANNEL, name, payload);
  });

  protocol.handle(MEDIA_SCHEME, async (request) => {
    const url = new URL(request.url);
    const variant = url.host === 'full' ? 'full' : 'thumb';
    try {
      const file = await readMedia(ctx.requireProject(), variant, decodeURIComponent(url.pathname.replace(/^\//, '')));
      return new Response(new Uint8Array(file.bytes), { headers: { 'content-type': file.mime } });
    } catch (err) {
      return new Response((err as Error).message, { status: 404 });
    }
  });

  return () => {
    unsubscribe();
    ipcMain.removeHandler(CALL_CHANNEL);
    protocol.unhandle(MEDIA_SCHEME);
  };
}
