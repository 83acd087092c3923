// A full-size random-weight single-file checkpoint in the original LDM key layout (what users download), written
// once per family/dtype into the bench cache and reused: the key names and shapes are the original architectures'
// (test/models/source/support/ldm-headers.ts), the values come from the synthetic generator's seeded normal-ish
// stream scaled like the synthetic models (weights std 1/√fan_in, norm scales 1, biases 0), so the imported model
// computes finite, order-1 activations. Written one tensor at a time: memory holds one tensor, never the model.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fillNormalish } from '../../src/main/onnx/synthetic/random';
import { toHalf } from '../../src/main/util/half-float';
import { sd15Shapes, sdxlShapes, writeCheckpoint, type Shapes } from '../../test/models/source/support/ldm-headers';

export type LdmFamily = 'sd15' | 'sdxl';

function randomValues(name: string, shape: number[], seed: number): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(count);
  const isNormScale = shape.length === 1 && /norm|ln_|layer_norm/.test(name) && name.endsWith('weight');
  if (isNormScale) out.fill(1);
  else if (shape.length >= 2) fillNormalish(out, seed, name, 1 / Math.sqrt(count / shape[0]));
  // 1-D biases and norm shifts stay 0; scalars such as logit_scale too.
  return out;
}

function encode(values: Float32Array, dtype: 'F16' | 'F32'): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer);
  const half = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) half[i] = toHalf(values[i]);
  return new Uint8Array(half.buffer);
}

/** The cached checkpoint's path, written first if missing (atomically: a temp name renamed at the end). */
export function randomLdmCheckpoint(family: LdmFamily, dtype: 'F16' | 'F32', opts: { cacheDir?: string; seed?: number } = {}): string {
  const dir = opts.cacheDir ?? join(homedir(), '.cache/dreamframe-bench');
  const file = join(dir, `random-${family}-ldm-${dtype}.safetensors`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const shapes: Shapes = family === 'sdxl' ? sdxlShapes() : sd15Shapes();
  const tmp = `${file}.writing`;
  console.log(`writing a random-weight ${family} ${dtype} LDM checkpoint to ${file} (once; later runs reuse it)…`);
  const t = performance.now();
  try {
    writeCheckpoint(tmp, shapes, { dtype, fill: (name) => encode(randomValues(name, shapes.find(([n]) => n === name)![1], opts.seed ?? 0), dtype) });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  console.log(`  done in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  return file;
}
