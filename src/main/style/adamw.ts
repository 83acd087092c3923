/**
 * AdamW with torch.optim.AdamW semantics (decoupled weight decay, bias-corrected moments, eps added to the
 * bias-corrected √v), plus torch.nn.utils.clip_grad_norm_. Parameters and moments are float32 arrays, as in
 * torch; each update is computed in double and rounded on store, so a run restored from saved moments
 * continues bit-identically.
 */

export interface AdamWHyper {
  beta1: number;
  beta2: number;
  weightDecay: number;
  eps: number;
}

/** The release's (and diffusers') settings. */
export const DEFAULT_ADAMW: AdamWHyper = { beta1: 0.9, beta2: 0.999, weightDecay: 1e-2, eps: 1e-8 };

export interface AdamWState {
  /** Optimizer steps taken so far. */
  step: number;
  /** First and second moments, one array per parameter. */
  m: Float32Array[];
  v: Float32Array[];
}

export function createAdamWState(params: Float32Array[]): AdamWState {
  return { step: 0, m: params.map((p) => new Float32Array(p.length)), v: params.map((p) => new Float32Array(p.length)) };
}

/** One AdamW step over every parameter array, in place. */
export function adamwStep(params: Float32Array[], grads: Float32Array[], state: AdamWState, lr: number, hyper: AdamWHyper = DEFAULT_ADAMW): void {
  state.step += 1;
  const { beta1, beta2, weightDecay, eps } = hyper;
  const bc1 = 1 - beta1 ** state.step;
  const bc2Sqrt = Math.sqrt(1 - beta2 ** state.step);
  const stepSize = lr / bc1;
  for (let k = 0; k < params.length; k++) {
    const p = params[k];
    const g = grads[k];
    const m = state.m[k];
    const v = state.v[k];
    if (g.length !== p.length) throw new RangeError(`gradient ${k} has ${g.length} values, parameter ${p.length}`);
    for (let i = 0; i < p.length; i++) {
      const decayed = p[i] * (1 - lr * weightDecay);
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      p[i] = decayed - (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + eps);
    }
  }
}

/** L2 norm over several arrays, in double. */
export function gradientNorm(grads: Float32Array[]): number {
  let sum = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
  return Math.sqrt(sum);
}

/**
 * torch.nn.utils.clip_grad_norm_: scales the gradients in place by max/(norm + 1e-6) when that is below 1.
 * Returns the norm before clipping.
 */
export function clipGradNorm(grads: Float32Array[], maxNorm: number): number {
  const norm = gradientNorm(grads);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= coef;
  return norm;
}
