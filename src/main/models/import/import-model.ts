import { resolve } from 'node:path';
import { openModelSource } from '../source/index';
import { checkOutDir, writeImportedFolder } from './write-folder';
import type { ImportedModelInfo, ImportOptions } from './types';

/**
 * `dreamframe model import`: opens a single-file checkpoint or a diffusers folder (models/source) and writes the
 * ONNX folder at `outDir` (optimum layout, float32 or --fp16), atomically: `outDir` appears only when complete.
 * An `outDir` that exists and is not empty is refused before anything is read.
 */
export async function importModel(input: string, outDir: string, opts: ImportOptions = {}): Promise<ImportedModelInfo> {
  const out = resolve(outDir);
  checkOutDir(out);
  opts.onProgress?.({ bytesDone: 0, bytesTotal: 0, tensorsDone: 0, tensorsTotal: 0, stage: 'reading' });
  const source = await openModelSource(resolve(input), {
    config: opts.config,
    family: opts.family,
    prediction: opts.prediction === 'v_prediction' ? 'v' : opts.prediction,
    vae: opts.vae,
    skipHash: opts.sourceHash !== undefined,
  });
  if (opts.sourceHash !== undefined) source.sourceHash = opts.sourceHash;
  try {
    return await writeImportedFolder(source, out, { dtype: opts.fp16 ? 'float16' : 'float32', signal: opts.signal, onProgress: opts.onProgress });
  } finally {
    await source.close();
  }
}
