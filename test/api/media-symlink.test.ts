import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { storeImage } from '../../src/main/media/image-store';
import { startServer, type RunningServer } from '../../src/main/transports/server';
import { openProject, type Project } from '../../src/main/project/project';

/**
 * Media is served only from regular files that resolve inside the project's assets folder: an asset replaced by a
 * symlink to a file elsewhere (issue #19 item 8: /etc/passwd served as image/png) is refused, thumbnails included.
 */

function httpGet(port: number, path: string): Promise<{ status: number; type: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function png(seed: number): Promise<Buffer> {
  return sharp({ create: { width: 16, height: 16, channels: 3, background: { r: seed, g: 40, b: 90 } } }).png().toBuffer();
}

describe('media behind symlinks', () => {
  let dir: string;
  let project: Project;
  let server: RunningServer;
  let secret: string;
  const SECRET_TEXT = 'root:x:0:0:root:/root:/bin/bash\n';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dreamframe-media-link-'));
    createProjectWithSample(join(dir, 'project'), true).close();
    project = openProject(join(dir, 'project'));
    secret = join(dir, 'outside-secret.txt');
    writeFileSync(secret, SECRET_TEXT);
    const rendererDir = join(dir, 'renderer');
    mkdirSync(rendererDir);
    writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>test</title>');
    server = await startServer({ projectDir: join(dir, 'project'), port: 0, rendererDir });
  });

  afterAll(async () => {
    await server?.close();
    project?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const url = (variant: string, sha: string) => `/media/${variant}/asset/${sha}?token=${server.token}`;

  it('serves a regular asset file', async () => {
    const stored = await storeImage(project, await png(10));
    const full = await httpGet(server.port, url('full', stored.sha256));
    expect(full.status).toBe(200);
    expect(full.type).toBe('image/png');
    expect(full.body.equals(await png(10))).toBe(true);
    expect((await httpGet(server.port, url('thumb', stored.sha256))).status).toBe(200);
  });

  it('refuses an asset replaced by a symlink to a file outside assets/', async () => {
    const stored = await storeImage(project, await png(20));
    const file = join(project.assetsDir, stored.relPath);
    unlinkSync(file);
    symlinkSync(secret, file);
    for (const variant of ['full', 'thumb']) {
      const res = await httpGet(server.port, url(variant, stored.sha256));
      expect(res.status).toBe(404);
      expect(res.body.toString()).not.toContain('root:x:0:0');
    }
  });

  it('never serves a cached thumbnail replaced by a symlink: it is made again from the asset', async () => {
    const stored = await storeImage(project, await png(30));
    const cached = join(project.assetsDir, 'cache', `${stored.sha256}-384.webp`);
    mkdirSync(join(project.assetsDir, 'cache'), { recursive: true });
    symlinkSync(secret, cached);
    const res = await httpGet(server.port, url('thumb', stored.sha256));
    expect(res.body.toString()).not.toContain('root:x:0:0');
    expect(res.status).toBe(200);
    expect(res.type).toBe('image/webp');
    expect(res.body.subarray(8, 12).toString()).toBe('WEBP');
  });

  it('refuses an asset that is a folder or a FIFO-like non-regular file', async () => {
    const stored = await storeImage(project, await png(40));
    const file = join(project.assetsDir, stored.relPath);
    unlinkSync(file);
    mkdirSync(file);
    expect((await httpGet(server.port, url('full', stored.sha256))).status).toBe(404);
    rmSync(file, { recursive: true });
    symlinkSync('/dev/zero', file);
    expect((await httpGet(server.port, url('full', stored.sha256))).status).toBe(404);
  });
});
