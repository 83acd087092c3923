import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/main/cli/main';
import { tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';
import { absMax, f32, item, maxAbsDiff, readCase } from './fixture-io';

const tempDir = useTempDir('dreamframe-render-');

describe('dreamframe render', () => {
  it('reproduces the reference Euler run from --init-latents and writes PNG + --save-latents', async () => {
    const cases = join(tinySd15Dir, 'cases');
    const run = readCase(cases, 'txt2img_euler.json');
    const dir = tempDir();
    const out = join(dir, 'x.png');
    const saved = join(dir, 'final.bin');
    const code = await main([
      'render', '--model', join(tinySd15Dir, 'pipeline'), '--prompt', run.prompt, '--negative', '',
      '--steps', '10', '--scheduler', 'euler', '--guidance', '7.5', '--width', '64', '--height', '64', '--seed', '5',
      '--init-latents', join(cases, run.initial_latents.file), '--save-latents', saved, '--out', out, '--json',
    ]);
    expect(code).toBe(0);
    const buf = readFileSync(saved);
    const latents = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const expected = item(f32(cases, run.latents_after_step), 9, 4096);
    expect(maxAbsDiff(latents, expected)).toBeLessThan(1e-4 + 2e-5 * absMax(expected));
    const ours = await sharp(out).removeAlpha().raw().toBuffer();
    const ref = await sharp(join(cases, run.image_png)).removeAlpha().raw().toBuffer();
    expect(maxAbsDiff(ours, ref)).toBeLessThanOrEqual(1);
  });

  it('rejects an unknown scheduler and a wrong-sized --init-latents with exit code 1', async () => {
    const dir = tempDir();
    const base = ['render', '--model', join(tinySd15Dir, 'pipeline'), '--prompt', 'x', '--out', join(dir, 'y.png'), '--json'];
    expect(await main([...base, '--scheduler', 'heun'])).toBe(1);
    const bad = join(dir, 'bad.bin');
    writeFileSync(bad, Buffer.alloc(40));
    expect(await main([...base, '--steps', '1', '--init-latents', bad])).toBe(1);
  });
});
