import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { methods } from '../../src/shared/api/contract';
import { createProjectWithSample } from '../../src/main/app/context';
import { MAX_MESSAGE_BYTES, startServer, type RunningServer } from '../../src/main/transports/server';
import { TestWsClient } from '../support/ws-client';

/**
 * Fuzzes the serve-mode surface (issue #19): random WebSocket frames (binary, invalid UTF-8, oversized, fragmented,
 * malformed at the frame level, random JSON, real method names with random parameters) and random HTTP requests
 * (methods, bad %-escapes, huge heads, bodies, wrong tokens and hosts), all to 127.0.0.1. The seed is fixed so a
 * failure reproduces; each phase stops at its count or its time budget, whichever comes first (15 s in all).
 * Afterwards the server must still answer and the database must pass integrity_check. The server runs in this
 * process, so anything that would have ended `dreamframe serve` fails the run as an uncaught error.
 */

const SEED = 0x19_19_19;

/** mulberry32: a small seeded generator, so every run sends the same inputs. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = rng(SEED);
const int = (max: number) => Math.floor(random() * max);
const pick = <T,>(items: readonly T[]): T => items[int(items.length)];
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

const CHARS = ['a', 'Z', '0', ' ', '"', '\\', '\u0000', '\u001b', '\u007f', '\u202e', 'é', '\u{1f3ac}', '\ud800', '%', '\n', '}'];
function randomString(): string {
  const length = pick([0, 1, 5, 40, 300, 5000]);
  return Array.from({ length }, () => pick(CHARS)).join('');
}

function randomValue(depth = 0): unknown {
  const kinds = depth > 3 ? 6 : 9;
  switch (int(kinds)) {
    case 0: return null;
    case 1: return random() < 0.5;
    case 2: return pick([0, 1, -1, 7, 2 ** 31, 2 ** 53 + 2, -(2 ** 60), 1e308, 0.5]);
    case 3: return int(60) + 1;
    case 4: return randomString();
    case 5: return pick(['frame', 'dialogue', 'qa', 'approved', 'rejected', 'draft', 'hierarchical']);
    case 6: return Array.from({ length: pick([0, 1, 3, 50]) }, () => randomValue(depth + 1));
    case 7: return { type: pick(['frame', 'dialogue', 'qa', 'x']), id: int(60) + 1 };
    default: {
      const obj: Record<string, unknown> = {};
      for (let i = int(5); i > 0; i--) {
        obj[pick(['filmId', 'frameId', 'id', 'items', 'state', 'note', 'text', 'description', 'scene', 'speaker', 'answer',
          'question', 'kind', 'frames', 'dialogue', 'qa', '__proto__', 'constructor', randomString().slice(0, 20)])] = randomValue(depth + 1);
      }
      return obj;
    }
  }
}

/**
 * Methods whose valid calls only read or edit story rows of the test project: these get random objects that may
 * pass validation. Every other method (paths, network, jobs) gets a non-object input, which no schema accepts,
 * so the fuzzer never writes outside its temp folder or starts real work.
 */
const OPEN_METHODS = new Set(['app.info', 'films.list', 'films.get', 'films.storyboard', 'films.storyboardItems', 'characters.list',
  'frames.update', 'dialogue.update', 'qa.update', 'review.set', 'edits.undo', 'edits.redo', 'jobs.list', 'jobs.cancel']);

const NOT_AN_OBJECT = [7, 'x', [1, 2], true, -1];
/** The other methods, limited to those whose schema refuses every non-object input (checked, not assumed). */
const CLOSED_METHODS = Object.keys(methods).filter((m) => !OPEN_METHODS.has(m)
  && NOT_AN_OBJECT.every((input) => !methods[m as keyof typeof methods].input.safeParse(input).success));

function randomRequest(): unknown {
  if (random() < 0.1) return { method: pick([randomString(), 42, null, 'fs.readFile', '__proto__']), input: randomValue() };
  if (random() < 0.5) return { method: pick([...OPEN_METHODS]), input: randomValue() };
  return { method: pick(CLOSED_METHODS), input: pick(NOT_AN_OBJECT) };
}

