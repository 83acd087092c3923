import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/main/cli/main';
import { captureStdout } from '../support/capture-stdout';
import { cases, f32, QUALITY, STYLE_IMAGES } from './fixture';

const cache = mkdtempSync(join(tmpdir(), 'df-quality-cli-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

describe('dreamframe quality images --json', () => {
  const stdout = captureStdout();

  it('prints {adjacent: [{clip, lpips}], text: [[…]]} equal to the recorded cosines and distances', async () => {
    const images = cases.images.map((n) => join(STYLE_IMAGES, n));
    const texts = cases.texts.flatMap((t) => ['--text', t]);
    const code = await main(['quality', 'images', ...images, '--clip', join(QUALITY, 'clip', 'hf'), '--lpips', join(QUALITY, 'lpips', 'lpips.onnx'),
      ...texts, '--lpips-size', '64', '--cache', cache, '--json']);
    expect(code).toBe(0);
    const out = JSON.parse(stdout.text());
    expect(Object.keys(out).sort()).toEqual(['adjacent', 'text']);
    expect(out.adjacent).toHaveLength(cases.images.length - 1);
    const distances = f32(cases.lpips.distance);
    out.adjacent.forEach((a: { clip: number; lpips: number }, i: number) => {
      expect(Object.keys(a).sort()).toEqual(['clip', 'lpips']);
      expect(Math.abs(a.clip - cases.clip.adjacent_image_cosine[i])).toBeLessThanOrEqual(1e-5);
      expect(Math.abs(a.lpips - distances[i])).toBeLessThanOrEqual(1e-5);
    });
    const cos = f32(cases.clip.image_text_cosine);
    expect(out.text).toHaveLength(cases.images.length);
    out.text.forEach((row: number[], i: number) => row.forEach((c, j) => expect(Math.abs(c - cos[i * cases.texts.length + j])).toBeLessThanOrEqual(1e-5)));
  });

  it('fails with a clear error for a CLIP folder that is neither form', async () => {
    stdout.clear();
    const code = await main(['quality', 'images', join(STYLE_IMAGES, cases.images[0]), '--clip', QUALITY, '--cache', cache, '--json']);
    expect(code).toBe(1);
    const { error } = JSON.parse(stdout.text());
    expect(error.code).toBe('quality.model_missing');
    expect(error.message).toContain(QUALITY);
  });
});
