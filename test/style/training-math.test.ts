import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSchedulerConfig } from '../../src/main/diffusion/schedulers/index';
import { adamwStep, clipGradNorm, createAdamWState, DEFAULT_ADAMW } from '../../src/main/style/adamw';
import { loadCheckpoint, parseCheckpoint, saveCheckpoint, serializeCheckpoint, type TrainingCheckpoint } from '../../src/main/style/checkpoint';
import { learningRateAt, parseLrSchedule, RELEASE_LR_SCHEDULE, scheduleLength } from '../../src/main/style/lr-schedule';
import { TrainingNoiser } from '../../src/main/style/noising';
import { DEFAULT_PROMPT_TEMPLATES, fillTemplate, validateTemplates } from '../../src/main/style/prompt-templates';
import { TrainingRng } from '../../src/main/style/rng';
import { tinySd15Dir, tinySdxlDir } from '../support/paths';
import { useTempDir } from '../support/tmp';
import { readCase, readF32 } from './support/fixture';

describe('AdamW (torch semantics)', () => {
  it('takes the first two steps as the closed-form torch update gives them', () => {
    const p = [Float32Array.from([1, -2])];
    const state = createAdamWState(p);
    const lr = 1e-3;
    const { beta1: b1, beta2: b2, weightDecay: wd, eps } = DEFAULT_ADAMW;
    const g1 = [0.5, -0.25];
    const g2 = [-0.1, 0.3];
    adamwStep(p, [Float32Array.from(g1)], state, lr);
    // Step 1: m̂ = g, v̂ = g², so the move is lr·g/(|g| + eps) after decoupled decay.
    const exp1 = [1, -2].map((x, i) => Math.fround(x * (1 - lr * wd) - (lr * g1[i]) / (Math.abs(g1[i]) + eps)));
    expect([...p[0]]).toEqual(exp1);
    adamwStep(p, [Float32Array.from(g2)], state, lr);
    const exp2 = exp1.map((x, i) => {
      const m = Math.fround(b1 * Math.fround((1 - b1) * g1[i]) + (1 - b1) * g2[i]);
      const v = Math.fround(b2 * Math.fround((1 - b2) * g1[i] * g1[i]) + (1 - b2) * g2[i] * g2[i]);
      const mHat = m / (1 - b1 ** 2);
      const vHatSqrt = Math.sqrt(v) / Math.sqrt(1 - b2 ** 2);
      return Math.fround(x * (1 - lr * wd) - (lr * mHat) / (vHatSqrt + eps));
    });
    for (let i = 0; i < 2; i++) expect(p[0][i]).toBeCloseTo(exp2[i], 7);
    expect(state.step).toBe(2);
  });

  it('decays weights independently of the gradient (decoupled), and minimises a quadratic', () => {
    const p = [Float32Array.from([2])];
    const state = createAdamWState(p);
    for (let i = 0; i < 10; i++) adamwStep(p, [new Float32Array(1)], state, 0.1);
    expect(p[0][0]).toBeCloseTo(2 * (1 - 0.1 * 0.01) ** 10, 6);

    const target = [0.3, -0.7, 1.1];
    const q = [new Float32Array(3)];
    const s = createAdamWState(q);
    for (let i = 0; i < 2000; i++) {
      const grad = Float32Array.from(q[0], (x, k) => 2 * (x - target[k]));
      adamwStep(q, [grad], s, 0.01, { ...DEFAULT_ADAMW, weightDecay: 0 });
    }
    for (let k = 0; k < 3; k++) expect(q[0][k]).toBeCloseTo(target[k], 2);
  });

  it('clips the gradient norm like clip_grad_norm_', () => {
    const g = [Float32Array.from([3]), Float32Array.from([4])];
    expect(clipGradNorm(g, 1)).toBe(5);
    expect(g[0][0]).toBeCloseTo(3 / (5 + 1e-6), 7);
    expect(g[1][0]).toBeCloseTo(4 / (5 + 1e-6), 7);
    const small = [Float32Array.from([0.3, 0.4])];
    clipGradNorm(small, 1);
    expect([...small[0]]).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });
});

describe('learning-rate schedule', () => {
  it("parses the release's phases: lengths 4, 8, 13, 20, 35, 60, 100, 160 over 400 steps", () => {
    const phases = parseLrSchedule(RELEASE_LR_SCHEDULE);
    const ends = phases.map((p) => p.endStep as number);
    expect(ends.map((e, i) => e - (i ? ends[i - 1] : 0))).toEqual([4, 8, 13, 20, 35, 60, 100, 160]);
    expect(phases.map((p) => p.rate)).toEqual([1e-3, 9e-4, 8e-4, 7e-4, 6e-4, 5e-4, 4e-4, 3e-4]);
    expect(scheduleLength(phases)).toBe(400);
    expect([1, 4, 5, 12, 13, 400, 401].map((s) => learningRateAt(phases, s))).toEqual([1e-3, 1e-3, 9e-4, 9e-4, 8e-4, 3e-4, 3e-4]);
  });

  it('accepts an open-ended last rate and rejects malformed schedules with the entry at fault', () => {
    const phases = parseLrSchedule('0.005:100, 1e-5');
    expect(scheduleLength(phases)).toBeNull();
    expect(learningRateAt(phases, 5000)).toBe(1e-5);
    expect(() => parseLrSchedule('1e-3:4, 1e-4:3')).toThrow(/"1e-4:3".*above 4/);
    expect(() => parseLrSchedule('1e-3, 1e-4:5')).toThrow(/only the last entry/);
    expect(() => parseLrSchedule('fast:10')).toThrow(/"fast:10"/);
    expect(() => parseLrSchedule('-1:10')).toThrow(/positive rate/);
    expect(() => parseLrSchedule(' ')).toThrow(/empty/);
  });
});

