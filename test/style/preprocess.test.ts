import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { autocontrastInPlace, findStyleImages, listStyleImages, prepareStyleImages } from '../../src/main/style/preprocess';
import { dreamframeFixtureDir } from '../support/paths';
import { useTempDir } from '../support/tmp';

/** A w×h RGB image whose left half is `left` and right half `right`. */
function twoColour(width: number, height: number, left: number[], right: number[]): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(x < width / 2 ? left : right, 3 * (y * width + x));
  }
  return data;
}

function pixel(chw: Float32Array, width: number, height: number, x: number, y: number): number[] {
  return [0, 1, 2].map((c) => chw[c * width * height + y * width + x]);
}

describe('autocontrast', () => {
  it("stretches each channel's min..max to 0..255 with PIL's lookup and leaves constant channels alone", () => {
    // channel 0 spans 5..56 (scale 5 exactly), channel 1 is constant, channel 2 spans 0..51.
    const px = Uint8Array.from([5, 90, 0, 20, 90, 10, 56, 90, 51, 30, 90, 25]);
    autocontrastInPlace(px, 3);
    expect([...px]).toEqual([0, 90, 0, 75, 90, 50, 255, 90, 255, 125, 90, 125]);
  });
});

describe('style image preprocessing', () => {
  const tmp = useTempDir();

  it('autocontrasts, resizes without keeping the aspect, scales to [-1, 1] and adds the mirrored copy', async () => {
    const dir = tmp();
    const path = join(dir, 'two.png');
    await sharp(twoColour(40, 30, [60, 100, 30], [180, 100, 220]), { raw: { width: 40, height: 30, channels: 3 } })
      .png()
      .toFile(path);
    const [img, mirrored] = await prepareStyleImages([path], { width: 16, height: 12 });
    expect(img).toMatchObject({ source: path, flipped: false, width: 16, height: 12 });
    expect(mirrored.flipped).toBe(true);
    expect(img.chw.length).toBe(3 * 16 * 12);
    // Far from the seam a Lanczos filter reproduces the flat colour exactly: R and B were stretched to 0/255,
    // G (constant) stays 100.
    const g = 100 / 127.5 - 1;
    expect(pixel(img.chw, 16, 12, 2, 6)).toEqual([-1, Math.fround(g), -1]);
    // Blue spans 30..220: PIL's float lookup gives int(220·255/190 − 30·255/190) = int(254.99999999999997) = 254.
    expect(pixel(img.chw, 16, 12, 13, 6)).toEqual([1, Math.fround(g), Math.fround(254 / 127.5 - 1)]);
    for (let y = 0; y < 12; y++) {
      for (let x = 0; x < 16; x++) expect(pixel(mirrored.chw, 16, 12, x, y)).toEqual(pixel(img.chw, 16, 12, 15 - x, y));
    }
    expect(Math.min(...img.chw)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...img.chw)).toBeLessThanOrEqual(1);
  });

  it('turns greyscale images into three equal channels', async () => {
    const dir = tmp();
    const path = join(dir, 'grey.png');
    await sharp(twoColour(8, 8, [10, 10, 10], [200, 200, 200]), { raw: { width: 8, height: 8, channels: 3 } })
      .toColourspace('b-w')
      .png()
      .toFile(path);
    expect((await sharp(path).metadata()).channels).toBe(1);
    const [img] = await prepareStyleImages([path], { width: 8, height: 8 }, { flip: false });
    const plane = 64;
    for (let i = 0; i < plane; i++) {
      expect(img.chw[i]).toBe(img.chw[plane + i]);
      expect(img.chw[i]).toBe(img.chw[2 * plane + i]);
    }
  });

  it('imports JPEG/PNG/WebP recursively and names unreadable files', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    const raw = { raw: { width: 8, height: 8, channels: 3 as const } };
    const img = twoColour(8, 8, [0, 0, 0], [255, 255, 255]);
    await sharp(img, raw).jpeg().toFile(join(dir, 'one.jpg'));
    await sharp(img, raw).png().toFile(join(dir, 'a', 'two.PNG'));
    await sharp(img, raw).webp().toFile(join(dir, 'a', 'b', 'three.webp'));
    writeFileSync(join(dir, 'notes.txt'), 'not an image');
    writeFileSync(join(dir, 'a', 'broken.png'), Buffer.from('definitely not a png'));

    const found = await findStyleImages(dir);
    expect(found.images).toEqual([join(dir, 'a', 'b', 'three.webp'), join(dir, 'a', 'two.PNG'), join(dir, 'one.jpg')]);
    expect(found.unreadable.map((u) => u.path)).toEqual([join(dir, 'a', 'broken.png')]);
    await expect(listStyleImages(dir)).rejects.toThrow(/broken\.png/);
    await expect(listStyleImages(join(dir, 'a', 'b', 'nothing'))).rejects.toThrow(/cannot read the image folder/);
    await expect(prepareStyleImages([join(dir, 'a', 'broken.png')], { width: 8, height: 8 })).rejects.toThrow(
      /broken\.png: not a readable/,
    );
  });

  it('reads the release style images (768² JPEG) into 2 tensors each', async () => {
    const images = await listStyleImages(join(dreamframeFixtureDir, 'style'));
    expect(images.length).toBe(60);
    const prepared = await prepareStyleImages(images.slice(0, 2), { width: 64, height: 64 });
    expect(prepared.length).toBe(4);
    // Autocontrast makes every channel reach both ends before resizing; after it the range stays wide.
    for (const p of prepared) {
      expect(Math.min(...p.chw)).toBeLessThan(-0.8);
      expect(Math.max(...p.chw)).toBeGreaterThan(0.8);
    }
  });
});
