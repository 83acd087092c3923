import { ApiCallError, type ApiClient } from '../../src/shared/api/client';
import type { EventName } from '../../src/shared/api/contract';
import { dispatch } from '../../src/main/api/dispatch';
import type { AppContext } from '../../src/main/app/context';
import { installApi } from '../../src/renderer/src/api/current';

/**
 * An ApiClient wired straight to a real AppContext (dispatch, handlers, event bus; no transport), for testing
 * renderer stores against the real main process. `context` is read on every call, so a suite may create its
 * context after building the client. `onCall` sees each method name.
 */
export function inProcessClient(context: () => AppContext, onCall?: (method: string) => void): ApiClient {
  return {
    call: (async (method: string, input: unknown) => {
      onCall?.(method);
      const out = await dispatch(context(), method, input);
      if (!out.ok) throw new ApiCallError(out.error);
      return out.result;
    }) as ApiClient['call'],
    on: ((event: EventName, listener: (payload: unknown) => void) =>
      context().events.onAny((name, payload) => { if (name === event) listener(payload); })) as ApiClient['on'],
    assetUrl: (key) => key,
  };
}

/** Installs an in-process client as the renderer's API (serve mode, connection open) and returns it. */
export function installInProcessApi(context: () => AppContext, onCall?: (method: string) => void): ApiClient {
  const client = inProcessClient(context, onCall);
  installApi({ client, mode: 'serve', onConnectionChange: () => () => {}, connection: () => ({ state: 'open', error: null, resumed: false }) });
  return client;
}
