import type { NoiseSource } from '../schedulers/types';

/**
 * The seeded random generator behind every image: the same seed gives the same latents on every run and platform.
 *
 *   state:   xoshiro128** (Blackman & Vigna), four uint32 words, seeded by running splitmix32 on the seed
 *            (seeds are integers 0 ≤ seed < 2^53; the high and low 32 bits are mixed in turn).
 *   uniform: u = (next() >>> 8) / 2^24 + 2^-25, i.e. 24 random bits centred in (0, 1) so log(u) is finite.
 *   normal:  Box–Muller on (u1, u2): r = √(−2 ln u1), z0 = r·cos(2π u2), z1 = r·sin(2π u2); both are used, z0 first.
 *
 * A batch of B images uses seeds seed, seed+1, …, seed+B−1, one generator each: image b of a batch is the image a
 * single run with seed+b makes. Initial latents are drawn first (C·h·w values in NCHW order), then the ancestral
 * noise of each step, from the same stream.
 */
/** xoshiro128** state for a seed: splitmix32 over the low 32 bits, the high bits mixed in after the first word. */
export function xoshiroState(seed: number): [number, number, number, number] {
  let x = (seed % 2 ** 32) >>> 0;
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  const splitmix = () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  const s0 = splitmix();
  x = (x ^ hi) >>> 0;
  const s: [number, number, number, number] = [s0, splitmix(), splitmix(), splitmix()];
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  return s;
}

export class SeededRandom implements NoiseSource {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
    [this.s0, this.s1, this.s2, this.s3] = xoshiroState(seed);
  }

  /** Next uint32 (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    return result;
  }

  /** Uniform in (0, 1). */
  uniform(): number {
    return (this.nextUint32() >>> 8) / 16777216 + 1 / 33554432;
  }

  normal(): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const theta = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  fillNormal(out: Float32Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Noise for a batch: item b's slice comes from generator b, so batched images equal single ones. */
export class BatchNoise implements NoiseSource {
  constructor(private readonly generators: NoiseSource[]) {}
  fillNormal(out: Float32Array): void {
    const per = out.length / this.generators.length;
    this.generators.forEach((g, b) => g.fillNormal(out.subarray(b * per, (b + 1) * per)));
  }
}
