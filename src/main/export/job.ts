import type { JobKind } from '../jobs/runner';
import { runExport } from './exporter';
import { ExportOptions } from './types';

/**
 * Export as a persisted job (lane "export"): progress and cancel come from the runner; a cancelled,
 * failed or crash-interrupted export resumes by running again, which reuses every clip already
 * finished (the export folder's state file) — the checkpoint lists them for the UI.
 */
export const exportJobKind: JobKind<ExportOptions> = {
  kind: 'export',
  lane: 'export',
  params: ExportOptions,
  async run(ctx) {
    const previous = (ctx.checkpoint as { clipsDone?: string[] } | null)?.clipsDone ?? [];
    const done = new Set(previous);
    const result = await runExport(ctx.project, ctx.params, {
      signal: ctx.signal,
      progress: (fraction, message) => ctx.progress(fraction, message),
      onClip: (relPath) => {
        done.add(relPath);
        ctx.saveCheckpoint({ clipsDone: [...done] });
      },
    });
    ctx.saveCheckpoint({ clipsDone: [...done], manifestPath: result.manifestPath, clips: result.clips, pruned: result.pruned });
    const removed = result.pruned.removed.length > 0 ? `, ${result.pruned.removed.length} no longer exported removed` : '';
    ctx.progress(1, `Exported ${result.manifest.files.length} files (${result.clips.encoded} clips encoded, `
      + `${result.clips.reused} reused${removed}) to ${result.outDir}`);
  },
};
