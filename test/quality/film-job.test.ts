import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { main } from '../../src/main/cli/main';
import { runExport } from '../../src/main/export/exporter';
import { setReview } from '../../src/main/story/edits';
import { EventBus } from '../../src/main/app/event-bus';
import { getJob } from '../../src/main/jobs/job-store';
import { JobRunner } from '../../src/main/jobs/runner';
import type { Project } from '../../src/main/project/project';
import { filmQuality } from '../../src/main/quality/film-quality';
import { QUALITY_JOB, qualityJobKind, type QualityWork } from '../../src/main/quality/quality-job';
import { getQualityScore, qualityFrames } from '../../src/main/quality/repo';
import { captureStdout } from '../support/capture-stdout';
import { QUALITY } from './fixture';
import { keyframeFilm, noise, setKeyframe as setKeyframeOf } from './film-fixture';

/** The quality.score job, `quality film` and the export options on the sample film with two noise keyframes (film-fixture.ts). */

let dir: string;
let project: Project;
let filmId: number;
let planted: number[];
const setKeyframe = (frameId: number, bytes: Buffer, mime: string) => setKeyframeOf(project, frameId, bytes, mime);

async function runJob(): Promise<QualityWork> {
  const runner = new JobRunner(project, new EventBus(), [qualityJobKind], 50);
  const job = runner.enqueue(QUALITY_JOB, { filmId, clip: join(QUALITY, 'clip', 'hf'), lpips: join(QUALITY, 'lpips'), lpipsSize: 64, cacheDir: join(dir, 'cache') }, filmId);
  await runner.whenIdle();
  await runner.stop();
  const done = getJob(project.db, job.id)!;
  expect(done.error).toBeNull();
  expect(done.status).toBe('done');
  return (JSON.parse(getQualityScore(project.db, filmId)!.summaryJson) as { work: QualityWork }).work;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'df-quality-film-'));
  project = createProjectWithSample(join(dir, 'project'), true);
  filmId = (project.db.prepare('SELECT id FROM film').get() as { id: number }).id;
  planted = await keyframeFilm(project, filmId);
});
afterAll(() => {
  project.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('quality.score job on a film', () => {
  it('scores every keyframe, description and adjacent pair, and flags exactly the frames made different', async () => {
    const frames = qualityFrames(project.db, filmId);
    const work = await runJob();
    const pairs = frames.filter((f, i) => i + 1 < frames.length && frames[i + 1].subchapterId === f.subchapterId).length;
    expect(work).toEqual({ images: new Set(frames.map((f) => f.sha256)).size, texts: new Set(frames.map((f) => f.description)).size, pairs });

    const q = filmQuality(project.db, filmId)!;
    expect(q.film.frames).toBe(frames.length);
    expect(q.film.scoredFrames).toBe(frames.length);
    expect(q.film.pairs).toBe(pairs);
    expect(q.paper).toEqual({ clipScore: 0.8304, lpips: 0.5316 });
    const flagged = q.frames.filter((f) => f.flags.length).map((f) => f.frameId);
    expect(flagged.sort()).toEqual([...planted].sort());
    for (const id of planted) expect(q.frames.find((f) => f.frameId === id)!.flags.map((f) => f.reason)).toContain('lpips_jump');
    // Means are the means of the per-frame values.
    const lp = q.frames.flatMap((f) => (f.next?.lpips != null ? [f.next.lpips] : []));
    expect(q.film.lpips).toBeCloseTo(lp.reduce((a, b) => a + b, 0) / lp.length, 12);
    const cs = q.frames.map((f) => f.descriptionClipScore!);
    expect(q.film.descriptionClipScore).toBeCloseTo(cs.reduce((a, b) => a + b, 0) / cs.length, 12);
    expect(q.chapters.reduce((s, c) => s + c.frames, 0)).toBe(frames.length);
    // Flags are advice: no review state changed.
    expect(q.frames.every((f) => f.reviewState === 'draft')).toBe(true);
  });

  it('after one keyframe changes, recomputes that image and its pairs only; a run with nothing changed computes nothing', async () => {
    const frames = qualityFrames(project.db, filmId);
    // A middle frame whose neighbours are ordinary (two noise images side by side look alike to LPIPS).
    const i = frames.findIndex((f, k) => k > 0 && k + 1 < frames.length && [k - 1, k, k + 1].every((j) => !planted.includes(frames[j].frameId))
      && frames[k - 1].subchapterId === f.subchapterId && frames[k + 1].subchapterId === f.subchapterId);
    expect(i).toBeGreaterThan(0);
    const before = filmQuality(project.db, filmId)!;
    await setKeyframe(frames[i].frameId, await noise(99), 'image/png');
    // Until the job runs again the changed frame shows as unscored, the rest keep their scores.
    const stale = filmQuality(project.db, filmId)!;
    expect(stale.frames[i].textCosine).toBeNull();
    expect(stale.frames[i + 2].textCosine).toBe(before.frames[i + 2].textCosine);

    expect(await runJob()).toEqual({ images: 1, texts: 0, pairs: 2 });
    const after = filmQuality(project.db, filmId)!;
    expect(after.frames[i].textCosine).not.toBe(before.frames[i].textCosine);
    expect(after.frames[i].flags.length).toBeGreaterThan(0);
    expect(await runJob()).toEqual({ images: 0, texts: 0, pairs: 0 });
  });

  describe('dreamframe quality film --json', () => {
    const stdout = captureStdout();
    it('scores the film with the ONNX forms of both models and agrees with the converted ones (≤ 1e-5)', async () => {
      const before = filmQuality(project.db, filmId)!;
      const code = await main(['quality', 'film', '--project', join(dir, 'project'), '--film', String(filmId), '--clip', join(QUALITY, 'clip'),
        '--lpips', join(QUALITY, 'lpips', 'lpips.onnx'), '--cache', join(dir, 'cache'), '--json']);
      expect(code).toBe(0);
      const q = JSON.parse(stdout.text());
      expect(q.clipHash).not.toBe(before.clipHash);
      expect(q.film.frames).toBe(before.film.frames);
      for (const key of ['clipScore', 'lpips', 'descriptionClipScore'] as const) expect(Math.abs(q.film[key] - before.film[key]!)).toBeLessThanOrEqual(1e-5);
      expect(q.frames.map((f: { flags: unknown[] }) => f.flags.length > 0)).toEqual(before.frames.map((f) => f.flags.length > 0));
    });
  });

  it('export: the manifest carries the film metrics; --exclude-flagged leaves out flagged frames unless approved', async () => {
    const q = filmQuality(project.db, filmId)!;
    const flagged = q.frames.filter((f) => f.flags.length).map((f) => f.frameId);
    expect(flagged.length).toBeGreaterThanOrEqual(2);
    const base = { format: 'jsonl' as const, clips: false, includeDrafts: true, filmIds: [filmId] };
    const all = await runExport(project, { ...base, outDir: join(dir, 'export-all') });
    const film = all.manifest.films[0];
    expect(film.quality).toMatchObject({ frames: q.film.frames, pairs: q.film.pairs, flagged: q.film.flagged });
    expect(film.quality!.lpips).toBeCloseTo(q.film.lpips!, 12);
    expect(all.manifest.counts.excluded.frames).toBe(0);
    expect(all.manifest.settings.excludeFlagged).toBeUndefined();

    setReview(project.db, [{ type: 'frame', id: flagged[0] }], 'approved', null);
    const cut = await runExport(project, { ...base, outDir: join(dir, 'export-cut'), excludeFlagged: true });
    expect(cut.manifest.settings.excludeFlagged).toBe(true);
    // Every flagged frame but the approved one is left out.
    expect(cut.manifest.counts.excluded.frames).toBe(flagged.length - 1);
    expect(cut.manifest.stats.frames).toBe(all.manifest.stats.frames - (flagged.length - 1));
  });
});
