import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { StyleEmbedding } from '../../src/main/style/embedding';
import { openPreviewRenderer } from '../../src/main/style/previews';
import { tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';

describe('training previews', () => {
  const tmp = useTempDir();

  it('render the fixed prompt and seed with the current embedding: same embedding, same image; another, another', async () => {
    const dir = tmp();
    const renderer = await openPreviewRenderer(join(tinySd15Dir, 'pipeline'), { outDir: dir, cacheDir: join(dir, 'cache'), steps: 3, threads: 1 });
    const emb = (fill: number): StyleEmbedding => ({
      vectors: [{ rows: 1, width: 32, data: Float32Array.from({ length: 32 }, (_, i) => fill * Math.cos(i)) }],
      family: 'sd1',
      keyword: 'noir',
    });
    try {
      const a = await renderer.render(1, emb(0.01));
      const b = await renderer.render(2, emb(0.01));
      const c = await renderer.render(3, emb(3));
      expect(a).toBe(join(dir, 'preview-000001.png'));
      expect(await sharp(a).metadata()).toMatchObject({ width: 64, height: 64, format: 'png' });
      expect(readFileSync(b).equals(readFileSync(a))).toBe(true);
      expect(readFileSync(c).equals(readFileSync(a))).toBe(false);
    } finally {
      await renderer.release();
    }
  });
});
