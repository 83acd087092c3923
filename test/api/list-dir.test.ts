import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dispatch } from '../../src/main/api/dispatch';
import type { AppContext } from '../../src/main/app/context';
import { createAppContext } from '../../src/main/composition';
import { useTempDir } from '../support/tmp';

/** fs.listDir: what the folder pickers browse (issue #17 defect 5) — folders, and files only of the asked kinds. */

const tempDir = useTempDir();
let ctx: AppContext | null = null;
afterEach(async () => { await ctx?.close(); ctx = null; });

async function list(input: unknown): Promise<any> {
  ctx ??= createAppContext('test');
  return dispatch(ctx, 'fs.listDir', input);
}

describe('fs.listDir', () => {
  it('lists sub-folders sorted, files only with the asked extensions, no hidden entries, links followed', async () => {
    const dir = tempDir();
    for (const d of ['b-models', 'A-out', 'item10', 'item9', '.hidden']) mkdirSync(join(dir, d));
    writeFileSync(join(dir, 'style.safetensors'), 'x');
    writeFileSync(join(dir, 'notes.txt'), 'x');
    symlinkSync(join(dir, 'b-models'), join(dir, 'linked'));
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
    const folders = await list({ path: dir });
    expect(folders.ok && folders.result).toEqual({
      path: dir, parent: join(dir, '..'), dirs: ['A-out', 'b-models', 'item9', 'item10', 'linked'], files: [], truncated: false,
    });
    const withFiles = await list({ path: join(dir, 'item9', '..'), extensions: ['.safetensors', '.PT'] });
    expect(withFiles.ok && withFiles.result).toMatchObject({ path: dir, files: ['style.safetensors'] });
    const home = await list({});
    expect(home.ok && home.result.path).toBe(homedir());
    const root = await list({ path: '/' });
    expect(root.ok && root.result.parent).toBeNull();
  });

  it('refuses relative paths, missing folders, files and bad extensions with the path named', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a-file'), 'x');
    const cases: [unknown, string, RegExp][] = [
      [{ path: 'relative/path' }, 'invalid_input', /not an absolute path/],
      [{ path: join(dir, 'missing') }, 'not_found', /missing does not exist/],
      [{ path: join(dir, 'a-file') }, 'not_a_folder', /a-file is a file/],
      [{ path: dir, extensions: ['safetensors'] }, 'invalid_input', /extensions/],
      [{ path: '/tmp\0x' }, 'invalid_input', /NUL/],
    ];
    for (const [input, code, message] of cases) {
      const out = await list(input);
      expect(out.ok).toBe(false);
      expect(out.error).toMatchObject({ code, message: expect.stringMatching(message) });
    }
  });
});
