import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { repoRoot } from '../support/paths';

/**
 * `dreamframe serve` as a user runs it: a separate process, started from a folder that is not the app's. A bad
 * WebSocket frame, an oversized message or a malformed URL must not end it, and the UI it serves must be the app's
 * own even when the current folder holds an out/renderer/ of its own (issue #19 items 1, 2 and 10).
 */

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

function open(port: number, token: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api?token=${token}`, { maxPayload: 64 * 1024 * 1024 });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Resolves with the close code the server sent. */
function closeCode(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

function requestOnce(ws: WebSocket, id: number, method: string, input: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: WebSocket.RawData) => {
      const msg = JSON.parse(data.toString());
      if (msg.id === id) {
        ws.off('message', onMessage);
        resolve(msg);
      }
    };
    ws.on('message', onMessage);
    ws.once('close', (code) => reject(new Error(`closed with ${code} before answering ${method}`)));
    ws.send(JSON.stringify({ id, method, input }));
  });
}

describe('dreamframe serve as a process', () => {
  let dir: string;
  let child: ChildProcess;
  let port: number;
  let token: string;
  let stderr = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dreamframe-serve-'));
    createProjectWithSample(join(dir, 'project'), true).close();
    // A folder that looks like a checkout with its own built UI: serving it would hand it the token.
    const hostileCwd = join(dir, 'elsewhere');
    mkdirSync(join(hostileCwd, 'out', 'renderer'), { recursive: true });
    writeFileSync(join(hostileCwd, 'out', 'renderer', 'index.html'), '<!doctype html><title>HOSTILE PAGE</title>');
    child = spawn(process.execPath, [join(repoRoot, 'bin', 'dreamframe.js'), 'serve', '--project', join(dir, 'project'), '--json'], {
      cwd: hostileCwd, stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
    const started = await new Promise<{ port: number; url: string }>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        // --json prints one (pretty-printed) object; wait until it is whole.
        try {
          resolve(JSON.parse(out));
        } catch { /* not complete yet */ }
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    port = started.port;
    token = new URL(started.url).searchParams.get('token')!;
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the installed app\'s UI, never the current folder\'s out/renderer', async () => {
    const index = await httpGet(port, '/');
    expect(index.body).not.toMatch(/HOSTILE/);
    const built = join(repoRoot, 'out', 'renderer', 'index.html');
    if (existsSync(built)) {
      expect(index.status).toBe(200);
      expect(index.body).toBe(readFileSync(built, 'utf8'));
    } else {
      // Not built in this checkout: the message names the app's folder, not the cwd.
      expect(index.status).toBe(500);
      expect(index.body).toContain(join(repoRoot, 'out', 'renderer'));
    }
  });

  it('answers a malformed %-escape with 400 and keeps serving', async () => {
    expect((await httpGet(port, '/%E0%A4%A')).status).toBe(400);
    expect((await httpGet(port, '/assets/%zz.js')).status).toBe(400);
    expect((await httpGet(port, `/media/thumb/frame%2F%E0?token=${token}`)).status).toBe(400);
    expect((await httpGet(port, '/nothing-here.js')).status).toBe(404);
  });

  it('closes only the connection that sent invalid UTF-8 (1007) or an oversized message (1009)', async () => {
    const bad = await open(port, token);
    const badClosed = closeCode(bad);
    bad.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect(await badClosed).toBe(1007);

    const huge = await open(port, token);
    const hugeClosed = closeCode(huge);
    huge.send(Buffer.alloc(17 * 1024 * 1024, 0x20), { binary: false });
    expect(await hugeClosed).toBe(1009);

    const good = await open(port, token);
    const info = await requestOnce(good, 1, 'app.info', {});
    expect(info.ok).toBe(true);
    expect(info.result.mode).toBe('serve');
    good.close();
    expect(child.exitCode).toBeNull();
  });

  it('accepts a bulk review.set over the old 1 MiB limit (50,000 items, as a bulk approve of a big film sends)', async () => {
    const ws = await open(port, token);
    const films = await requestOnce(ws, 1, 'films.list', {});
    const board = await requestOnce(ws, 2, 'films.storyboard', { filmId: films.result[0].id });
    const ids: number[] = board.result.frames.map((f: { id: number }) => f.id);
    const items = Array.from({ length: 50_000 }, (_, i) => ({ type: 'frame', id: ids[i % ids.length] }));
    const message = JSON.stringify({ id: 3, method: 'review.set', input: { items, state: 'approved', note: null } });
    expect(Buffer.byteLength(message)).toBeGreaterThan(1024 * 1024);
    const res = await requestOnce(ws, 3, 'review.set', { items, state: 'approved', note: null });
    expect(res.ok).toBe(true);
    expect(res.result.updated).toBe(50_000);
    ws.close();
  });

  it('refuses to import /dev/zero through the API and goes on serving', async () => {
    const ws = await open(port, token);
    const res = await requestOnce(ws, 1, 'films.importStoryJs', { path: '/dev/zero' });
    expect(res.ok).toBe(false);
    expect(res.error.code).toBe('import_not_a_file');
    expect((await requestOnce(ws, 2, 'app.info', {})).ok).toBe(true);
    ws.close();
    expect(child.exitCode).toBeNull();
  });
});
