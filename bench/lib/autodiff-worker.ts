// Child process for bench/autodiff.ts: loads one model, runs it on random inputs and reports timings and peak RSS,
// so each model's memory is measured in a process of its own.
import * as ort from 'onnxruntime-node';

interface Spec {
  name: string;
  type: string;
  dims: number[];
}

const [modelPath, specJson, runsText] = process.argv.slice(2);
const specs = JSON.parse(specJson) as Spec[];
const runs = Number(runsText ?? 5);
const rssBefore = process.memoryUsage().rss;

function feed(s: Spec): ort.Tensor {
  const n = s.dims.reduce((a, b) => a * b, 1);
  if (s.type === 'int64') {
    // ids: a valid CLIP prompt shape (BOS … EOS); timestep: mid-schedule
    const v = s.name.startsWith('input_ids') ? BigInt64Array.from({ length: n }, (_, i) => (i === 0 ? 49406n : i < 6 ? 320n : 49407n)) : BigInt64Array.from({ length: n }, () => 500n);
    return new ort.Tensor('int64', v, s.dims);
  }
  if (s.name === 'timestep') return new ort.Tensor('float32', Float32Array.from({ length: n }, () => 500), s.dims);
  let seed = 12345;
  const data = Float32Array.from({ length: n }, () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  });
  return new ort.Tensor('float32', data, s.dims);
}

const t0 = performance.now();
const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1 });
const initMs = performance.now() - t0;
const feeds = Object.fromEntries(specs.map((s) => [s.name, feed(s)]));
await session.run(feeds); // warm-up
const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const s = performance.now();
  await session.run(feeds);
  times.push(performance.now() - s);
}
times.sort((a, b) => a - b);
process.stdout.write(
  JSON.stringify({ initMs, medianRunMs: times[Math.floor(times.length / 2)], minRunMs: times[0], peakRssMB: process.resourceUsage().maxRSS / 1024, baseRssMB: rssBefore / 2 ** 20 }),
);