function openWs(port: number, token: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api?token=${token}`);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Waits for the socket to close, or gives up after `ms` and destroys it. */
function settle(sock: Socket | WebSocket, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      if (sock instanceof WebSocket) sock.terminate();
      else sock.destroy();
      resolve();
    }, ms);
    sock.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** One raw WebSocket frame; the fields are whatever the fuzzer chose, valid or not. */
function frame(opts: { fin: boolean; rsv: number; opcode: number; mask: boolean; payload: Buffer; declaredLength?: number }): Buffer {
  const { payload } = opts;
  const length = opts.declaredLength ?? payload.length;
  const head: number[] = [(opts.fin ? 0x80 : 0) | (opts.rsv << 4) | opts.opcode];
  const maskBit = opts.mask ? 0x80 : 0;
  if (length < 126) head.push(maskBit | length);
  else if (length < 65536) head.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    head.push(maskBit | 127);
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(length));
    head.push(...big);
  }
  const key = opts.mask ? bytes(4) : Buffer.alloc(0);
  const body = Buffer.from(payload.map((b, i) => (opts.mask ? b ^ key[i % 4] : b)));
  return Buffer.concat([Buffer.from(head), key, body]);
}

/** Opens /api with a hand-written handshake and resolves once the server has switched protocols. */
function rawUpgrade(port: number, token: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let head = '';
    sock.on('error', () => undefined);
    sock.once('connect', () => sock.write(`GET /api?token=${token} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n`
      + `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
    const onData = (c: Buffer) => {
      head += c.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        sock.off('data', onData);
        if (head.startsWith('HTTP/1.1 101')) resolve(sock);
        else reject(new Error(head.split('\r\n')[0]));
      }
    };
    sock.on('data', onData);
  });
}

/** Sends raw bytes as an HTTP request and resolves with the status code (0: closed without a status line). */
function rawHttp(port: number, request: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let response = '';
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0));
    };
    const timer = setTimeout(done, 1500);
    sock.on('error', () => undefined);
    sock.on('data', (c: Buffer) => {
      response += c.toString('latin1');
      if (/^HTTP\/1\.1 \d{3}/.test(response)) done();
    });
    sock.on('close', done);
    sock.once('connect', () => sock.write(request));
  });
}

