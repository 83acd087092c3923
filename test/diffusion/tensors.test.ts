import { describe, expect, it } from 'vitest';
import { fromHalf, idsTensor, readFloat, timestepTensor, toHalf, floatTensor } from '../../src/main/diffusion/runtime/tensors';

describe('tensor dtype variations of SD exports', () => {
  it('fp16 conversion: exact values, rounding to nearest even, subnormals, overflow', () => {
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(65504)).toBe(0x7bff);
    expect(toHalf(1e6)).toBe(0x7c00);
    expect(toHalf(2 ** -24)).toBe(0x0001);
    expect(fromHalf(0x3555)).toBeCloseTo(0.333251953125, 12);
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // halfway: ties to even
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    for (const v of [0.1, -3.75, 1234.5, 6.1e-5, -0.000123]) expect(Math.abs(fromHalf(toHalf(v)) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25);
    const t = floatTensor('float16', Float32Array.from([0.5, -1.25]), [2]);
    expect(t.type).toBe('float16');
    expect(Array.from(readFloat(t))).toEqual([0.5, -1.25]);
  });

  it('timestep tensors for every declared form', () => {
    const f = timestepTensor({ type: 'float32', scalar: false }, 957.375, 2);
    expect([f.type, f.dims, Array.from(f.data as Float32Array)]).toEqual(['float32', [2], [957.375, 957.375]]);
    const i = timestepTensor({ type: 'int64', scalar: false }, 901, 2);
    expect([i.type, i.dims, Array.from(i.data as BigInt64Array)]).toEqual(['int64', [2], [901n, 901n]]);
    const s = timestepTensor({ type: 'float32', scalar: true }, 501, 2);
    expect([s.type, s.dims, Array.from(s.data as Float32Array)]).toEqual(['float32', [], [501]]);
    const h = timestepTensor({ type: 'float16', scalar: false }, 1, 1);
    expect([h.type, Array.from(h.data as Uint16Array)]).toEqual(['float16', [0x3c00]]);
    const per = timestepTensor({ type: 'int64', scalar: false }, [1, 500], 2);
    expect(Array.from(per.data as BigInt64Array)).toEqual([1n, 500n]);
    expect(() => timestepTensor({ type: 'float32', scalar: true }, [1, 500], 2)).toThrow(/scalar/);
  });

  it('input_ids as int32 or int64', () => {
    expect(idsTensor('int32', [[49406, 49407]]).type).toBe('int32');
    const t = idsTensor('int64', [[49406, 1], [49406, 2]]);
    expect([t.type, t.dims, Array.from(t.data as BigInt64Array)]).toEqual(['int64', [2, 2], [49406n, 1n, 49406n, 2n]]);
  });
});
