import type { ApiClient } from '@shared/api/client';
import { ApiCallError } from '@shared/api/client';
import type { EventName, EventPayload, MethodInput, MethodName, MethodOutput } from '@shared/api/contract';

/**
 * Electron transport: the preload's `window.dreamframe` bridge. Errors cross contextBridge as plain
 * `{code, message, details}` objects (Error instances would lose their code), so they are turned back
 * into `ApiCallError`s here and the stores see one error type whatever the transport.
 */
export class ElectronApiClient implements ApiClient {
  constructor(private readonly bridge: ApiClient) {}

  async call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>> {
    try {
      return await this.bridge.call(method, input);
    } catch (err) {
      throw toApiCallError(err);
    }
  }

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    return this.bridge.on(event, listener);
  }

  assetUrl(key: string, variant: 'thumb' | 'full' = 'thumb'): string {
    return this.bridge.assetUrl(key, variant);
  }
}

export function toApiCallError(err: unknown): ApiCallError {
  if (err instanceof ApiCallError) return err;
  if (typeof err === 'object' && err !== null) {
    const { code, message, details } = err as { code?: unknown; message?: unknown; details?: unknown };
    return new ApiCallError({
      code: typeof code === 'string' ? code : 'internal',
      message: typeof message === 'string' ? message : 'The main process failed without a message',
      details,
    });
  }
  return new ApiCallError({ code: 'internal', message: String(err) });
}
