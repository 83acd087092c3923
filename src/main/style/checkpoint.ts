import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../shared/errors';
import { writeFileAtomic } from '../util/atomic-write';
import type { RngState } from './rng';

/**
 * Training checkpoint: everything a resumed run needs to continue exactly as an uninterrupted one would —
 * the optimizer step count, the learned vectors, AdamW's moments, the PRNG state and the loss history —
 * plus a fingerprint of the settings so a resume with different settings is refused. Float arrays are stored
 * as base64 of their little-endian bytes, so they come back bit-identical.
 */

export interface LossPoint {
  step: number;
  loss: number;
}

export interface TrainingCheckpoint {
  version: 1;
  /** Optimizer steps completed. */
  step: number;
  /** Learned vectors, one per text encoder. */
  vectors: Float32Array[];
  adam: { step: number; m: Float32Array[]; v: Float32Array[] };
  rng: RngState;
  losses: LossPoint[];
  /** Stable description of the settings that must match on resume. */
  fingerprint: string;
}

function encodeFloats(a: Float32Array): string {
  const bytes = new Uint8Array(a.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < a.length; i++) view.setFloat32(4 * i, a[i], true);
  return Buffer.from(bytes).toString('base64');
}

function decodeFloats(text: unknown, where: string): Float32Array {
  if (typeof text !== 'string') throw new AppError('style.checkpoint_invalid', `${where} is not a base64 string`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 4) throw new AppError('style.checkpoint_invalid', `${where} has ${bytes.length} bytes, not a float32 array`);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(4 * i);
  return out;
}

export function serializeCheckpoint(cp: TrainingCheckpoint): string {
  return JSON.stringify({
    version: cp.version,
    step: cp.step,
    vectors: cp.vectors.map(encodeFloats),
    adam: { step: cp.adam.step, m: cp.adam.m.map(encodeFloats), v: cp.adam.v.map(encodeFloats) },
    rng: cp.rng,
    // Losses are doubles; JSON round-trips doubles exactly.
    losses: cp.losses,
    fingerprint: cp.fingerprint,
  });
}

export function parseCheckpoint(text: string, source: string): TrainingCheckpoint {
  let raw: Record<string, any>;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AppError('style.checkpoint_invalid', `${source}: not JSON (${(err as Error).message})`);
  }
  if (raw?.version !== 1) throw new AppError('style.checkpoint_invalid', `${source}: unsupported checkpoint version ${raw?.version}`);
  const arr = (x: unknown, where: string): Float32Array[] => {
    if (!Array.isArray(x)) throw new AppError('style.checkpoint_invalid', `${source}: ${where} is not a list`);
    return x.map((e, i) => decodeFloats(e, `${source}: ${where}[${i}]`));
  };
  const rng = raw.rng;
  if (!Array.isArray(rng) || rng.length !== 4 || !rng.every((w: unknown) => Number.isInteger(w) && (w as number) >= 0 && (w as number) < 2 ** 32)) {
    throw new AppError('style.checkpoint_invalid', `${source}: rng state is not four uint32 words`);
  }
  if (!Number.isInteger(raw.step) || raw.step < 0 || !Number.isInteger(raw.adam?.step)) {
    throw new AppError('style.checkpoint_invalid', `${source}: step counters are missing`);
  }
  return {
    version: 1,
    step: raw.step,
    vectors: arr(raw.vectors, 'vectors'),
    adam: { step: raw.adam.step, m: arr(raw.adam.m, 'adam.m'), v: arr(raw.adam.v, 'adam.v') },
    rng: rng as RngState,
    losses: Array.isArray(raw.losses) ? raw.losses.map((p: LossPoint) => ({ step: Number(p.step), loss: Number(p.loss) })) : [],
    fingerprint: String(raw.fingerprint ?? ''),
  };
}

export function saveCheckpoint(path: string, cp: TrainingCheckpoint): void {
  writeFileAtomic(path, serializeCheckpoint(cp));
}

/** Reads a checkpoint; null when the file does not exist. */
export function loadCheckpoint(path: string): TrainingCheckpoint | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AppError('style.checkpoint_invalid', `cannot read ${path}: ${(err as Error).message}`);
  }
  return parseCheckpoint(text, path);
}

/** Step snapshots kept in a checkpoint folder: enough to go back a little, not one file per checkpoint of a 400-step run. */
export const KEEP_STEP_SNAPSHOTS = 3;

const STEP_SNAPSHOT = /^step-(\d+)\.safetensors$/;

/** Removes all but the `keep` latest `step-NNNNNN.safetensors` snapshots of a folder; returns the names removed. */
export function pruneStepSnapshots(dir: string, keep = KEEP_STEP_SNAPSHOTS): string[] {
  const snapshots = readdirSync(dir)
    .map((name) => ({ name, step: STEP_SNAPSHOT.exec(name)?.[1] }))
    .filter((s): s is { name: string; step: string } => s.step !== undefined)
    .sort((a, b) => Number(a.step) - Number(b.step));
  const old = snapshots.slice(0, Math.max(0, snapshots.length - keep)).map((s) => s.name);
  for (const name of old) rmSync(join(dir, name), { force: true });
  return old;
}
