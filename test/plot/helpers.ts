import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus } from '../../src/main/app/event-bus';
import { JobRunner } from '../../src/main/jobs/runner';
import { plotJobKind } from '../../src/main/plot/plot-job';
import { startFilms, type NewFilmsRequest } from '../../src/main/plot/plot-service';
import type { ProviderOverrides } from '../../src/main/plot/settings';
import { createProject, type Project } from '../../src/main/project/project';
import { getStoryboard } from '../../src/main/story/film-reader';
import type { TestBreadth } from './fake-openai';

export const SMALL: TestBreadth = { chapters: 3, subchapters: 3, frames: 4, dialogueLines: 2, qaPairs: 2 };

// Installation settings of the tests live in a throw-away config folder.
process.env.DREAMFRAME_CONFIG_DIR = mkdtempSync(join(tmpdir(), 'df-plot-config-'));

export function newProject(): Project {
  return createProject(join(mkdtempSync(join(tmpdir(), 'df-plot-')), 'p'));
}

export function fastProvider(baseUrl: string, extra: ProviderOverrides = {}): ProviderOverrides {
  return { baseUrl, model: 'fake-small', retryBaseMs: 5, timeoutMs: 5000, retries: 3, reasks: 2, maxConcurrency: 8, ...extra };
}

export async function generate(project: Project, req: NewFilmsRequest): Promise<{ filmIds: number[]; runner: JobRunner; jobId: number; events: EventBus }> {
  const events = new EventBus();
  const runner = new JobRunner(project, events, [plotJobKind]);
  runner.start();
  const { filmIds, job } = startFilms(project.db, runner, req);
  await runner.whenIdle();
  return { filmIds, runner, jobId: job.id, events };
}

/** The film as a reader sees it, without row ids and timestamps, for comparing two runs. */
export function filmContent(project: Project, filmId: number): unknown {
  const sb = getStoryboard(project.db, filmId) as any;
  const strip = (v: any): any => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v)
        .filter(([k]) => !/^(id|filmId|chapterId|subchapterId|createdAt|updatedAt|thumbnail)$/.test(k))
        .map(([k, x]) => [k, strip(x)]));
    }
    return v;
  };
  return strip(sb);
}

export function nodeStatuses(project: Project, filmId: number): Record<string, string> {
  return Object.fromEntries((project.db.prepare('SELECT key, status FROM plot_node WHERE film_id = ?').all(filmId) as { key: string; status: string }[])
    .map((r) => [r.key, r.status]));
}
