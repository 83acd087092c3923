import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { runReview } from '../../src/main/cli/commands/review';
import { openProject, type Project } from '../../src/main/project/project';
import { undo } from '../../src/main/story/edits';
import { getStoryboard } from '../../src/main/story/film-reader';
import { repoRoot } from '../support/paths';
import { useTempDir } from '../support/tmp';

/** `dreamframe review`: headless approve / reject / reset through the app's edit log. */

function states(p: Project) {
  const b = getStoryboard(p.db, 1);
  return {
    frames: b.frames.map((f) => f.review.state),
    lines: b.dialogue.map((d) => d.review.state),
    qa: b.qa.map((q) => q.review.state),
    board: b,
  };
}

describe('dreamframe review', () => {
  const tmp = useTempDir();
  const setup = () => {
    const project = join(tmp(), 'project');
    createProjectWithSample(project, true).close();
    return project;
  };

  it('approves a whole film, and the app\'s undo reverts it in one step', () => {
    const project = setup();
    const p = openProject(project);
    try {
      const before = states(p);
      const res = runReview({ project, film: 1, approve: true });
      expect(res.counts).toEqual({ frames: before.frames.length, lines: before.lines.length, qa: before.qa.length });
      expect(res.updated).toBe(before.frames.length + before.lines.length + before.qa.length);
      const after = states(p);
      expect(new Set([...after.frames, ...after.lines, ...after.qa])).toEqual(new Set(['approved']));
      const rec = undo(p.db, 1);
      expect(rec?.label).toMatch(/^Approve/);
      const undone = states(p);
      expect(undone.frames).toEqual(before.frames);
      expect(undone.lines).toEqual(before.lines);
      expect(undone.qa).toEqual(before.qa);
    } finally {
      p.close();
    }
  });

  it('rejects only a subchapter\'s frames with --scope and --what, then resets them', () => {
    const project = setup();
    const p = openProject(project);
    try {
      const { board } = states(p);
      const chapter2 = [...board.chapters].sort((a, b) => a.position - b.position)[1];
      const sub = board.subchapters.filter((s) => s.chapterId === chapter2.id).sort((a, b) => a.position - b.position)[0];
      const target = board.frames.filter((f) => f.subchapterId === sub.id).map((f) => f.id);
      expect(target.length).toBeGreaterThan(0);

      const res = runReview({ project, film: 1, scope: 'subchapter:2.1', what: 'frames', reject: true });
      expect(res.counts).toEqual({ frames: target.length, lines: 0, qa: 0 });
      const after = getStoryboard(p.db, 1);
      for (const f of after.frames) expect(f.review.state, `frame ${f.id}`).toBe(target.includes(f.id) ? 'rejected' : board.frames.find((x) => x.id === f.id)!.review.state);
      expect(after.dialogue.map((d) => d.review.state)).toEqual(board.dialogue.map((d) => d.review.state));
      expect(after.qa.map((q) => q.review.state)).toEqual(board.qa.map((q) => q.review.state));

      runReview({ project, film: 1, scope: 'subchapter:2.1', what: 'frames', reset: true });
      for (const f of getStoryboard(p.db, 1).frames.filter((x) => target.includes(x.id))) expect(f.review.state).toBe('draft');
    } finally {
      p.close();
    }
  });

  it('approves a chapter\'s QA pairs (its own and its subchapters\'), not the film-level ones', () => {
    const project = setup();
    const p = openProject(project);
    try {
      const { board } = states(p);
      const chapter1 = [...board.chapters].sort((a, b) => a.position - b.position)[0];
      const subs = new Set(board.subchapters.filter((s) => s.chapterId === chapter1.id).map((s) => s.id));
      const expected = board.qa.filter((q) => (q.scope === 'chapter' && q.chapterId === chapter1.id) || (q.scope === 'subchapter' && subs.has(q.subchapterId!))).map((q) => q.id);
      const res = runReview({ project, film: 1, scope: 'chapter:1', what: 'qa', approve: true });
      expect(res.counts.qa).toBe(expected.length);
      for (const q of getStoryboard(p.db, 1).qa) expect(q.review.state === 'approved', `qa ${q.id}`).toBe(expected.includes(q.id) || board.qa.find((x) => x.id === q.id)!.review.state === 'approved');
    } finally {
      p.close();
    }
  });

  it('refuses bad flags with a clear error', () => {
    const project = setup();
    expect(() => runReview({ project, film: 1 })).toThrow(/exactly one of --approve, --reject or --reset/);
    expect(() => runReview({ project, film: 1, approve: true, reject: true })).toThrow(/exactly one/);
    expect(() => runReview({ project, film: 1, approve: true, scope: 'chapter:x' })).toThrow(/--scope must be chapter:N or subchapter:N.M/);
    expect(() => runReview({ project, film: 1, approve: true, what: 'frames,pictures' })).toThrow(/--what takes/);
    expect(() => runReview({ project, film: 1, approve: true, scope: 'chapter:99' })).toThrow(/no chapter 99/);
    expect(() => runReview({ project, film: 42, approve: true })).toThrow();
  });

  it('runs as a CLI command with --json', () => {
    const project = setup();
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'dreamframe.js'), 'review', '--project', project, '--film', '1',
      '--scope', 'chapter:1', '--what', 'frames,lines', '--approve', '--json'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { state: string; counts: { frames: number; lines: number; qa: number } };
    expect(out.state).toBe('approved');
    expect(out.counts.frames).toBeGreaterThan(0);
    expect(out.counts.qa).toBe(0);
    const bad = spawnSync(process.execPath, [join(repoRoot, 'bin', 'dreamframe.js'), 'review', '--project', project, '--film', '1'], { encoding: 'utf8', timeout: 120_000 });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('--approve');
  }, 120_000);
});
