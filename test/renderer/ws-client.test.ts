import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiCallError } from '../../src/shared/api/client';
import { WebSocketApiClient, type ConnectionStatus } from '../../src/renderer/src/api/ws-client';
import { serveMediaUrl, takeServeToken, TOKEN_STORAGE_KEY } from '../../src/renderer/src/api/token';

/** A tiny server speaking the wire protocol, with hooks to misbehave. */
async function fakeServer(opts: { refuse?: boolean } = {}) {
  const http: Server = createServer();
  const wss = new WebSocketServer({ noServer: true });
  const sockets: ServerSocket[] = [];
  let connections = 0;
  http.on('upgrade', (req, socket, head) => {
    if (opts.refuse) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      connections++;
      sockets.push(ws);
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as { id: number; method: string; input: Record<string, unknown> };
        if (msg.method === 'films.list') ws.send(JSON.stringify({ id: msg.id, ok: true, result: [] }));
        else if (msg.method === 'hang') { /* never answers */ }
        else ws.send(JSON.stringify({ id: msg.id, ok: false, error: { code: 'not_found', message: `No ${msg.method}`, details: { input: msg.input } } }));
      });
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/api?token=t`,
    sockets,
    connections: () => connections,
    broadcast: (event: string, payload: unknown) => sockets.forEach((s) => s.send(JSON.stringify({ event, payload }))),
    close: async () => {
      for (const s of wss.clients) s.terminate();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function client(url: string, initialAttempts = 3): WebSocketApiClient {
  const c = new WebSocketApiClient({ url, assetUrl: (k, v) => `${v}:${k}`, reconnectDelaysMs: [20, 40], initialAttempts });
  cleanups.push(() => c.close());
  return c;
}

function waitForState(c: WebSocketApiClient, state: ConnectionStatus['state']): Promise<ConnectionStatus> {
  if (c.connection.state === state) return Promise.resolve(c.connection);
  return new Promise((resolve) => {
    const off = c.onConnectionChange((s) => {
      if (s.state === state) {
        off();
        resolve(s);
      }
    });
  });
}

describe('WebSocketApiClient', () => {
  it('sends calls made before the socket opens, resolves results and rejects errors as ApiCallError', async () => {
    const server = await fakeServer();
    cleanups.push(server.close);
    const c = client(server.url);
    const listed = c.call('films.list', {});
    const missing = c.call('films.get', { filmId: 7 });
    await expect(listed).resolves.toEqual([]);
    const err = await missing.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiCallError);
    expect((err as ApiCallError).code).toBe('not_found');
    expect((err as ApiCallError).message).toBe('No films.get');
    expect((err as ApiCallError).details).toEqual({ input: { filmId: 7 } });
    expect(c.assetUrl('frame/1?v=2', 'full')).toBe('full:frame/1?v=2');
  });

  it('delivers events to listeners until they unsubscribe', async () => {
    const server = await fakeServer();
    cleanups.push(server.close);
    const c = client(server.url);
    await waitForState(c, 'open');
    const got: unknown[] = [];
    const off = c.on('data.changed', (p) => got.push(p));
    const first = { filmId: 3, entities: [{ type: 'frame', ids: [1] }] };
    server.broadcast('data.changed', first);
    await expect.poll(() => got.length).toBe(1);
    expect(got[0]).toEqual(first);
    off();
    server.broadcast('data.changed', { filmId: 4, entities: [] });
    await c.call('films.list', {}); // a round trip: the event above has arrived by now
    expect(got).toHaveLength(1);
  });

  it('fails in-flight calls when the socket drops, reconnects, and reports the resumption', async () => {
    const server = await fakeServer();
    cleanups.push(server.close);
    const c = client(server.url);
    await waitForState(c, 'open');
    const hanging = (c.call as (m: string, i: unknown) => Promise<unknown>)('hang', {});
    await expect.poll(() => server.sockets.length).toBe(1);
    const resumed = new Promise<ConnectionStatus>((resolve) => {
      c.onConnectionChange((s) => { if (s.state === 'open') resolve(s); });
    });
    server.sockets[0].terminate();
    const err = await hanging.catch((e: unknown) => e);
    expect((err as ApiCallError).code).toBe('connection_lost');
    expect((await resumed).resumed).toBe(true);
    expect(server.connections()).toBe(2);
    await expect(c.call('films.list', {})).resolves.toEqual([]);
  });

  it('gives up on a server that never accepts the socket and fails waiting calls', async () => {
    const server = await fakeServer({ refuse: true });
    cleanups.push(server.close);
    const c = client(server.url, 2);
    const pending = c.call('films.list', {}).catch((e: unknown) => e);
    const failed = await waitForState(c, 'failed');
    expect(failed.error).toMatch(/token/);
    expect(((await pending) as ApiCallError).code).toBe('connection_failed');
    await expect(c.call('films.list', {})).rejects.toMatchObject({ code: 'connection_failed' });
  });
});

describe('serve-mode token and media URLs', () => {
  function env(href: string, stored: string | null = null) {
    const storage = new Map<string, string>(stored === null ? [] : [[TOKEN_STORAGE_KEY, stored]]);
    const replaced: string[] = [];
    return {
      replaced,
      storage,
      env: {
        location: { href },
        history: { state: null, replaceState: (_s: unknown, _t: string, url?: string | URL | null) => { replaced.push(String(url)); } },
        storage: { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => void storage.set(k, v) },
      },
    };
  }

  it('takes the token from the URL, keeps it for the tab and removes it from the address bar', () => {
    const e = env('http://127.0.0.1:5000/?token=abc-123&x=1#film=2');
    expect(takeServeToken(e.env)).toBe('abc-123');
    expect(e.storage.get(TOKEN_STORAGE_KEY)).toBe('abc-123');
    expect(e.replaced).toEqual(['/?x=1#film=2']);
  });

  it('falls back to the stored token, or null when there is none', () => {
    expect(takeServeToken(env('http://127.0.0.1:5000/', 'kept').env)).toBe('kept');
    const none = env('http://127.0.0.1:5000/');
    expect(takeServeToken(none.env)).toBeNull();
    expect(none.replaced).toEqual([]);
  });

  it('builds /media/<variant>/<key> URLs, passing the key through and appending the token', () => {
    expect(serveMediaUrl('frame/12?v=abc', 'thumb', 'tok')).toBe('/media/thumb/frame/12?v=abc&token=tok');
    expect(serveMediaUrl('frame/12', 'full', 'a+b/c')).toBe('/media/full/frame/12?token=a%2Bb%2Fc');
  });
});
