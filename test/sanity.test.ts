import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturesDir } from './support/paths';

describe('test environment', () => {
  it('finds the shared fixtures beside the checkout', () => {
    expect(existsSync(fixturesDir)).toBe(true);
  });
});
