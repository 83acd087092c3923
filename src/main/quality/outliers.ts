/**
 * Robust outlier scores within a film. The modified z-score of Iglewicz and Hoaglin,
 *   z = 0.6745 · (x − median) / MAD,   MAD = median |x − median|,
 * ignores the outliers themselves when estimating spread (a mean/std z-score is dragged by them), and
 * |z| > 3.5 is their recommended cut. When more than half the values are equal, MAD is 0; then the mean absolute
 * deviation around the median stands in (z = (x − median) / (1.2533 · meanAD), as for a normal distribution), and
 * when that is 0 too nothing is an outlier.
 */

export const DEFAULT_Z_THRESHOLD = 3.5;

function median(sorted: number[]): number {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/** A function giving each value's robust z-score within `values` (0 for every value when spread is 0). */
export function robustZ(values: number[]): (x: number) => number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length < 3) return () => 0;
  const med = median(finite);
  const deviations = finite.map((v) => Math.abs(v - med)).sort((a, b) => a - b);
  const mad = median(deviations);
  if (mad > 0) return (x) => (0.6745 * (x - med)) / mad;
  const meanAd = deviations.reduce((s, v) => s + v, 0) / deviations.length;
  if (meanAd > 0) return (x) => (x - med) / (1.2533 * meanAd);
  return () => 0;
}
