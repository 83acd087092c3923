import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Storyboard } from '../../src/shared/api/entities';
import type { FrameQuality } from '../../src/shared/api/methods-quality';
import { type AppContext, createProjectWithSample } from '../../src/main/app/context';
import { createAppContext } from '../../src/main/composition';
import { dispatch } from '../../src/main/api/dispatch';
import { importStoryJsFile } from '../../src/main/import/story-js';
import type { Project } from '../../src/main/project/project';
import { buildStoryIndex, type FrameRow } from '../../src/renderer/src/storyboard/rows';
import {
  emptyFilter, filterCounts, frameCharacters, frameTraits, narrowIndex, qualityOrder, storyOrder, visibleFrames,
  type FilterFacts, type FrameFilter,
} from '../../src/renderer/src/storyboard/filters';
import { buildGrid, clickSelect, columnsFor, gridMove } from '../../src/renderer/src/storyboard/grid';
import { loadLayout, loadSavedViews, saveSavedViews, VIEWS_KEY } from '../../src/renderer/src/stores/filter-storage';
import { dreamframeFixtureDir } from '../support/paths';

/**
 * The storyboard's filters on the release film (1,331 frames, imported from the story_js fixture) through
 * the real handlers: every count is checked against a SQL count on the project database, written
 * here independently of the filter code; then the grid layout, its 2-D moves and click selection.
 */

let dir = '';
let project: Project;
let context: AppContext;
let filmId = 0;
let board: Storyboard;

async function call<T>(method: string, input: unknown): Promise<T> {
  const out = await dispatch(context, method as never, input as never);
  if (!out.ok) throw new Error(out.error.message);
  return out.result as T;
}

const sqlCount = (where: string, ...params: unknown[]) => (project.db.prepare(`SELECT count(*) AS n FROM frame fr
  JOIN subchapter s ON s.id = fr.subchapter_id JOIN chapter c ON c.id = s.chapter_id WHERE c.film_id = ? AND (${where})`)
  .get(filmId, ...params) as { n: number }).n;

async function facts(query = ''): Promise<FilterFacts> {
  const res = await call<{ failedRender: number[]; textMatches: number[] | null }>('curation.frameFilters', { filmId, query });
  return { failedRender: new Set(res.failedRender), textMatches: res.textMatches ? new Set(res.textMatches) : null, quality: null };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dreamframe-filters-'));
  project = createProjectWithSample(join(dir, 'p'), false);
  filmId = importStoryJsFile(project, join(dreamframeFixtureDir, 'story_info_0.json')).filmId;
  context = createAppContext('test', project);
  const ids = (project.db.prepare(`SELECT fr.id FROM frame fr JOIN subchapter s ON s.id = fr.subchapter_id JOIN chapter c ON c.id = s.chapter_id
    WHERE c.film_id = ? ORDER BY fr.id`).all(filmId) as { id: number }[]).map((r) => r.id);
  // Some review states, stale flags and render attempts to filter on.
  await call('review.set', { items: ids.filter((_, i) => i % 7 === 0).map((id) => ({ type: 'frame', id })), state: 'approved' });
  await call('review.set', { items: ids.filter((_, i) => i % 11 === 3).map((id) => ({ type: 'frame', id })), state: 'rejected' });
  project.db.prepare(`UPDATE frame SET stale = 1 WHERE id IN (${ids.filter((_, i) => i % 13 === 5).join(',')})`).run();
  const render = project.db.prepare("INSERT INTO render (frame_id, variant, status, seed, model) VALUES (?, 0, ?, 0, 'm')");
  for (const id of ids.slice(0, 6)) render.run(id, 'failed');
  // Frame 0 failed and then rendered: its last attempt is no failure.
  render.run(ids[0], 'done');
  board = await call<Storyboard>('films.storyboard', { filmId });
});

