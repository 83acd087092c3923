import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/main/diffusion/pipeline/rng';
import { fillNormalish, tensorSeed, uint32Stream } from '../../src/main/onnx/synthetic/random';

describe('random weights of synthetic models', () => {
  it('the inlined xoshiro128** stream equals the image generator (SeededRandom) for the same seed', () => {
    for (const seed of [0, 1, 2 ** 32 - 1, 2 ** 32 + 5, tensorSeed(3, 'conv_in.weight')]) {
      const ref = new SeededRandom(seed);
      const expected = Uint32Array.from({ length: 1000 }, () => ref.nextUint32());
      expect(uint32Stream(seed, 1000)).toEqual(expected);
    }
  });

  it('values are the Irwin–Hall (4 bytes) transform of the stream of (seed, name), scaled by std', () => {
    const out = new Float32Array(300);
    fillNormalish(out, 5, 'down_blocks.0.resnets.0.conv1.weight', 0.25);
    const stream = uint32Stream(tensorSeed(5, 'down_blocks.0.resnets.0.conv1.weight'), 300);
    const irwinHallStd = Math.sqrt((4 * (256 * 256 - 1)) / 12);
    const expected = Array.from(stream, (r) => (((r & 0xff) + ((r >>> 8) & 0xff) + ((r >>> 16) & 0xff) + (r >>> 24) - 510) / irwinHallStd) * 0.25);
    for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(expected[i], 6);
  });

  it('has mean 0 and the requested std, bounded by ±3.45 std; names and seeds give independent streams', () => {
    const a = new Float32Array(200_000);
    fillNormalish(a, 0, 'w', 2);
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const std = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(std - 2)).toBeLessThan(0.02);
    expect(a.reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBeLessThanOrEqual(2 * (510 / Math.sqrt(21845)));
    const b = new Float32Array(1000);
    const c = new Float32Array(1000);
    const d = new Float32Array(1000);
    fillNormalish(b, 0, 'w', 2);
    fillNormalish(c, 0, 'w2', 2);
    fillNormalish(d, 1, 'w', 2);
    expect(b).toEqual(a.subarray(0, 1000));
    const corr = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * y[i], 0) / Math.sqrt(x.reduce((s, v) => s + v * v, 0) * y.reduce((s, v) => s + v * v, 0));
    expect(Math.abs(corr(b, c))).toBeLessThan(0.1);
    expect(Math.abs(corr(b, d))).toBeLessThan(0.1);
  });

  it('refuses seeds that are not non-negative safe integers', () => {
    expect(() => tensorSeed(-1, 'x')).toThrow(/non-negative safe integer/);
    expect(() => tensorSeed(1.5, 'x')).toThrow(/non-negative safe integer/);
  });
});
