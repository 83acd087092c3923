/**
 * `dreamframe model import` on a full-size random-weight single-file checkpoint in the LDM layout (printed, never
 * asserted; numbers in docs/models.md):
 *  - import time against plainly reading the same bytes sequentially (page cache warm for both): the ratio;
 *  - the importing process's peak RSS against the checkpoint size (the import runs in a child process so its
 *    maxRSS is its own): streaming means peak ≈ the largest tensor plus fixed overhead, not the model.
 * BENCH_FAMILY=sd15 (default) or sdxl; BENCH_DTYPE=F16 (default; as shared checkpoints are) or F32; BENCH_FP16=1
 * also imports with --fp16. The checkpoint is cached in ~/.cache/dreamframe-bench; the outputs are removed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importModel } from '../src/main/models/import/index';
import { randomLdmCheckpoint, type LdmFamily } from './lib/random-ldm-checkpoint';

const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

async function child(file: string, out: string, fp16: boolean): Promise<void> {
  const started = performance.now();
  const info = await importModel(file, out, { fp16 });
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ seconds, maxRss: process.resourceUsage().maxRSS * 1024, sizeOnDisk: info.sizeOnDisk, parameters: info.parameters })}\n`);
}

async function plainRead(file: string): Promise<number> {
  const started = performance.now();
  const handle = await open(file, 'r');
  const chunk = Buffer.allocUnsafe(16 << 20);
  for (let pos = 0; ; ) {
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
  }
  await handle.close();
  return (performance.now() - started) / 1000;
}

async function parent(): Promise<void> {
  const family = (process.env.BENCH_FAMILY ?? 'sd15') as LdmFamily;
  const dtype = (process.env.BENCH_DTYPE ?? 'F16') as 'F16' | 'F32';
  const file = randomLdmCheckpoint(family, dtype);
  const size = statSync(file).size;
  await plainRead(file); // warm the page cache, as the import's own reads will find it
  const plain = await plainRead(file);
  console.log(`${family} ${dtype} checkpoint: ${mib(size)}; plain sequential read ${plain.toFixed(2)} s (${mib(size / plain)}/s)`);
  const work = mkdtempSync(join(tmpdir(), 'bench-model-import-'));
  try {
    for (const fp16 of process.env.BENCH_FP16 === '1' ? [false, true] : [false]) {
      const out = join(work, fp16 ? 'fp16' : 'fp32');
      const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', file, out, fp16 ? 'fp16' : 'fp32'], { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (r.status !== 0) throw new Error(`import failed:\n${r.stderr}`);
      const m = JSON.parse(r.stdout.trim().split('\n').pop()!);
      console.log(
        `import${fp16 ? ' --fp16' : ''}: ${m.seconds.toFixed(1)} s = ${(m.seconds / plain).toFixed(1)} × the plain read (includes the sha256 pass); ` +
          `output ${mib(m.sizeOnDisk)}; peak RSS ${mib(m.maxRss)} = ${(m.maxRss / size).toFixed(3)} × the checkpoint`,
      );
      rmSync(out, { recursive: true, force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') void child(process.argv[3], process.argv[4], process.argv[5] === 'fp16');
else void parent();
