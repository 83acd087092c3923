import type { ApiClient, WireEvent, WireRequest, WireResponse } from '@shared/api/client';
import { ApiCallError } from '@shared/api/client';
import type { EventName, EventPayload, MethodInput, MethodName, MethodOutput } from '@shared/api/contract';

/**
 * Serve-mode transport: one WebSocket carrying WireRequest/WireResponse/WireEvent JSON messages.
 *
 * Calls made while the socket is down wait for it; calls already sent when it drops fail with
 * `connection_lost` (the server may or may not have run them, so they are not replayed). Once the
 * socket has been open, drops are retried forever with backoff; a socket that never opens (refused
 * token, no server) is given up after `initialAttempts` tries and the client turns `failed`.
 */

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'failed';

export interface ConnectionStatus {
  state: ConnectionState;
  /** Why the client is failed or reconnecting; null while healthy. */
  error: string | null;
  /** True when the socket came back after a drop: events may have been missed, refetch. */
  resumed: boolean;
}

type SocketLike = Pick<WebSocket, 'send' | 'close' | 'readyState'> & {
  onopen: ((ev: Event) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
};

export interface WsClientOptions {
  url: string;
  assetUrl: (key: string, variant: 'thumb' | 'full') => string;
  createSocket?: (url: string) => SocketLike;
  /** Delays between reconnection attempts; the last one repeats. */
  reconnectDelaysMs?: number[];
  initialAttempts?: number;
}

/** Close codes a server uses to say "your token is not accepted"; no point in retrying them. */
const AUTH_CLOSE_CODES = new Set([1008, 4401, 4403]);
const OPEN = 1;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  sent: boolean;
  message: string;
}

export class WebSocketApiClient implements ApiClient {
  private socket: SocketLike | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, Set<(payload: unknown) => void>>();
  private readonly statusListeners = new Set<(status: ConnectionStatus) => void>();
  private status: ConnectionStatus = { state: 'connecting', error: null, resumed: false };
  private everOpened = false;
  private failedAttempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private closedByUser = false;
  private readonly delays: number[];
  private readonly initialAttempts: number;
  private readonly createSocket: (url: string) => SocketLike;

  constructor(private readonly options: WsClientOptions) {
    this.delays = options.reconnectDelaysMs ?? [250, 500, 1000, 2000, 4000];
    this.initialAttempts = options.initialAttempts ?? 3;
    this.createSocket = options.createSocket ?? ((url) => new WebSocket(url) as SocketLike);
    this.connect();
  }

  get connection(): ConnectionStatus {
    return this.status;
  }

  onConnectionChange(listener: (status: ConnectionStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>> {
    if (this.status.state === 'failed') {
      return Promise.reject(new ApiCallError({ code: 'connection_failed', message: this.status.error ?? 'Not connected' }));
    }
    const id = this.nextId++;
    const request: WireRequest = { id, method, input };
    return new Promise<MethodOutput<M>>((resolve, reject) => {
      const entry: Pending = { resolve: resolve as (v: unknown) => void, reject, sent: false, message: JSON.stringify(request) };
      this.pending.set(id, entry);
      this.flush();
    });
  }

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    const untyped = listener as (payload: unknown) => void;
    set.add(untyped);
    return () => set.delete(untyped);
  }

  assetUrl(key: string, variant: 'thumb' | 'full' = 'thumb'): string {
    return this.options.assetUrl(key, variant);
  }

  close(): void {
    this.closedByUser = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.socket?.close();
    this.failAll('connection_closed', 'The connection was closed');
  }

  private connect(): void {
    const socket = this.createSocket(this.options.url);
    this.socket = socket;
    socket.onopen = () => {
      const resumed = this.everOpened;
      this.everOpened = true;
      this.failedAttempts = 0;
      this.setStatus({ state: 'open', error: null, resumed });
      this.flush();
    };
    socket.onmessage = (ev) => this.receive(ev.data);
    // Browsers follow an error with a close event; Node's WebSocket may not (a refused upgrade
    // leaves it CONNECTING), so both lead to the same one-time handling.
    socket.onerror = () => this.socketDown(socket, 1006, '');
    socket.onclose = (ev) => this.socketDown(socket, ev.code, ev.reason);
  }

  private socketDown(socket: SocketLike, code: number, reason: string): void {
    if (this.socket !== socket) return;
    this.socket = null;
    try {
      socket.close();
    } catch {
      // Already closing.
    }
    // Sent but unanswered calls cannot be known to have run or not: fail them, keep the unsent.
    for (const [id, p] of this.pending) {
      if (p.sent) {
        this.pending.delete(id);
        p.reject(new ApiCallError({ code: 'connection_lost', message: 'The connection to DreamFrame Studio dropped before the answer came' }));
      }
    }
    if (this.closedByUser) return;
    this.afterClose(code, reason);
  }

  private afterClose(code: number, reason: string): void {
    this.failedAttempts++;
    if (AUTH_CLOSE_CODES.has(code)) {
      this.fail(`The server refused the access token${reason ? ` (${reason})` : ''}. Open the link printed by "dreamframe serve" again.`);
      return;
    }
    if (!this.everOpened && this.failedAttempts >= this.initialAttempts) {
      this.fail('Could not connect to DreamFrame Studio: the access token was refused or the server is not running. Open the link printed by "dreamframe serve" again.');
      return;
    }
    const delay = this.delays[Math.min(this.failedAttempts - 1, this.delays.length - 1)];
    this.setStatus({
      state: this.everOpened ? 'reconnecting' : 'connecting',
      error: this.everOpened ? `Connection lost (code ${code}); retrying` : null,
      resumed: false,
    });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private fail(message: string): void {
    this.setStatus({ state: 'failed', error: message, resumed: false });
    this.failAll('connection_failed', message);
  }

  private failAll(code: string, message: string): void {
    for (const p of this.pending.values()) p.reject(new ApiCallError({ code, message }));
    this.pending.clear();
  }

  private flush(): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return;
    for (const p of this.pending.values()) {
      if (!p.sent) {
        socket.send(p.message);
        p.sent = true;
      }
    }
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let message: Partial<WireResponse & WireEvent>;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof message.id === 'number') {
      const p = this.pending.get(message.id);
      if (!p) return;
      this.pending.delete(message.id);
      const response = message as WireResponse;
      if (response.ok) p.resolve(response.result);
      else p.reject(new ApiCallError(response.error ?? { code: 'internal', message: 'Malformed error response' }));
    } else if (typeof message.event === 'string') {
      for (const listener of [...(this.listeners.get(message.event) ?? [])]) {
        try {
          listener(message.payload);
        } catch (err) {
          console.error(`Listener for ${message.event} failed`, err);
        }
      }
    }
  }

  private setStatus(status: ConnectionStatus): void {
    this.status = status;
    for (const listener of [...this.statusListeners]) listener(status);
  }
}
