import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importModel, tempFolderFor } from '../../../src/main/models/import/index';
import { tinySd15Dir } from '../../support/paths';
import { useTempDir } from '../../support/tmp';

describe('cancelling an import (signal: Ctrl-C in the CLI, cancel in the app)', () => {
  const tmp = useTempDir('dreamframe-model-abort-');

  it('stops at the next tensor, removes its temporary folder and leaves no output', async () => {
    const out = join(tmp(), 'model');
    const controller = new AbortController();
    let tensorsAtAbort = 0;
    const run = importModel(join(tinySd15Dir, 'checkpoints/diffusers'), out, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.stage === 'unet' && p.tensorsDone > 0 && !controller.signal.aborted) {
          tensorsAtAbort = p.tensorsDone;
          controller.abort();
        }
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'import.aborted' });
    expect(tensorsAtAbort).toBeGreaterThan(0);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(tempFolderFor(out))).toBe(false);
  });
});
