import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importCycles, importGraph } from './import-graph';

const root = resolve(__dirname, '../..');

describe('import graph of src/', () => {
  it('has no import cycles (the composition root wires areas together, see docs/ARCHITECTURE.md)', () => {
    const cycles = importCycles(importGraph(root, 'src')).map((c) => c.join(' → '));
    expect(cycles).toEqual([]);
  });

  it('finds a cycle when one exists (the check itself works)', () => {
    const graph = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]);
    expect(importCycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
    expect(importCycles(new Map([['a.ts', ['b.ts']], ['b.ts', []]]))).toEqual([]);
  });

  it('sees the real src/ imports, type-only and aliased ones included', () => {
    const graph = importGraph(root, 'src');
    expect(graph.get('src/main/api/dispatch.ts')).toContain('src/shared/api/contract.ts');
    expect(graph.size).toBeGreaterThan(200);
  });
});
