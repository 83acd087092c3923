import type { EventName, EventPayload, MethodInput, MethodName, MethodOutput } from './contract';

/**
 * What the renderer sees of the main process, whatever the transport. Calls reject with an
 * `ApiCallError` carrying the `{code, message, details}` payload the main process sent.
 */
export interface ApiClient {
  call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>>;
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
  /** URL for an image key from the contract (thumbnails, full-size renders). */
  assetUrl(key: string, variant?: 'thumb' | 'full'): string;
}

export class ApiCallError extends Error {
  readonly code: string;
  readonly details?: unknown;
  constructor(payload: { code: string; message: string; details?: unknown }) {
    super(payload.message);
    this.name = 'ApiCallError';
    this.code = payload.code;
    this.details = payload.details;
  }
}

/** Wire messages of the WebSocket transport (and the shape the preload bridge mirrors). */
export type WireRequest = { id: number; method: string; input: unknown };
export type WireResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: string; message: string; details?: unknown } };
export type WireEvent = { event: string; payload: unknown };
