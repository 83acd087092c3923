// A random-weight SD folder for benchmarks, generated once and reused: full-size models cannot be downloaded here,
// and generating SD 1.5 (3.4 GB of weights) takes minutes, so later runs find it in the cache folder.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { presetConfigs, writeRandomSdFolder } from '../../src/main/onnx/synthetic/index';

export function randomSdFolder(preset: string, templateDir: string, dir?: string): string {
  const out = resolve(dir ?? join(homedir(), '.cache/dreamframe-bench', `random-${preset}`));
  if (!existsSync(join(out, 'model_index.json'))) {
    console.log(`generating a random-weight ${preset} folder in ${out} (once; later runs reuse it)…`);
    const t = performance.now();
    writeRandomSdFolder(out, { configs: presetConfigs(preset, templateDir), templateDir, seed: 0 });
    console.log(`  done in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  }
  return out;
}