describe('fuzzing the serve surface', () => {
  let dir: string;
  let server: RunningServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dreamframe-fuzz-'));
    createProjectWithSample(join(dir, 'project'), true).close();
    const rendererDir = join(dir, 'renderer');
    mkdirSync(rendererDir);
    writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>test</title>');
    server = await startServer({ projectDir: join(dir, 'project'), port: 0, rendererDir });
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('survives random WebSocket messages, each answered or closed with a WebSocket error code', async () => {
    const deadline = Date.now() + 6000;
    const closeCodes = new Set<number>();
    let answered = 0;
    for (let round = 0; round < 60 && Date.now() < deadline; round++) {
      const ws = await openWs(server.port, server.token);
      const replies: any[] = [];
      ws.on('message', (data) => replies.push(JSON.parse(data.toString())));
      ws.on('error', () => undefined);
      let closedWith: number | null = null;
      ws.on('close', (code) => { closedWith = code; });
      let expected = 0;
      for (let i = 0; i < 8 && ws.readyState === WebSocket.OPEN; i++) {
        switch (int(8)) {
          case 0: ws.send(bytes(pick([0, 1, 100, 5000])), { binary: true }); expected++; break;
          case 1: ws.send(Buffer.concat([Buffer.from('{"id":1,'), bytes(20), Buffer.from([0xc3, 0x28, 0xff])]), { binary: false }); break;
          case 2:
            if (round % 20 === 0) ws.send(Buffer.alloc(MAX_MESSAGE_BYTES + 1 + int(1000), 0x20), { binary: false });
            break;
          case 3: {
            // A valid request split over fragments: answered like an unfragmented one.
            const text = Buffer.from(JSON.stringify({ id: 10_000 + i, method: 'films.list', input: {} }));
            const cut = 1 + int(text.length - 2);
            ws.send(text.subarray(0, cut), { fin: false });
            ws.send(text.subarray(cut), { fin: true });
            expected++;
            break;
          }
          case 4: ws.send(JSON.stringify(randomValue())); expected++; break;
          default: ws.send(JSON.stringify({ id: 1 + int(1e6), ...(randomRequest() as object) })); expected++;
        }
      }
      const waitUntil = Date.now() + 3000;
      while (closedWith === null && replies.filter((r) => 'id' in r).length < expected && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 5));
      if (closedWith === null) {
        // Open, so every message was read: each got exactly one answer, with ok true or an error code.
        expect(replies.filter((r) => 'id' in r)).toHaveLength(expected);
        for (const r of replies.filter((m) => 'id' in m)) {
          expect(typeof r.ok).toBe('boolean');
          if (!r.ok) expect(typeof r.error.code).toBe('string');
        }
        answered += expected;
        ws.close();
        await settle(ws, 1000);
      } else {
        closeCodes.add(closedWith);
      }
    }
    expect(answered).toBeGreaterThan(0);
    expect(CLOSED_METHODS.length).toBeGreaterThan(20);
    // The server closes a bad connection with a WebSocket status, never by dropping the TCP connection (1006).
    expect([...closeCodes].every((c) => [1002, 1007, 1009].includes(c))).toBe(true);
    expect(closeCodes.has(1007)).toBe(true);
    expect(closeCodes.has(1009)).toBe(true);
  });

  it('survives malformed frames written straight to the socket', async () => {
    const deadline = Date.now() + 3000;
    let rounds = 0;
    for (let round = 0; round < 40 && Date.now() < deadline; round++, rounds++) {
      const sock = await rawUpgrade(server.port, server.token);
      const frames: Buffer[] = [];
      for (let i = 1 + int(3); i > 0; i--) {
        frames.push(random() < 0.2 ? bytes(1 + int(64)) : frame({
          fin: random() < 0.8, rsv: random() < 0.8 ? 0 : int(8), opcode: pick([0, 1, 2, 3, 7, 8, 9, 10, 11, 15]),
          mask: random() < 0.85, payload: bytes(pick([0, 2, 10, 126, 200])),
          declaredLength: random() < 0.15 ? pick([2 ** 53 + 10, MAX_MESSAGE_BYTES * 4, 70_000]) : undefined,
        }));
      }
      sock.write(Buffer.concat(frames));
      await settle(sock, 300);
    }
    expect(rounds).toBeGreaterThanOrEqual(10);
  });

  it('survives random HTTP requests without an internal error', async () => {
    const deadline = Date.now() + 4000;
    const statuses = new Map<number, number>();
    let rounds = 0;
    for (let round = 0; round < 120 && Date.now() < deadline; round++, rounds++) {
      const method = pick(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH', 'G\u0000T', 'get', randomString().slice(0, 12)]);
      const token = pick([server.token, '', 'wrong', `${server.token}%zz`, randomString().slice(0, 30)]);
      const path = pick(['/', '/index.html', '/%', '/%zz', '/%E0%A4%A', '/%00', '/../../etc/passwd', '/..%2f..%2fetc%2fpasswd', '//[',
        `/media/thumb/frame/1?token=${token}`, `/media/full/frame%2F%E0?token=${token}`, `/media/full/asset/${'a'.repeat(64)}?token=${token}`,
        `/media/thumb/%?token=${token}`, `/api?token=${token}`, `/${'x'.repeat(pick([10, 9000, 40_000]))}`, `/${[...Buffer.from(randomString())].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`]);
      const host = pick([`127.0.0.1:${server.port}`, `localhost:${server.port}`, 'evil.example', '']);
      const upgrade = random() < 0.25;
      const headers = upgrade
        ? [`Host: ${host}`, 'Connection: Upgrade', 'Upgrade: websocket', `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13']
        : [`Host: ${host}`, 'Connection: close'];
      if (random() < 0.15) headers.push(`X-Fill: ${'y'.repeat(20_000)}`);
      if (random() < 0.15) headers.push('Content-Length: 5');
      if (random() < 0.1) headers.push('Transfer-Encoding: chunked');
      if (random() < 0.1) headers.push(`Cookie: ${randomString().slice(0, 200).replace(/[\r\n]/g, '')}`);
      const body = headers.some((h) => h.startsWith('Content-Length')) ? 'hello' : headers.some((h) => h.startsWith('Transfer')) ? 'zz\r\n' : '';
      const request = random() < 0.1 ? bytes(1 + int(200))
        : Buffer.from(`${method} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n${body}`, 'latin1');
      const status = await rawHttp(server.port, request);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    // Every answer is a deliberate one; nothing reaches the 500 of an unexpected throw.
    expect([...statuses.keys()].filter((s) => s >= 500)).toEqual([]);
    expect(statuses.has(400)).toBe(true);
    expect(statuses.has(431)).toBe(true);
    expect(rounds).toBeGreaterThanOrEqual(30);
    // A WebSocket upgrade to a URL that does not parse is refused like any other bad upgrade.
    const badUpgrade = `GET //[ HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n`
      + `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    expect(await rawHttp(server.port, Buffer.from(badUpgrade))).toBe(401);
  });

  it('still answers a valid call afterwards, and the database passes integrity_check', async () => {
    const client = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
    try {
      expect((await client.call('app.info')).mode).toBe('serve');
      const films = await client.call('films.list');
      expect(films.length).toBeGreaterThanOrEqual(1);
    } finally {
      client.close();
    }
    const db = server.context.requireProject().db;
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
  });
});
