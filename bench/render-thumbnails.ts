/**
 * Thumbnails served per second over serve mode's HTTP (/media/thumb/frame/<id>?token=…), printed:
 * - cold: every request makes the 384-px webp from a 1024×1024 PNG keyframe with sharp (then caches it);
 * - warm: the same URLs again, answered from assets/cache;
 * - also the full-size PNGs, for comparison. Concurrency 8 (a browser's parallel image loads).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createProjectWithSample } from '../src/main/app/context';
import { storeImage } from '../src/main/media/image-store';
import { getStoryboard, listFilms } from '../src/main/story/film-reader';
import { startServer } from '../src/main/transports/server';

const SIZE = Number(process.env.BENCH_SIZE ?? 1024);
const CONCURRENCY = 8;

/** A deterministic noisy keyframe-sized PNG (noise defeats PNG compression like real renders do). */
async function keyframePng(seed: number): Promise<Buffer> {
  const raw = Buffer.alloc(SIZE * SIZE * 3);
  let s = seed * 2654435761 >>> 0;
  for (let i = 0; i < raw.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    raw[i] = (s >>> 24) ^ ((i / 3 / SIZE) & 0xff);
  }
  return sharp(raw, { raw: { width: SIZE, height: SIZE, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
}

async function fetchAll(urls: string[]): Promise<{ perSecond: number; bytes: number }> {
  let next = 0;
  let bytes = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < urls.length) {
      const url = urls[next++];
      const res = await fetch(url);
      if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
      bytes += (await res.arrayBuffer()).byteLength;
    }
  }));
  return { perSecond: urls.length / ((performance.now() - t) / 1000), bytes };
}

const dir = mkdtempSync(join(tmpdir(), 'dreamframe-bench-thumbs-'));
try {
  const project = createProjectWithSample(join(dir, 'p'), true);
  const filmId = listFilms(project.db)[0].id;
  const frames = getStoryboard(project.db, filmId).frames;
  for (const [i, f] of frames.entries()) {
    const stored = await storeImage(project, await keyframePng(i + 1));
    project.db.prepare(`INSERT INTO render (frame_id, status, asset_sha256, seed, model, is_keyframe) VALUES (?, 'done', ?, ?, 'bench', 1)`)
      .run(f.id, stored.sha256, 20 + i);
  }
  const keys = getStoryboard(project.db, filmId).frames.map((f) => f.thumbnail.key);
  project.close();

  const server = await startServer({ projectDir: join(dir, 'p'), port: 0 });
  const url = (variant: string, key: string) => {
    const [path, query] = key.split('?');
    return `http://127.0.0.1:${server.port}/media/${variant}/${path}?${query}&token=${server.token}`;
  };
  const thumbs = keys.map((k) => url('thumb', k));
  const cold = await fetchAll(thumbs);
  const warmRuns = [];
  for (let i = 0; i < 5; i++) warmRuns.push(await fetchAll(thumbs));
  const warm = warmRuns.map((r) => r.perSecond).sort((a, b) => a - b)[2];
  const full = await fetchAll(keys.map((k) => url('full', k)));
  console.log(`${keys.length} keyframes of ${SIZE}×${SIZE} PNG, concurrency ${CONCURRENCY}`);
  console.log(`thumbnails, cold (sharp → webp, then cached): ${cold.perSecond.toFixed(1)} /s, ${(cold.bytes / keys.length / 1024).toFixed(1)} KiB each`);
  console.log(`thumbnails, warm (from assets/cache):         ${warm.toFixed(1)} /s (median of 5 passes)`);
  console.log(`full-size PNGs:                               ${full.perSecond.toFixed(1)} /s, ${(full.bytes / keys.length / 1024).toFixed(1)} KiB each`);
  console.log(`warm / cold ratio: ${(warm / cold.perSecond).toFixed(1)}×`);
  await server.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