describe('prompt templates', () => {
  it("are the release's 5 templates × 4 variations", () => {
    expect(DEFAULT_PROMPT_TEMPLATES.length).toBe(20);
    validateTemplates(DEFAULT_PROMPT_TEMPLATES);
    expect(fillTemplate(DEFAULT_PROMPT_TEMPLATES[0], 'dramatic')).toBe('generate an image in dramatic painting style');
    expect(fillTemplate(DEFAULT_PROMPT_TEMPLATES[19], 'dramatic')).toBe('in style of dramatic picture');
    expect(new Set(DEFAULT_PROMPT_TEMPLATES).size).toBe(20);
    expect(() => validateTemplates(['no placeholder'])).toThrow(/template 1/);
  });
});

describe('training PRNG', () => {
  it('is reproducible from a seed and from a saved state', () => {
    const a = TrainingRng.fromSeed(46);
    const b = TrainingRng.fromSeed(46);
    const first = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(first);
    const saved = a.state();
    const rest = [a.nextFloat(), a.nextInt(1000), a.nextUint32()];
    const c = TrainingRng.fromState(saved);
    expect([c.nextFloat(), c.nextInt(1000), c.nextUint32()]).toEqual(rest);
    expect(TrainingRng.fromSeed(47).nextUint32()).not.toBe(first[0]);
  });

  it('draws uniform integers and standard normals', () => {
    const rng = TrainingRng.fromSeed(1);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 50_000; i++) counts[rng.nextInt(10)]++;
    for (const c of counts) expect(Math.abs(c - 5000)).toBeLessThan(300);
    const z = new Float32Array(100_001);
    rng.fillNormal(z);
    const mean = z.reduce((s, x) => s + x, 0) / z.length;
    const variance = z.reduce((s, x) => s + (x - mean) ** 2, 0) / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
  });
});

describe('DDPM noising', () => {
  for (const [name, dir] of [['tiny-sd15', tinySd15Dir], ['tiny-sdxl', tinySdxlDir]] as const) {
    it(`reproduces the reference noisy latents of ${name}'s textual-inversion case`, () => {
      const ti = readCase(dir, 'textual_inversion.json');
      const noiser = new TrainingNoiser(readSchedulerConfig(join(dir, 'pipeline', 'scheduler', 'scheduler_config.json')));
      const latents = readF32(dir, ti.latents);
      const noise = readF32(dir, ti.noise);
      for (const c of ti.cases) {
        if (c.alphas_cumprod_t !== undefined) // torch accumulates the float32 cumprod differently: allow a few ulps.
        expect(Math.abs(noiser.alphasCumprod[c.t] / c.alphas_cumprod_t - 1)).toBeLessThan(5e-6);
        const got = noiser.addNoise(latents, noise, c.t);
        const want = readF32(dir, c.noisy_latents);
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
        expect(worst).toBeLessThan(2e-6);
        expect(noiser.target(latents, noise, c.t)).toBe(noise);
      }
    });
  }

  it('gives the v target from which x0 is recovered as √ᾱ·x_t − √(1−ᾱ)·v', () => {
    const config = readSchedulerConfig(join(tinySd15Dir, 'pipeline', 'scheduler', 'scheduler_config.json'));
    const noiser = new TrainingNoiser({ ...config, predictionType: 'v_prediction' });
    const rng = TrainingRng.fromSeed(3);
    const x0 = new Float32Array(64);
    const eps = new Float32Array(64);
    rng.fillNormal(x0);
    rng.fillNormal(eps);
    const t = 700;
    const xt = noiser.addNoise(x0, eps, t);
    const v = noiser.target(x0, eps, t);
    const a = noiser.alphasCumprod[t];
    for (let i = 0; i < 64; i++) expect(Math.sqrt(a) * xt[i] - Math.sqrt(1 - a) * v[i]).toBeCloseTo(x0[i], 5);
  });
});

describe('training checkpoints', () => {
  const tmp = useTempDir();

  it('round-trip bit-exactly, including -0, subnormals and the PRNG state', () => {
    const rng = TrainingRng.fromSeed(9);
    rng.nextUint32();
    const vec = Float32Array.from([0.1, -0, 1e-42, 3.4e38, -1.17549435e-38]);
    const cp: TrainingCheckpoint = {
      version: 1,
      step: 17,
      vectors: [vec, Float32Array.from([1, 2, 3])],
      adam: { step: 17, m: [Float32Array.from([1e-30, 2]), new Float32Array(3)], v: [new Float32Array(2), Float32Array.from([4, 5, 6])] },
      rng: rng.state(),
      losses: [{ step: 1, loss: 1.0783915519714355 }, { step: 2, loss: 0.1 + 0.2 }],
      fingerprint: 'abc',
    };
    const path = join(tmp(), 'ckpt', 'checkpoint.json');
    saveCheckpoint(path, cp);
    const back = loadCheckpoint(path)!;
    expect(back).toEqual(cp);
    expect(Object.is(back.vectors[0][1], -0)).toBe(true);
    expect(serializeCheckpoint(back)).toBe(serializeCheckpoint(cp));
    expect(loadCheckpoint(join(tmp(), 'none.json'))).toBeNull();
    expect(() => parseCheckpoint('{"version":2}', 'x.json')).toThrow(/x\.json: unsupported checkpoint version 2/);
  });
});
