import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { loadModel } from './model-io';
import { externalLocation, isExternal } from './tensor';

/** SHA-256 over the .onnx file and every external data file it references (content, not timestamps). */
export function hashModelFile(modelFile: string, extra = ''): string {
  const h = createHash('sha256');
  hashFileInto(h, modelFile);
  const model = loadModel(modelFile);
  const files = new Set<string>();
  for (const t of model.proto.graph.initializer) if (isExternal(t)) files.add(externalLocation(t, model.baseDir).path);
  for (const f of [...files].sort()) if (existsSync(f)) hashFileInto(h, f);
  h.update(extra);
  return h.digest('hex');
}

function hashFileInto(h: ReturnType<typeof createHash>, path: string): void {
  const fd = openSync(path, 'r');
  const chunk = Buffer.allocUnsafe(1 << 22);
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.byteLength, null);
      if (n === 0) break;
      h.update(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}
