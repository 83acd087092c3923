/**
 * Plot generation throughput: an 11×11×11 film against a local OpenAI-compatible test server with a
 * fixed per-request latency. Prints total time / ideal, where ideal = Σ over levels of
 * ceil(nodes / concurrency) × latency (the time a level-by-level run with perfect batching needs),
 * and the peak number of requests the server saw in flight.
 *
 *   node --import tsx bench/plot-generation.ts [latencyMs=100] [concurrency=8]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus } from '../src/main/app/event-bus';
import { JobRunner } from '../src/main/jobs/runner';
import { plotJobKind } from '../src/main/plot/plot-job';
import { startFilms } from '../src/main/plot/plot-service';
import { createProject } from '../src/main/project/project';
import { startFakeOpenAI, validScript } from '../test/plot/fake-openai';

const latencyMs = Number(process.argv[2] ?? 100);
const concurrency = Number(process.argv[3] ?? 8);
const breadth = { chapters: 11, subchapters: 11, frames: 11, dialogueLines: 6, qaPairs: 2 };
process.env.DREAMFRAME_CONFIG_DIR = mkdtempSync(join(tmpdir(), 'df-bench-config-'));

const server = await startFakeOpenAI(validScript(breadth, latencyMs));
const project = createProject(join(mkdtempSync(join(tmpdir(), 'df-bench-')), 'p'));
const runner = new JobRunner(project, new EventBus(), [plotJobKind]);
runner.start();
const t0 = performance.now();
startFilms(project.db, runner, {
  themes: ['a lighthouse keeper in winter'], breadth,
  provider: { baseUrl: server.baseUrl, model: 'bench', maxConcurrency: concurrency, retryBaseMs: 5 },
});
await runner.whenIdle();
const totalMs = performance.now() - t0;
const levels = [1, breadth.chapters, breadth.chapters * breadth.subchapters];
const idealMs = levels.reduce((t, n) => t + Math.ceil(n / concurrency) * latencyMs, 0);
const frames = (project.db.prepare('SELECT count(*) AS n FROM frame').get() as { n: number }).n;
console.log(`film 11×11×11: ${levels.reduce((a, b) => a + b)} requests, ${frames} frames, latency ${latencyMs} ms, concurrency ${concurrency}`);
console.log(`total ${totalMs.toFixed(0)} ms, ideal ${idealMs} ms, total/ideal ${(totalMs / idealMs).toFixed(3)}`);
console.log(`peak requests in flight ${server.peakInFlight} (limit ${concurrency})`);
console.log(`client-side overhead per request ≈ ${((totalMs - idealMs) / levels.reduce((a, b) => a + b)).toFixed(1)} ms`);
project.close();
await server.close();
