import { z } from 'zod';
import { ModelImportParams } from '../../shared/api/methods-models';
import type { JobKind } from '../jobs/runner';
import { importIntoLibrary, type Importer } from './library';

export const ModelImportJobParams = ModelImportParams.extend({
  /** The library folder the model goes to (fixed when the job is queued, so a later setting change does not move it). */
  libraryDir: z.string().min(1),
}).strict();
export type ModelImportJobParams = z.infer<typeof ModelImportJobParams>;

/** Share of the progress bar spent hashing the source (the conversion is the rest). */
const HASH_SHARE = 0.1;

/**
 * Importing into the model library as a job (lane "import", so it never waits behind a render): progress is
 * hashing then conversion by bytes; cancel aborts the conversion, which leaves nothing behind. An interrupted
 * import starts over when resumed (only the source hash is remembered, in the library's hash cache).
 */
export function modelImportJobKind(importer: Importer): JobKind<ModelImportJobParams> {
  return {
    kind: 'model.import',
    lane: 'import',
    params: ModelImportJobParams,
    async run(ctx) {
      const { libraryDir, ...params } = ctx.params;
      const { model, reused } = await importIntoLibrary(libraryDir, params, importer, {
        signal: ctx.signal,
        onHashing: () => ctx.progress(0, 'Checking and hashing the source'),
        onProgress: (p) => ctx.progress(
          HASH_SHARE + (1 - HASH_SHARE) * (p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 0),
          `${p.stage}: ${p.tensorsDone}/${p.tensorsTotal} tensors`,
        ),
      });
      if (ctx.signal.aborted) return;
      ctx.saveCheckpoint({ modelId: model.id, reused });
      ctx.events.emit('models.changed', { dir: libraryDir });
      ctx.progress(1, reused ? `Already in the library as "${model.name}" (${model.id})` : `Imported "${model.name}" as ${model.id}`);
    },
  };
}
