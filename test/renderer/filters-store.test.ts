import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPinia, setActivePinia } from 'pinia';
import { nextTick } from 'vue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppContext, createProjectWithSample } from '../../src/main/app/context';
import { createAppContext } from '../../src/main/composition';
import { useFiltersStore } from '../../src/renderer/src/stores/filters';
import { useStoryboardStore } from '../../src/renderer/src/stores/storyboard';
import type { FrameRow } from '../../src/renderer/src/storyboard/rows';
import { installInProcessApi } from './in-process-api';

/**
 * The filters store on the real handlers and event bus (in process): a filter narrows the storyboard
 * store's index (what the list, grid and keys use), follows edits through `data.changed`, and keeps the
 * focus in place when the focused frame leaves the view.
 */

let dir: string;
let context: AppContext;
let filmId: number;

const settle = async () => {
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 20));
    await nextTick();
  }
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'df-filters-store-'));
  const project = createProjectWithSample(join(dir, 'p'), true);
  filmId = (project.db.prepare('SELECT id FROM film').get() as { id: number }).id;
  context = createAppContext('test', project);
});
afterAll(async () => {
  await context.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('filters store against the real handlers', () => {
  it('narrows the storyboard, follows review edits, and keeps the focus in place when its frame leaves the view', async () => {
    setActivePinia(createPinia());
    installInProcessApi(() => context);
    const storyboard = useStoryboardStore();
    await storyboard.open(filmId);
    const filters = useFiltersStore();
    await settle();
    const total = storyboard.frameCount;
    expect(total).toBe(24);
    expect(filters.counts.review.draft).toBe(24);

    filters.filter.review = ['draft'];
    await settle();
    expect(storyboard.frameCount).toBe(24);
    storyboard.focusOrdinal(5);
    const fifth = storyboard.focusedRow!.frame.id;
    const sixth = (storyboard.index.rows[storyboard.index.frameRows[6]] as FrameRow).frame.id;
    await storyboard.setReview([fifth], 'approved');
    await settle();
    // The approved frame left the "Draft" view: 23 shown, the focus on the frame that followed it.
    expect(storyboard.frameCount).toBe(23);
    expect(storyboard.index.frameOrdinalById.has(fifth)).toBe(false);
    expect(storyboard.focusedRow!.frame.id).toBe(sixth);
    expect(filters.counts.review).toEqual({ draft: 23, approved: 1, rejected: 0 });
    // Labels keep the film's numbering.
    expect(storyboard.focusedRow!.label).toBe((storyboard.fullIndex.rows[storyboard.fullIndex.frameRows[6]] as FrameRow).label);

    // Text search goes through the server; the words may come in any order.
    filters.filter.review = [];
    const words = storyboard.focusedRow!.frame.description.split(/\s+/).filter((w) => /^[a-z]{5,}$/i.test(w)).slice(0, 2).reverse().join(' ');
    filters.filter.text = words;
    await settle();
    await new Promise((r) => setTimeout(r, 250));
    await settle();
    expect(filters.textPending).toBe(false);
    expect(storyboard.index.frameOrdinalById.has(sixth)).toBe(true);
    expect(storyboard.frameCount).toBeLessThan(total);

    filters.reset();
    await settle();
    expect(storyboard.view).toBeNull();
    expect(storyboard.frameCount).toBe(total);
    expect(storyboard.focusedRow!.frame.id).toBe(sixth);
  });
});
