import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ExportFormat } from '../../shared/api/methods-export';
import { AppError } from '../../shared/errors';
import { writeFileAtomic } from '../util/atomic-write';
import { readManifestFiles } from './prune';
import type { ExportFolder } from './safe-paths';

/**
 * Which files in an export folder an export of ours wrote, so that an export never replaces anything
 * else (a curator's own `qa.jsonl`, a video of theirs at a clip's path). A file is ours when
 *  - a manifest of any format in the folder lists it, or the clip state file records it, or
 *  - it is in `dreamframe-state/owned.json`, where every path is claimed *before* it is first written:
 *    a crash between writing a file and writing the manifest that lists it leaves the claim behind.
 * A manifest is ours when it says it was written by DreamFrame Studio. Anything else that already
 * exists at a path the export wants is refused, by name, before the export writes a byte.
 */

export const OWNED_FILE = 'dreamframe-state/owned.json';

const OwnedState = z.object({ version: z.literal(1), paths: z.array(z.string()) });

export class ExportOwnership {
  private readonly owned = new Set<string>();

  constructor(private readonly folder: ExportFolder, manifestName: (format: ExportFormat) => string, recordedClips: readonly { path: string }[]) {
    const file = folder.existingFile(OWNED_FILE);
    if (file) {
      try {
        const parsed = OwnedState.safeParse(JSON.parse(readFileSync(file, 'utf8')));
        if (parsed.success) for (const p of parsed.data.paths) this.owned.add(p);
      } catch {
        // An unreadable claim list only means fewer files count as ours: the safe direction.
      }
    }
    for (const format of ExportFormat.options) {
      const read = readManifestFiles(folder, manifestName(format));
      if (read.state === 'ok') for (const f of read.files) this.owned.add(f.path);
      if (isOurManifest(folder, manifestName(format))) this.owned.add(manifestName(format));
    }
    for (const c of recordedClips) this.owned.add(c.path);
  }

  /**
   * Claims the paths this export is about to write: refuses (naming them) any that already exist and are
   * not ours, then records the claim so a re-run after a crash still knows them.
   */
  claim(paths: readonly string[]): void {
    const relPaths = paths.map((p) => this.folder.canonical(p));
    const foreign = relPaths.filter((p) => !this.owned.has(p) && this.folder.occupied(p));
    if (foreign.length > 0) {
      const named = foreign.slice(0, 5).map((p) => join(this.folder.root, ...p.split('/')));
      const more = foreign.length > 5 ? ` (and ${foreign.length - 5} more)` : '';
      throw new AppError('export_file_not_ours',
        `${named.join(', ')}${more} already ${foreign.length === 1 ? 'exists' : 'exist'} and ${foreign.length === 1 ? 'was' : 'were'} not written by a DreamFrame export; `
          + 'move it away or export into another folder (nothing was written)',
        { files: named, outDir: this.folder.root });
    }
    const added = relPaths.filter((p) => !this.owned.has(p));
    if (added.length === 0) return;
    for (const p of added) this.owned.add(p);
    this.save();
  }

  /**
   * Gives up paths whose files an export removed (pruning): a file someone puts there later is theirs.
   * Paths a manifest or the clip state still lists stay ours through those on the next run.
   */
  release(relPaths: readonly string[]): void {
    const held = relPaths.filter((p) => this.owned.delete(p));
    if (held.length > 0) this.save();
  }

  private save(): void {
    writeFileAtomic(this.folder.path(OWNED_FILE), `${JSON.stringify({ version: 1, paths: [...this.owned].sort() }, null, 1)}\n`);
  }
}

/** A manifest file we wrote (any version): JSON whose generator is DreamFrame Studio. */
function isOurManifest(folder: ExportFolder, name: string): boolean {
  const file = folder.existingFile(name);
  if (!file) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { generator?: unknown })?.generator === 'DreamFrame Studio';
  } catch {
    return false;
  }
}
