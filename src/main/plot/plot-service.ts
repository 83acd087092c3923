import type Database from 'better-sqlite3';
import type { Job } from '../../shared/api/entities';
import { AppError } from '../../shared/errors';
import { jobParams, unfinishedJobs } from '../jobs/job-store';
import type { JobRunner } from '../jobs/runner';
import { getFilm } from '../story/film-reader';
import { PLOT_JOB } from './plot-job';
import { Breadth } from './schemas';
import { resolveProvider, type ProviderOverrides } from './settings';
import { activeTemplateIds, type Level } from './templates';
import {
  createPlotFilm, filmsWithUnfinishedNodes, filmUsage, listNodes, markForRegeneration, readPlotFilm, requeueFailed, updatePlotFilm,
  type FilmUsage,
} from './tree-store';
import { mutate } from '../db/mutation';

/** What the API handlers and the CLI call: create films, expand further, regenerate, all as one job. */

export interface NewFilmsRequest {
  themes: string[];
  breadth?: Partial<Breadth>;
  /** Run overrides (CLI flags); the model/endpoint/temperature that result are pinned on each film. */
  provider?: ProviderOverrides;
  expandUntil?: Level;
}

export function createFilms(db: Database.Database, req: NewFilmsRequest): number[] {
  const themes = req.themes.map((t) => t.trim()).filter(Boolean);
  if (themes.length === 0) throw new AppError('invalid_input', 'No theme given: pass at least one non-empty theme');
  const breadth = Breadth.parse(req.breadth ?? {});
  const settings = resolveProvider(db, req.provider);
  const pinned = { baseUrl: settings.baseUrl, model: settings.model, temperature: settings.temperature, ...req.provider };
  const templates = activeTemplateIds(db);
  return mutate(db, () => themes.map((theme) =>
    createPlotFilm(db, theme, { breadth, provider: pinned, templates }, req.expandUntil ?? 3)));
}

export function startFilms(db: Database.Database, jobs: JobRunner, req: NewFilmsRequest): { filmIds: number[]; job: Job } {
  const filmIds = createFilms(db, req);
  return { filmIds, job: jobs.enqueue(PLOT_JOB, { filmIds }, filmIds.length === 1 ? filmIds[0] : null) };
}

/** Raises the film's target level (e.g. after editing level 1) and runs what is pending up to it. */
export function expandFilm(db: Database.Database, jobs: JobRunner, filmId: number, untilLevel: Level, retryFailed = false): Job {
  const film = readPlotFilm(db, filmId);
  updatePlotFilm(db, filmId, { expandUntil: Math.max(untilLevel, film.expandUntil) as Level, templates: activeTemplateIds(db) });
  return jobs.enqueue(PLOT_JOB, { filmIds: [filmId], retryFailed }, filmId);
}

/** Regenerates one node in place (and, on request, everything below it) with the project's current templates. */
export function regenerateNode(db: Database.Database, jobs: JobRunner, filmId: number, key: string, children: boolean): Job {
  readPlotFilm(db, filmId);
  markForRegeneration(db, filmId, key, children);
  updatePlotFilm(db, filmId, { templates: activeTemplateIds(db) });
  return jobs.enqueue(PLOT_JOB, { filmIds: [filmId] }, filmId);
}

/** The films a plot job works on. */
function jobFilmIds(params: unknown): number[] {
  return (params as { filmIds: number[] } | null)?.filmIds ?? [];
}

/**
 * Resumes every stopped plot job (their failed nodes are retried), and starts one job for films that
 * still have failed or unfinished nodes no job covers. Returns the ids of the jobs to wait for.
 */
export function resumeAllPlots(db: Database.Database, jobs: JobRunner): number[] {
  const stopped = unfinishedJobs(db, PLOT_JOB);
  const covered = new Set<number>();
  for (const j of stopped) {
    for (const filmId of jobFilmIds(j.params)) {
      covered.add(filmId);
      requeueFailed(db, filmId);
    }
  }
  for (const j of stopped) jobs.resume(j.id);
  const unfinished = filmsWithUnfinishedNodes(db).filter((id) => !covered.has(id));
  const ids = stopped.map((j) => j.id);
  if (unfinished.length) ids.push(jobs.enqueue(PLOT_JOB, { filmIds: unfinished, retryFailed: true }).id);
  return ids;
}

export interface PlotFilmReport {
  filmId: number; theme: string; title: string;
  nodes: { done: number; failed: number; pending: number };
  /** Done nodes whose answer was repaired (their warnings: plot.node, or the generation tree). */
  repaired: number;
  usage: FilmUsage;
}

/** Where the films of some plot jobs stand: nodes done/failed/pending and the tokens they cost. */
export function plotReports(db: Database.Database, jobIds: number[]): PlotFilmReport[] {
  const filmIds = [...new Set(jobIds.flatMap((id) => jobFilmIds(jobParams(db, id))))];
  return filmIds.map((filmId) => {
    let film: { theme: string; title: string } = { theme: '', title: '' };
    try {
      film = getFilm(db, filmId);
    } catch (err) {
      // A film deleted while its job ran still gets a line, without theme and title.
      if (!(err instanceof AppError && err.code === 'not_found')) throw err;
    }
    const nodes = listNodes(db, filmId);
    const count = (status: string) => nodes.filter((n) => n.status === status).length;
    return {
      filmId, theme: film.theme, title: film.title,
      nodes: { done: count('done'), failed: count('failed'), pending: count('pending') },
      repaired: nodes.filter((n) => n.status === 'done' && n.warnings_json !== '[]').length,
      usage: filmUsage(db, filmId),
    };
  });
}
