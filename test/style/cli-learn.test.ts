import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/main/cli/main';
import { readEmbeddingFile } from '../../src/main/style/formats/index';
import { dreamframeFixtureDir, tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';

describe('dreamframe style learn', () => {
  const tmp = useTempDir();
  let out: string[];
  beforeEach(() => {
    out = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => vi.restoreAllMocks());

  it('learns an embedding on tiny-sd15, writes our format, and a second run continues from the checkpoint', async () => {
    const dir = tmp();
    const images = join(dir, 'images', 'nested');
    mkdirSync(images, { recursive: true });
    for (const f of ['Cathedral0.jpg', 'TownSquare3.jpg']) copyFileSync(join(dreamframeFixtureDir, 'style', f), join(images, f));
    const file = join(dir, 'noir.safetensors');
    const args = (steps: string, seed = '3') => [
      'style', 'learn',
      '--model', join(tinySd15Dir, 'pipeline'),
      '--keyword', 'noir',
      '--images', join(dir, 'images'),
      '--lr-schedule', '1e-2:1, 5e-3',
      '--accumulation', '1',
      '--seed', seed,
      '--steps', steps,
      '--threads', '1',
      '--cache-dir', join(dir, 'cache'),
      '--out', file,
      '--json',
    ];
    expect(await main([...args('2'), '--preview-every', '2', '--preview-steps', '2'])).toBe(0);
    const first = JSON.parse(out.join(''));
    expect(first.previews).toEqual([join(`${file}.checkpoints`, 'preview-000002.png')]);
    expect(first).toMatchObject({ keyword: 'noir', family: 'sd1', widths: [32], steps: 2, resumedFrom: 0, images: 2, latents: 4 });
    const saved = readEmbeddingFile(file).embedding;
    expect(saved).toMatchObject({ keyword: 'noir', family: 'sd1', steps: 2 });
    expect(saved.loss).toBeCloseTo(first.loss, 10);

    out.length = 0;
    expect(await main(args('3'))).toBe(0);
    expect(JSON.parse(out.join(''))).toMatchObject({ steps: 3, resumedFrom: 2 });
    expect(readEmbeddingFile(file).embedding.vectors[0].data).not.toEqual(saved.vectors[0].data);

    out.length = 0;
    expect(await main(args('3', '4'))).toBe(1);
    expect(JSON.parse(out.join('')).error.code).toBe('style.checkpoint_mismatch');
  });
});
