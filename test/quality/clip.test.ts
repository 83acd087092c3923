import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipModel } from '../../src/main/quality/clip-model';
import { cosine } from '../../src/main/quality/metrics';
import { clipPixelValues, decodeRgb } from '../../src/main/quality/preprocess';
import { cases, f32, i64, maxAbsDiff, QUALITY, rows, STYLE_IMAGES } from './fixture';

const N_IMG = cases.images.length;
const N_TXT = cases.texts.length;
const refText = rows(f32(cases.clip.text_embeds), N_TXT);
const refImage = rows(f32(cases.clip.image_embeds), N_IMG);
const refCos = f32(cases.clip.image_text_cosine);
const refIds = i64(cases.clip.input_ids);
const refPixels = f32(cases.clip.pixel_values);

/** Preprocessed pixels may differ from the recorded ones by float rounding of the normalisation only (the
 * resized bytes are identical), so embeddings through our preprocessing are held to the same order. */
const PREPROCESS_TOL = 1e-6;

let cache: string;
const forms: Record<string, ClipModel> = {};

beforeAll(async () => {
  cache = mkdtempSync(join(tmpdir(), 'df-clip-'));
  forms.hf = await ClipModel.open(join(QUALITY, 'clip', 'hf'), { cacheDir: cache, threads: 1 });
  forms.onnx = await ClipModel.open(join(QUALITY, 'clip'), { cacheDir: cache, threads: 1 });
});
afterAll(async () => {
  for (const m of Object.values(forms)) await m.close();
  rmSync(cache, { recursive: true, force: true });
});

describe('tokenizer and preprocessing match the recorded inputs', () => {
  it('tokenizes the four texts to the recorded input_ids', () => {
    expect(forms.hf.tokenize(cases.texts).flat()).toEqual(refIds);
  });

  it('resizes, crops and normalises the six images to the recorded pixel_values (PIL bicubic reproduced)', async () => {
    for (let i = 0; i < N_IMG; i++) {
      const px = clipPixelValues(await decodeRgb(join(STYLE_IMAGES, cases.images[i])), forms.hf.preprocessor);
      expect(maxAbsDiff(px, refPixels.subarray(i * px.length, (i + 1) * px.length))).toBeLessThan(PREPROCESS_TOL);
    }
  });
});

describe.each(['hf', 'onnx'])('CLIP, %s form', (form) => {
  it('gives the recorded text and image embeddings from the recorded inputs (≤ 1e-5)', async () => {
    const m = forms[form];
    const text = await m.embedTokenIds(Array.from({ length: N_TXT }, (_, i) => refIds.slice(i * 77, (i + 1) * 77)));
    const image = await m.embedPixels(refPixels, N_IMG);
    for (let i = 0; i < N_TXT; i++) expect(maxAbsDiff(text[i], refText[i])).toBeLessThanOrEqual(1e-5);
    for (let i = 0; i < N_IMG; i++) expect(maxAbsDiff(image[i], refImage[i])).toBeLessThanOrEqual(1e-5);
    for (let i = 0; i < N_IMG; i++) for (let j = 0; j < N_TXT; j++) expect(Math.abs(cosine(image[i], text[j]) - refCos[i * N_TXT + j])).toBeLessThanOrEqual(1e-5);
    for (let i = 0; i + 1 < N_IMG; i++) expect(Math.abs(cosine(image[i], image[i + 1]) - cases.clip.adjacent_image_cosine[i])).toBeLessThanOrEqual(1e-5);
  });

  it('gives the recorded cosines from the image files and texts through our own tokenizer and preprocessing', async () => {
    const m = forms[form];
    const text = await m.embedTexts(cases.texts);
    const pixels = await Promise.all(cases.images.map(async (n) => clipPixelValues(await decodeRgb(join(STYLE_IMAGES, n)), m.preprocessor)));
    const flat = new Float32Array(pixels.reduce((s, p) => s + p.length, 0));
    pixels.forEach((p, i) => flat.set(p, i * p.length));
    const image = await m.embedPixels(flat, N_IMG);
    for (let i = 0; i < N_IMG; i++) expect(maxAbsDiff(image[i], refImage[i])).toBeLessThanOrEqual(1e-5);
    for (let i = 0; i < N_IMG; i++) for (let j = 0; j < N_TXT; j++) expect(Math.abs(cosine(image[i], text[j]) - refCos[i * N_TXT + j])).toBeLessThanOrEqual(1e-5);
  });
});

it('the two forms have different content hashes, and the HF folder converts once (cached by content hash)', async () => {
  expect(forms.hf.form).toBe('hf');
  expect(forms.onnx.form).toBe('onnx');
  expect(forms.hf.hash).not.toBe(forms.onnx.hash);
  const again = await ClipModel.open(join(QUALITY, 'clip', 'hf'), { cacheDir: cache, threads: 1 });
  expect(again.hash).toBe(forms.hf.hash);
  await again.close();
});
