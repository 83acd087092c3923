import { describe, expect, it } from 'vitest';
import type { Storyboard } from '../../src/shared/api/entities';
import { buildStoryIndex } from '../../src/renderer/src/storyboard/rows';
import { cleanReasons, DEFAULT_REASONS, nextUnreviewedOrdinal } from '../../src/renderer/src/stores/review-flow';
import { checkSettingsDraft, fieldErrorsOf } from '../../src/renderer/src/views/curation/render-settings-form';
import { RenderSettings } from '../../src/shared/api/methods-render';

/** The review flow's pure parts and the render settings form's checks (issue #17 part A). */

function boardOf(states: ('draft' | 'approved' | 'rejected')[]): Storyboard {
  return {
    film: { id: 1 } as Storyboard['film'],
    characters: [],
    chapters: [{ id: 1, position: 0, title: 'C', scene: '', summary: '' }],
    subchapters: [{ id: 1, chapterId: 1, position: 0, title: 'S', scene: '', summary: '' }],
    frames: states.map((state, i) => ({
      id: i + 1, subchapterId: 1, position: i, description: `frame ${i}`, scene: '', review: { state, note: null }, stale: false,
      thumbnail: { kind: 'placeholder' as const, key: `frame/${i + 1}` },
    })),
    dialogue: [],
    qa: [],
  } as unknown as Storyboard;
}

describe('next unreviewed frame', () => {
  it('finds the next draft after the focused frame, wrapping around, and -1 when none is left', () => {
    const index = buildStoryIndex(boardOf(['draft', 'approved', 'rejected', 'draft', 'approved']));
    expect(nextUnreviewedOrdinal(index, 0)).toBe(3);
    expect(nextUnreviewedOrdinal(index, 3)).toBe(0);
    expect(nextUnreviewedOrdinal(index, 4)).toBe(0);
    expect(nextUnreviewedOrdinal(buildStoryIndex(boardOf(['approved', 'rejected'])), 0)).toBe(-1);
    // The focused frame itself counts last: the only draft is found again after a full round.
    expect(nextUnreviewedOrdinal(buildStoryIndex(boardOf(['approved', 'draft'])), 1)).toBe(1);
  });
});

describe('rejection reasons', () => {
  it('keeps a trimmed, unique, bounded list', () => {
    expect(DEFAULT_REASONS).toEqual(['off-style', 'wrong content', 'artifact', 'text mismatch']);
    expect(cleanReasons(['  artifact ', 'artifact', '', 'x'.repeat(150), 'blur'])).toEqual(['artifact', 'x'.repeat(100), 'blur']);
    expect(cleanReasons(Array.from({ length: 20 }, (_, i) => `r${i}`))).toHaveLength(12);
  });
});

describe('render settings form', () => {
  const ok = RenderSettings.parse({ model: '/m', width: 512, height: null });

  it('accepts good values and names each bad field in words', () => {
    expect(checkSettingsDraft(ok)).toEqual({});
    const bad = { ...ok, steps: '' as unknown as number, width: 63, height: 4, guidance: Number.NaN, variants: 0 };
    expect(checkSettingsDraft(bad)).toEqual({
      steps: 'Steps: enter a whole number from 1 to 500',
      width: 'Width 63 is not a multiple of 8; try 56 or 64',
      height: "Height: enter a whole number from 8 to 4096, or leave it empty for the model's size",
      guidance: 'Guidance: enter a number from 0 to 50',
      variants: 'Variants: enter a whole number from 1 to 16',
    });
  });

  it('turns the server refusals into field messages, never a raw $.settings path', () => {
    expect(fieldErrorsOf({ message: 'x', details: { fields: { model: 'Model folder /m does not exist' } } }))
      .toEqual({ model: 'Model folder /m does not exist' });
    expect(fieldErrorsOf(Object.assign(new Error('Invalid input for render.setSettings: $.settings.steps: Expected number'), {
      details: { issues: [{ path: '$.settings.steps', message: 'Expected number, received string' }] },
    }))).toEqual({ steps: 'Steps: Expected number, received string' });
    expect(fieldErrorsOf(new Error('connection lost'))).toEqual({ form: 'connection lost' });
  });
});
