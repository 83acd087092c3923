import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { openProject } from '../../src/main/project/project';
import { editItem, redo, setReview, undo } from '../../src/main/story/edits';
import { getStoryboard, listFilms } from '../../src/main/story/film-reader';
import { useTempDir } from '../support/tmp';

describe('edit log', () => {
  const tmp = useTempDir();

  it('undoes and redoes edits in order, also after reopening the project', () => {
    const dir = join(tmp(), 'p');
    const p = createProjectWithSample(dir, true);
    const filmId = listFilms(p.db)[0].id;
    const original = getStoryboard(p.db, filmId);
    const f = original.frames[3];
    editItem(p.db, { type: 'frame', id: f.id, values: { description: 'First' }, label: 'one' });
    editItem(p.db, { type: 'frame', id: f.id, values: { description: 'Second' }, label: 'two' });
    setReview(p.db, [{ type: 'frame', id: f.id }, { type: 'qa', id: original.qa[0].id }], 'rejected', 'off-model');
    p.close();

    const q = openProject(dir);
    const after = getStoryboard(q.db, filmId);
    expect(after.frames[3]).toMatchObject({ description: 'Second', review: { state: 'rejected', note: 'off-model' } });
    expect(undo(q.db, filmId)?.label).toBe('Reject 2 items');
    expect(getStoryboard(q.db, filmId).frames[3].review.state).toBe('draft');
    expect(undo(q.db, filmId)?.label).toBe('two');
    expect(getStoryboard(q.db, filmId).frames[3].description).toBe('First');
    expect(redo(q.db, filmId)?.label).toBe('two');
    expect(getStoryboard(q.db, filmId).frames[3].description).toBe('Second');
    // A new edit discards what could still be redone.
    editItem(q.db, { type: 'frame', id: f.id, values: { scene: 'Elsewhere' }, label: 'three' });
    expect(redo(q.db, filmId)).toBeNull();
    expect(undo(q.db, filmId)?.label).toBe('three');
    expect(undo(q.db, filmId)?.label).toBe('two');
    expect(undo(q.db, filmId)?.label).toBe('one');
    expect(getStoryboard(q.db, filmId).frames[3].description).toBe(f.description);
    expect(undo(q.db, filmId)).toBeNull();
    q.close();
  });

  it('marks a rendered frame stale when its description changes, and undo clears it', () => {
    const p = createProjectWithSample(join(tmp(), 'p'), true);
    const filmId = listFilms(p.db)[0].id;
    const f = getStoryboard(p.db, filmId).frames[0];
    p.db.prepare("INSERT INTO render (frame_id, status, seed, model) VALUES (?, 'done', 20, 'tiny')").run(f.id);
    editItem(p.db, { type: 'frame', id: f.id, values: { description: f.description }, label: 'same' });
    expect(getStoryboard(p.db, filmId).frames[0].stale).toBe(false);
    editItem(p.db, { type: 'frame', id: f.id, values: { description: 'Changed' }, label: 'change' });
    expect(getStoryboard(p.db, filmId).frames[0].stale).toBe(true);
    undo(p.db, filmId);
    expect(getStoryboard(p.db, filmId).frames[0]).toMatchObject({ stale: false, description: f.description });
    p.close();
  });

  it('refuses unknown items and leaves nothing half-applied', () => {
    const p = createProjectWithSample(join(tmp(), 'p'), true);
    const filmId = listFilms(p.db)[0].id;
    const before = getStoryboard(p.db, filmId);
    expect(() => setReview(p.db, [{ type: 'frame', id: before.frames[0].id }, { type: 'frame', id: 999999 }], 'approved', null))
      .toThrowError(/No frame with id 999999/);
    expect(getStoryboard(p.db, filmId).frames[0].review.state).toBe('draft');
    p.close();
  });
});
