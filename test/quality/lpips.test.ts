import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LpipsModel } from '../../src/main/quality/lpips-model';
import { decodeRgb, lpipsInput } from '../../src/main/quality/preprocess';
import { readTorchStateDict } from '../../src/main/quality/torch-weights';
import { cases, f32, maxAbsDiff, QUALITY, STYLE_IMAGES } from './fixture';

const in0 = f32(cases.lpips.in0);
const in1 = f32(cases.lpips.in1);
const refDistance = f32(cases.lpips.distance);
const PAIRS = refDistance.length;
const SIZE = 64;

let cache: string;
const forms: Record<string, LpipsModel> = {};

beforeAll(async () => {
  cache = mkdtempSync(join(tmpdir(), 'df-lpips-'));
  // The .pth files under other names: the builder tells them apart by their keys.
  const folder = join(cache, 'weights');
  mkdirSync(folder);
  copyFileSync(join(QUALITY, 'lpips', 'alexnet.pth'), join(folder, 'alexnet-owt.pth'));
  copyFileSync(join(QUALITY, 'lpips', 'alex.pth'), join(folder, 'alex.pth'));
  forms.torch = await LpipsModel.open(folder, { cacheDir: cache, threads: 1 });
  forms.onnx = await LpipsModel.open(join(QUALITY, 'lpips', 'lpips.onnx'), { cacheDir: cache, threads: 1 });
});
afterAll(async () => {
  for (const m of Object.values(forms)) await m.close();
  rmSync(cache, { recursive: true, force: true });
});

it('reads the legacy-format alex.pth (Python 2 pickle, storages after the pickles) with the restricted reader', () => {
  const lins = readTorchStateDict(join(QUALITY, 'lpips', 'alex.pth'));
  expect([...lins.keys()]).toEqual([0, 1, 2, 3, 4].map((i) => `lin${i}.model.1.weight`));
  expect(lins.get('lin4.model.1.weight')!.shape).toEqual([1, 256, 1, 1]);
  // The calibrated weights are non-negative (lpips clamps them in training).
  for (const t of lins.values()) expect(Math.min(...t.data)).toBeGreaterThanOrEqual(0);
});

it('preprocesses the listed pairs to the recorded in0/in1 (PIL bicubic to 64×64, [-1, 1])', async () => {
  const imgs = await Promise.all(cases.images.map((n) => decodeRgb(join(STYLE_IMAGES, n))));
  const plane = 3 * SIZE * SIZE;
  for (let i = 0; i < PAIRS; i++) {
    expect(maxAbsDiff(lpipsInput(imgs[i], SIZE), in0.subarray(i * plane, (i + 1) * plane))).toBeLessThan(1e-6);
    expect(maxAbsDiff(lpipsInput(imgs[i + 1], SIZE), in1.subarray(i * plane, (i + 1) * plane))).toBeLessThan(1e-6);
  }
});

describe.each(['torch', 'onnx'])('LPIPS, %s form', (form) => {
  it('gives the recorded distances from the recorded inputs (≤ 1e-5)', async () => {
    const d = await forms[form].distances(in0, in1, PAIRS, SIZE);
    expect(maxAbsDiff(d, refDistance)).toBeLessThanOrEqual(1e-5);
  });

  it('gives the recorded distances from the image files through our preprocessing, and 0 for identical images', async () => {
    const imgs = await Promise.all(cases.images.map(async (n) => lpipsInput(await decodeRgb(join(STYLE_IMAGES, n)), SIZE)));
    const plane = 3 * SIZE * SIZE;
    const a = new Float32Array(PAIRS * plane);
    const b = new Float32Array(PAIRS * plane);
    for (let i = 0; i < PAIRS; i++) {
      a.set(imgs[i], i * plane);
      b.set(imgs[i + 1], i * plane);
    }
    expect(maxAbsDiff(await forms[form].distances(a, b, PAIRS, SIZE), refDistance)).toBeLessThanOrEqual(1e-5);
    expect(Math.abs((await forms[form].distances(imgs[0], imgs[0], 1, SIZE))[0])).toBeLessThan(1e-7);
  });
});
