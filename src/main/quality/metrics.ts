/** The paper's two film metrics and their per-frame parts (docs/quality.md). */

/** Cosine of two embeddings (CLIP similarities are cosines of the L2-normalised projections). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / (Math.sqrt(na) * Math.sqrt(nb) || 1);
}

/** CLIPScore (Hessel et al. 2021): 2.5 · max(cos, 0). */
export function clipScore(cos: number): number {
  return 2.5 * Math.max(cos, 0);
}

/** Mean of the finite values; null when there are none. */
export function mean(values: Iterable<number | null | undefined>): number | null {
  let s = 0;
  let n = 0;
  for (const v of values) {
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    s += v;
    n++;
  }
  return n ? s / n : null;
}
