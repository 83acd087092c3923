import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/main/cli/main';
import { tinySd15Dir, tinySdxlDir } from '../support/paths';
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

  it('SDXL base + --refiner hand-off at --refiner-start 0.75 reproduces the reference', async () => {
    const cases = join(tinySdxlDir, 'cases');
    const run = readCase(cases, 'base_refiner.json');
    const dir = tempDir();
    const saved = join(dir, 'final.bin');
    const model = join(tinySdxlDir, 'pipeline');
    const code = await main([
      'render', '--model', model, '--refiner', model, '--refiner-start', '0.75', '--prompt', run.prompt,
      '--steps', '10', '--scheduler', 'euler', '--guidance', String(run.guidance_scale),
      '--init-latents', join(cases, run.initial_latents.file), '--save-latents', saved, '--out', join(dir, 'x.png'), '--json',
    ]);
    expect(code).toBe(0);
    const buf = readFileSync(saved);
    const latents = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const expected = item(f32(cases, run.refiner.latents_after_step), 2, 4096);
    expect(maxAbsDiff(latents, expected)).toBeLessThan(1e-4 + 2e-5 * absMax(expected));
  });

  it('rejects an unknown scheduler and a wrong-sized --init-latents with their error codes', async () => {
    const dir = tempDir();
    const base = ['render', '--model', join(tinySd15Dir, 'pipeline'), '--prompt', 'x', '--out', join(dir, 'y.png'), '--json'];
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      printed.push(String(chunk));
      return true;
    });
    try {
      expect(await main([...base, '--scheduler', 'heun'])).toBe(1);
      const bad = join(dir, 'bad.bin');
      writeFileSync(bad, Buffer.alloc(40));
      expect(await main([...base, '--steps', '1', '--init-latents', bad])).toBe(1);
    } finally {
      spy.mockRestore();
    }
    const codes = printed.map((p) => JSON.parse(p).error.code);
    expect(codes).toEqual(['cli.bad_option', 'diffusion.bad_request']);
  });
});
