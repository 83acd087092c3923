import { describe, expect, it } from 'vitest';
import { methods } from '../../src/shared/api/contract';
import { MAX_MESSAGE_BYTES } from '../../src/main/transports/server';

/**
 * The serve transport's message limit and the contract's limits agree: the largest request the contract's bounded
 * fields allow, serialised as the renderer's client does (JSON.stringify), fits in one WebSocket message. Each case
 * is checked against the contract first, so a case that the contract refuses cannot pass here by accident.
 */
function message(method: keyof typeof methods, input: unknown): number {
  const parsed = methods[method].input.safeParse(input);
  expect(parsed.success, `${method} input is valid`).toBe(true);
  return Buffer.byteLength(JSON.stringify({ id: Number.MAX_SAFE_INTEGER, method, input }));
}

describe('WebSocket message limit vs the contract', () => {
  it('fits review.set with 100,000 items at the longest ids and the longest note', () => {
    const items = Array.from({ length: 100_000 }, () => ({ type: 'dialogue', id: Number.MAX_SAFE_INTEGER }));
    // A control character serialises as \u00XX: six bytes per character, the worst case for a string.
    const bytes = message('review.set', { items, state: 'approved', note: '\u0001'.repeat(2000) });
    expect(bytes).toBeGreaterThan(4 * 1024 * 1024);
    expect(bytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  });

  it('fits render and export id lists of 100,000 ids', () => {
    const ids = Array.from({ length: 100_000 }, () => Number.MAX_SAFE_INTEGER);
    expect(message('export.stats', { filmIds: ids, includeDrafts: true })).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(message('render.start', { filmId: 1, scope: { kind: 'frames', frameIds: ids } })).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  });

  it('fits plot.create with 1,000 themes of 2,000 characters, every one escaped', () => {
    const themes = Array.from({ length: 1000 }, () => '\u0001'.repeat(2000));
    const bytes = message('plot.create', { themes });
    expect(bytes).toBeGreaterThan(11 * 1024 * 1024);
    expect(bytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  });
});
