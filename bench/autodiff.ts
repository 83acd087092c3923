// Textual-inversion gradient model vs its forward model on the tiny fixtures: build time, node counts,
// run time (ratio printed) and peak memory, each model timed in its own child process (1 ORT thread).
// Run: node --import tsx bench/autodiff.ts [runs]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveModel } from '../src/main/onnx/model-io';
import { buildTiForwardModel, buildTiGradModel, readTiModelFolder } from '../src/main/onnx/ti-grad';
import { valueInfoShape } from '../src/main/onnx/graph';

const here = fileURLToPath(new URL('.', import.meta.url));
const fixtures = resolve(process.env.DREAMFRAME_SHARED ?? resolve(here, '../../shared'), 'fixtures');
const runs = Number(process.argv[2] ?? 5);
const work = mkdtempSync(join(tmpdir(), 'bench-autodiff-'));

interface Measure {
  initMs: number;
  medianRunMs: number;
  minRunMs: number;
  peakRssMB: number;
  baseRssMB: number;
}

function measure(model: string, specs: { name: string; type: string; dims: number[] }[]): Measure {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(here, 'lib', 'autodiff-worker.ts'), model, JSON.stringify(specs), String(runs)], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as Measure;
}

const TYPE: Record<number, string> = { 1: 'float32', 7: 'int64', 6: 'int32' };
try {
  for (const name of ['tiny-sd15', 'tiny-sdxl']) {
    const dir = join(fixtures, name, 'pipeline');
    const folder = readTiModelFolder(dir);
    const latent = [1, folder.latentChannels, 32, 32];
    const t0 = performance.now();
    const fwd = buildTiForwardModel(folder, latent);
    const fwdBuildMs = performance.now() - t0;
    const fwdFile = join(work, `${name}-forward.onnx`);
    saveModel(fwd.model, fwdFile, { externalData: { location: 'forward.onnx_data' } });
    const fwdSpecs = fwd.model.proto.graph.input.map((v) => {
      const s = valueInfoShape(v);
      return { name: v.name, type: TYPE[s.elemType] ?? 'float32', dims: s.dims as number[] };
    });
    const t1 = performance.now();
    const grad = await buildTiGradModel(dir, { height: 32 * folder.vaeScaleFactor, width: 32 * folder.vaeScaleFactor, cacheDir: join(work, 'cache') });
    const gradBuildMs = performance.now() - t1;
    const f = measure(fwdFile, fwdSpecs);
    const g = measure(grad.modelPath, grad.inputs);
    console.log(`\n${name} (${folder.family}), latents ${latent.join('×')}, ${runs} runs, 1 ORT thread`);
    console.log(`  nodes:        forward ${fwd.model.proto.graph.node.length}   gradient ${grad.nodeCounts.gradient}   (×${(grad.nodeCounts.gradient / fwd.model.proto.graph.node.length).toFixed(2)})`);
    console.log(`  build:        forward ${fwdBuildMs.toFixed(0)} ms   gradient ${gradBuildMs.toFixed(0)} ms (includes the forward build)`);
    console.log(`  session init: forward ${f.initMs.toFixed(0)} ms   gradient ${g.initMs.toFixed(0)} ms`);
    console.log(`  run (median): forward ${f.medianRunMs.toFixed(1)} ms   gradient ${g.medianRunMs.toFixed(1)} ms   ratio ${(g.medianRunMs / f.medianRunMs).toFixed(2)}`);
    console.log(`  peak RSS:     forward ${f.peakRssMB.toFixed(0)} MB   gradient ${g.peakRssMB.toFixed(0)} MB   (process before session ≈ ${f.baseRssMB.toFixed(0)} MB)`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
