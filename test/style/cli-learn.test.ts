import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/main/cli/main';
import { readEmbeddingFile } from '../../src/main/style/formats/index';
import { dreamframeFixtureDir, tinySd15Dir } from '../support/paths';
import { captureStdout } from '../support/capture-stdout';
import { useTempDir } from '../support/tmp';

describe('dreamframe style learn', () => {
  const tmp = useTempDir();
  const stdout = captureStdout();

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
    const first = JSON.parse(stdout.text());
    expect(first.previews).toEqual([join(`${file}.checkpoints`, 'preview-000002.png')]);
    expect(first).toMatchObject({ keyword: 'noir', family: 'sd1', widths: [32], steps: 2, resumedFrom: 0, images: 2, latents: 4 });
    const saved = readEmbeddingFile(file).embedding;
    expect(saved).toMatchObject({ keyword: 'noir', family: 'sd1', steps: 2 });
    expect(saved.loss).toBeCloseTo(first.loss, 10);

    stdout.clear();
    expect(await main(args('3'))).toBe(0);
    expect(JSON.parse(stdout.text())).toMatchObject({ steps: 3, resumedFrom: 2 });
    expect(readEmbeddingFile(file).embedding.vectors[0].data).not.toEqual(saved.vectors[0].data);

    stdout.clear();
    expect(await main(args('3', '4'))).toBe(1);
    expect(JSON.parse(stdout.text()).error.code).toBe('style.checkpoint_mismatch');
  });
});
