import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hashFileInto } from '../util/file-hash';
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
