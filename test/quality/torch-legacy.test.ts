import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/shared/errors';
import { readTorchStateDict } from '../../src/main/quality/torch-weights';
import { useTempDir } from '../support/tmp';
import { QUALITY } from './fixture';

/** The legacy torch.save container (lpips' alex.pth) read through the restricted pickle reader. */

const MAGIC = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]; // 0x1950a86a20f9469cfc6c, little-endian
const header = [0x80, 0x02, 0x8a, 0x0a, ...MAGIC, 0x2e, 0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e, 0x80, 0x02, 0x7d, 0x2e];
const ascii = (s: string) => [...Buffer.from(s, 'latin1')];

function caught(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected an error');
}

describe('legacy torch.save files', () => {
  const tmp = useTempDir();

  it('refuses a legacy file whose state pickle calls os.system, naming it, and runs nothing', () => {
    const marker = join(tmp(), 'ran');
    const evil = [0x80, 0x02, 0x63, ...ascii('os\nsystem\n'), 0x55, ascii(`touch ${marker}`).length, ...ascii(`touch ${marker}`), 0x85, 0x52, 0x2e];
    const file = join(tmp(), 'evil.pth');
    writeFileSync(file, Buffer.from([...header, ...evil]));
    const err = caught(() => readTorchStateDict(file));
    expect(err.code).toBe('style.pickle_refused');
    expect(err.message).toMatch(/evil\.pth: .*os\.system/);
    expect(() => readFileSync(marker)).toThrow();
  });

  it('refuses a file with the wrong magic number, and names a storage cut short', () => {
    const bad = join(tmp(), 'bad.pth');
    writeFileSync(bad, Buffer.from([0x80, 0x02, 0x8a, 0x0a, ...MAGIC.map((b) => b ^ 1), 0x2e]));
    expect(caught(() => readTorchStateDict(bad)).message).toMatch(/bad\.pth: .*magic/);
    const real = readFileSync(join(QUALITY, 'lpips', 'alex.pth'));
    const cut = join(tmp(), 'cut.pth');
    writeFileSync(cut, real.subarray(0, real.length - 100));
    expect(caught(() => readTorchStateDict(cut)).message).toMatch(/cut\.pth: storage \S+ runs past the end of the file/);
  });
});
