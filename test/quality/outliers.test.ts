import { describe, expect, it } from 'vitest';
import { robustZ } from '../../src/main/quality/outliers';

describe('robust z-score (modified z, Iglewicz–Hoaglin)', () => {
  it('is 0.6745·(x − median)/MAD, and the outlier does not widen the spread it is judged by', () => {
    const values = [1, 2, 3, 4, 100];
    const z = robustZ(values);
    // median 3, deviations 2,1,0,1,97 → MAD 1
    expect(z(3)).toBe(0);
    expect(z(4)).toBeCloseTo(0.6745, 12);
    expect(z(100)).toBeCloseTo(0.6745 * 97, 9);
    // A mean/std z-score of the same value stays under 2: the outlier inflates the std.
    const m = values.reduce((a, b) => a + b) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / values.length);
    expect((100 - m) / sd).toBeLessThan(2);
  });

  it('falls back to the mean absolute deviation when more than half the values are equal, and flags nothing when all are', () => {
    const z = robustZ([5, 5, 5, 5, 9]);
    // MAD 0; mean AD = 4/5 → z(9) = 4 / (1.2533 · 0.8)
    expect(z(9)).toBeCloseTo(4 / (1.2533 * 0.8), 9);
    expect(robustZ([2, 2, 2])(2)).toBe(0);
    expect(robustZ([1, 50])(50)).toBe(0); // fewer than 3 values: no basis to judge
  });
});
