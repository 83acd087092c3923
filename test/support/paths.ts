import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (the folder holding package.json). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** ../shared beside the checkout: paper, docs and fixtures. Override with DREAMFRAME_SHARED. */
export const sharedDir = process.env.DREAMFRAME_SHARED ?? resolve(repoRoot, '../shared');

export const fixturesDir = resolve(sharedDir, 'fixtures');
export const tinySd15Dir = resolve(fixturesDir, 'tiny-sd15');
export const tinySdxlDir = resolve(fixturesDir, 'tiny-sdxl');
export const dreamframeFixtureDir = resolve(fixturesDir, 'dreamframe');
