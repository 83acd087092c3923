/**
 * The checkpoint reader (src/main/models/source) on a full-size random-data single file (printed, never asserted):
 * - time to open it and read + widen every tensor of every component, against plainly reading the same bytes
 *   sequentially (both from the page cache, which the plain read warms): the ratio is the reader's overhead;
 * - the process's peak RSS against the file size (streaming means peak ≈ the largest tensor, not the model).
 * BENCH_FAMILY=sd15 (default, ≈2.1 GB float16) or sdxl (≈6.9 GB); BENCH_DTYPE=F16 (default), F32 or BF16.
 * The file goes to a temporary folder and is removed afterwards.
 */
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModelSource } from '../src/main/models/source/index';
import { sd15Shapes, sdxlShapes, writeCheckpoint } from '../test/models/source/support/ldm-headers';

const family = process.env.BENCH_FAMILY ?? 'sd15';
const dtype = process.env.BENCH_DTYPE ?? 'F16';
const per = dtype === 'F32' ? 4 : 2;
const dir = mkdtempSync(join(tmpdir(), 'bench-model-source-'));
const file = join(dir, `${family}.safetensors`);
const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

try {
  const shapes = family === 'sdxl' ? sdxlShapes() : sd15Shapes();
  let largest = 0;
  const t0 = performance.now();
  const size = writeCheckpoint(file, shapes, {
    dtype,
    fill: (_name, count) => {
      largest = Math.max(largest, count * per);
      const bytes = randomFillSync(Buffer.allocUnsafe(count * per));
      // Keep the values finite: clear the top exponent bit of every 16-bit word (or every float32's).
      for (let i = per - 1; i < bytes.length; i += per) bytes[i] &= 0xbf;
      return bytes;
    },
  });
  console.log(`${family} ${dtype}: ${shapes.length} tensors, ${mb(size)} written in ${((performance.now() - t0) / 1000).toFixed(1)} s; largest tensor ${mb(largest)}`);

  const plainStart = performance.now();
  const handle = await open(file, 'r');
  const chunk = Buffer.allocUnsafe(16 << 20);
  let pos = 0;
  for (;;) {
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
  }
  await handle.close();
  const plain = (performance.now() - plainStart) / 1000;

  const rssBefore = process.resourceUsage().maxRSS * 1024;
  const readStart = performance.now();
  const source = await openModelSource(file, { skipHash: true });
  let values = 0;
  for (const map of Object.values(source.components)) {
    for (const t of map.values()) values += (await t.read()).length;
  }
  await source.close();
  const read = (performance.now() - readStart) / 1000;
  const rssAfter = process.resourceUsage().maxRSS * 1024;
  console.log(`plain sequential read: ${plain.toFixed(2)} s (${mb(size / plain)}/s)`);
  console.log(`open + read + widen every component tensor (${values.toLocaleString()} values): ${read.toFixed(2)} s; ratio to plain read ${(read / plain).toFixed(2)}`);
  console.log(`peak RSS ${mb(rssAfter)} (${mb(rssBefore)} before reading) = ${(rssAfter / size).toFixed(3)} × the file size`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