afterAll(async () => {
  await context?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('storyboard filters on the 1,331-frame film', () => {
  it('counts each filter as the database does', async () => {
    const f = await facts();
    const counts = filterCounts(board.frames, board.characters, f, frameTraits(board.frames, board.characters));
    expect(counts.total).toBe(1331);
    expect(counts.review.approved).toBe(sqlCount("fr.review_state = 'approved'"));
    expect(counts.review.rejected).toBe(sqlCount("fr.review_state = 'rejected'"));
    expect(counts.review.draft).toBe(sqlCount("fr.review_state = 'draft'"));
    expect(counts.stale).toBe(sqlCount('fr.stale = 1'));
    expect(counts.notRendered).toBe(sqlCount("NOT EXISTS (SELECT 1 FROM render r WHERE r.frame_id = fr.id AND r.is_keyframe = 1 AND r.status = 'done')"));
    expect(counts.failedRender).toBe(5);
    expect(counts.failedRender).toBe(sqlCount("(SELECT status FROM render r WHERE r.frame_id = fr.id ORDER BY r.id DESC LIMIT 1) = 'failed'"));
    for (const { location, count } of counts.locations) expect(count).toBe(sqlCount('lower(trim(fr.scene)) = ?', location));
    for (const c of board.characters) {
      const n = counts.characters.find((x) => x.name === c.name)!.count;
      expect(n).toBe(sqlCount("instr(lower(fr.description), lower(?)) > 0 OR instr(lower(fr.description), lower(?)) > 0", c.name, c.lookalike));
      expect(n).toBeGreaterThan(0);
    }
  });

  it('combines filters: any of the chosen review states, all of the rest', async () => {
    const f = await facts();
    const traits = frameTraits(board.frames, board.characters);
    const order = storyOrder(buildStoryIndex(board));
    const filter: FrameFilter = { ...emptyFilter(), review: ['approved', 'rejected'], stale: true };
    const shown = visibleFrames(board.frames, filter, f, traits, order);
    expect(shown.length).toBe(sqlCount("fr.review_state IN ('approved', 'rejected') AND fr.stale = 1"));
    const loc = filterCounts(board.frames, board.characters, f, traits).locations[0];
    const byLocation = visibleFrames(board.frames, { ...emptyFilter(), location: loc.location, review: ['draft'] }, f, traits, order);
    expect(byLocation.length).toBe(sqlCount("lower(trim(fr.scene)) = ? AND fr.review_state = 'draft'", loc.location));
  });

  it('finds the words of a query in any order across descriptions, lines and QA', async () => {
    const a = await facts("shop blacksmith's");
    const b = await facts("BLACKSMITH'S   shop");
    expect([...a.textMatches!].sort()).toEqual([...b.textMatches!].sort());
    // Oracle from the storyboard itself: the frame's description and scene, its lines, its subchapter's and chapter's QA.
    const index = buildStoryIndex(board);
    const subOf = new Map(board.subchapters.map((x) => [x.id, x]));
    const expected = new Set<number>();
    const firstOfSub = new Map<number, FrameRow>();
    for (const r of index.rows) if (r.kind === 'frame' && !firstOfSub.has(r.frame.subchapterId)) firstOfSub.set(r.frame.subchapterId, r);
    for (const r of index.rows) {
      if (r.kind !== 'frame') continue;
      const sub = subOf.get(r.frame.subchapterId)!;
      const leading = firstOfSub.get(sub.id) === r ? board.dialogue.filter((d) => d.subchapterId === sub.id && d.afterFrame === 0) : [];
      const qa = board.qa.filter((x) => x.subchapterId === sub.id || (x.scope === 'chapter' && x.chapterId === sub.chapterId));
      const text = [r.frame.description, r.frame.scene, ...[...leading, ...r.dialogue].map((d) => `${d.speaker ?? ''} ${d.text}`),
        ...qa.map((x) => `${x.question} ${x.answer}`)].join('\n').toLowerCase();
      if (text.includes('shop') && text.includes("blacksmith's")) expected.add(r.frame.id);
    }
    expect(expected.size).toBeGreaterThan(0);
    expect([...a.textMatches!].sort((x, y) => x - y)).toEqual([...expected].sort((x, y) => x - y));
    // One word from a frame's own description and one from the line spoken after it: only found together.
    const row = index.rows.find((r): r is FrameRow => r.kind === 'frame' && r.dialogue.length > 0
      && /\b[a-z]{6,}\b/i.test(r.dialogue[0].text))!;
    const lineWord = row.dialogue[0].text.match(/\b[a-z]{6,}\b/i)![0];
    const descWord = row.frame.description.split(/\s+/).find((w) => /^[a-z]{5,}$/i.test(w))!;
    const both = await facts(`${lineWord} ${descWord}`);
    expect(both.textMatches!.has(row.frame.id)).toBe(true);
    const nowhere = await facts(`${lineWord} zzqqxx`);
    expect(nowhere.textMatches!.size).toBe(0);
    expect((await facts('   ')).textMatches).toBeNull();
  });

  it('shows exactly the frames with a quality flag, and sorts worst first', () => {
    const [a, b, c] = board.frames;
    const q = (frameId: number, flags: string[], textCosine: number | null): FrameQuality => ({
      frameId, chapterId: 1, subchapterId: 1, index: 0, sha256: null, textCosine, descriptionClipScore: null, prev: null, next: null,
      flags: flags.map((reason) => ({ reason: reason as FrameQuality['flags'][number]['reason'], z: 4, message: reason })), reviewState: 'draft',
    });
    const quality = new Map([[a.id, q(a.id, ['lpips_jump'], 0.3)], [b.id, q(b.id, [], 0.1)], [c.id, q(c.id, ['lpips_jump', 'clip_jump'], 0.25)]]);
    const f: FilterFacts = { failedRender: new Set(), textMatches: null, quality };
    const traits = frameTraits(board.frames, board.characters);
    const order = storyOrder(buildStoryIndex(board));
    expect(visibleFrames(board.frames, { ...emptyFilter(), qualityFlag: 'any' }, f, traits, order)).toEqual([a.id, c.id]);
    expect(visibleFrames(board.frames, { ...emptyFilter(), qualityFlag: 'clip_jump' }, f, traits, order)).toEqual([c.id]);
    const counts = filterCounts(board.frames, board.characters, f, traits).quality!;
    expect(counts).toEqual({ any: 2, lpips_jump: 2, clip_jump: 1, low_description_score: 0 });
    // More flags first, then the lower description cosine; unscored frames last in story order.
    expect(qualityOrder([board.frames[3].id, a.id, b.id, c.id], quality)).toEqual([c.id, a.id, b.id, board.frames[3].id]);
    // The flags never change a review state.
    expect(board.frames.find((x) => x.id === a.id)!.review.state).toBe(a.review.state);
  });

  it('narrows the index: headers only above remaining frames, film labels kept, flat when sorted', () => {
    const full = buildStoryIndex(board);
    const pick = [full.rows[full.frameRows[0]], full.rows[full.frameRows[700]], full.rows[full.frameRows[1330]]] as FrameRow[];
    const narrow = narrowIndex(full, { frameIds: pick.map((r) => r.frame.id), flat: false });
    expect(narrow.frameRows.length).toBe(3);
    const frames = narrow.frameRows.map((i) => narrow.rows[i] as FrameRow);
    expect(frames.map((r) => r.label)).toEqual(pick.map((r) => r.label));
    expect(frames.map((r) => r.ordinal)).toEqual([0, 1, 2]);
    // Each remaining frame sits under its own subchapter header, with a chapter header where the chapter changes.
    const kinds = narrow.rows.map((r) => r.kind);
    expect(kinds.filter((k) => k === 'subchapter').length).toBe(new Set(pick.map((r) => r.frame.subchapterId)).size);
    expect(kinds[0]).toBe('chapter');
    expect(narrow.subchapterStarts.length).toBe(new Set(pick.map((r) => r.frame.subchapterId)).size);
    const flat = narrowIndex(full, { frameIds: [pick[2].frame.id, pick[0].frame.id], flat: true });
    expect(flat.rows.map((r) => r.kind)).toEqual(['frame', 'frame']);
    expect((flat.rows[0] as FrameRow).label).toBe(pick[2].label);
    expect(narrowIndex(full, null)).toBe(full);
  });

  it('finds characters by name or by the lookalike text the prompts use', () => {
    const chars = [{ name: 'Darius', lookalike: 'a man looks like Gerard Butler in brown' }];
    expect(frameCharacters({ description: 'In the shop, A man looks like Gérard Butler in brown stands.' }, chars)).toEqual(['Darius']);
    expect(frameCharacters({ description: 'darius waves' }, chars)).toEqual(['Darius']);
    expect(frameCharacters({ description: 'a man looks like Sean Bean' }, chars)).toEqual([]);
  });
});

describe('grid', () => {
  it('packs each subchapter into rows of N cards and moves in two dimensions', () => {
    const index = buildStoryIndex(board);
    const grid = buildGrid(index, 4);
    const cards = grid.rows.filter((r) => r.kind === 'cards');
    expect(cards.every((r) => r.kind === 'cards' && r.cards.length >= 1 && r.cards.length <= 4)).toBe(true);
    expect(cards.reduce((n, r) => n + (r.kind === 'cards' ? r.cards.length : 0), 0)).toBe(1331);
    // Every cards row holds frames of one subchapter.
    for (const r of cards) if (r.kind === 'cards') expect(new Set(r.cards.map((c) => c.frame.subchapterId)).size).toBe(1);
    // Down from the second card of the first row is the second card of the next row (same column).
    const first = cards[0].kind === 'cards' ? cards[0].cards : [];
    const second = cards[1].kind === 'cards' ? cards[1].cards : [];
    expect(gridMove(grid, first[1].ordinal, 'down')).toBe(second[Math.min(1, second.length - 1)].ordinal);
    expect(gridMove(grid, second[0].ordinal, 'up')).toBe(first[0].ordinal);
    expect(gridMove(grid, first[1].ordinal, 'right')).toBe(first[1].ordinal + 1);
    expect(gridMove(grid, 0, 'up')).toBe(0);
    expect(gridMove(grid, 1330, 'down')).toBe(1330);
    // A shorter row below: the move lands on its last card.
    const shortAt = cards.findIndex((r, i) => i > 0 && r.kind === 'cards' && r.cards.length < 4);
    const above = cards[shortAt - 1];
    const short = cards[shortAt];
    if (above.kind === 'cards' && short.kind === 'cards' && above.cards.length === 4) {
      expect(gridMove(grid, above.cards[3].ordinal, 'down')).toBe(short.cards[short.cards.length - 1].ordinal);
    }
    expect(columnsFor(1000, 180, 8)).toBe(5);
    expect(columnsFor(50, 180, 8)).toBe(1);
  });

  it('selects with click, Shift-click ranges and Ctrl-click toggles', () => {
    const at = (o: number) => (o >= 0 && o < 100 ? 1000 + o : undefined);
    let s = clickSelect(new Set(), null, 5, { shift: false, toggle: false }, at);
    expect([...s.selected]).toEqual([1005]);
    s = clickSelect(s.selected, s.anchor, 9, { shift: true, toggle: false }, at);
    expect([...s.selected].sort()).toEqual([1005, 1006, 1007, 1008, 1009]);
    s = clickSelect(s.selected, s.anchor, 7, { shift: false, toggle: true }, at);
    expect(s.selected.has(1007)).toBe(false);
    s = clickSelect(s.selected, s.anchor, 2, { shift: true, toggle: false }, at);
    expect([...s.selected].sort()).toEqual([1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009]);
    s = clickSelect(s.selected, s.anchor, 3, { shift: false, toggle: false }, at);
    expect([...s.selected]).toEqual([1003]);
  });
});

describe('saved views and layout storage', () => {
  it('keeps views across a reload and drops malformed entries', () => {
    const data = new Map<string, string>();
    const storage = { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v) };
    saveSavedViews([{ name: 'Stale drafts', filter: { ...emptyFilter(), review: ['draft'], stale: true } }], storage);
    expect(loadSavedViews(storage)).toEqual([{ name: 'Stale drafts', filter: { ...emptyFilter(), review: ['draft'], stale: true } }]);
    data.set(VIEWS_KEY, JSON.stringify([{ name: '', filter: {} }, { name: 'x', filter: { review: ['bogus', 'approved'], qualityFlag: 'nope', stale: 'yes' } }, 3]));
    expect(loadSavedViews(storage)).toEqual([{ name: 'x', filter: { ...emptyFilter(), review: ['approved'] } }]);
    data.set(VIEWS_KEY, '{not json');
    expect(loadSavedViews(storage)).toEqual([]);
    expect(loadLayout(storage)).toEqual({ mode: 'list', cardWidth: 180 });
  });
});
