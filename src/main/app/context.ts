import { join } from 'node:path';
import type { MethodName, ProjectInfo } from '../../shared/api/contract';
import { AppError } from '../../shared/errors';
import { importFilmDocumentFile } from '../import/film-document';
import type { WriteTarget } from '../db/mutation';
import { createProject, openProject, type Project } from '../project/project';
import { resourcesDir } from '../util/resources';
import { JobRunner, type JobKind } from '../jobs/runner';
import { EventBus } from './event-bus';

export type AppMode = 'electron' | 'serve' | 'test';

/** How other processes of the same project name this one's job runner ("project is open in …"). */
const RUNNER_LABELS: Record<AppMode, string> = {
  electron: 'DreamFrame Studio', serve: 'dreamframe serve', test: 'dreamframe (test)',
};

/** Creates a project and, on request, fills it with the bundled sample film. */
export function createProjectWithSample(dir: string, sample: boolean): Project {
  const project = createProject(dir);
  if (sample) {
    try {
      importFilmDocumentFile(project, join(resourcesDir(), 'sample', 'film.json'), 'sample');
    } catch (err) {
      project.close();
      throw err;
    }
  }
  return project;
}

/**
 * What the composition root (src/main/composition.ts) plugs into an AppContext: the API handler of
 * every method and the job kinds its runner runs. Typed loosely here so this module imports no
 * feature area; the composition root checks the map against `HandlerMap`.
 */
export interface AppWiring {
  handlers: { readonly [M in MethodName]: (ctx: AppContext, input: never) => unknown };
  jobKinds: readonly JobKind<any>[];
}

/**
 * What the API handlers run against: the open project, the event bus, and the mode. Services take
 * what they need from here and never know which transport called them.
 */
export class AppContext {
  readonly mode: AppMode;
  readonly wiring: AppWiring;
  readonly events = new EventBus();
  private current: Project | null = null;
  private runner: JobRunner | null = null;

  /** Use `createAppContext` (src/main/composition.ts), which passes the app's wiring. */
  constructor(mode: AppMode, wiring: AppWiring, project: Project | null = null) {
    this.mode = mode;
    this.wiring = wiring;
    if (project) this.attach(project).start();
  }

  /** The job runner of the open project (resumes interrupted jobs when the project opens). */
  get jobs(): JobRunner {
    if (!this.runner) throw new AppError('no_project', 'No project is open');
    return this.runner;
  }

  /** Makes `project` the open one with a new runner, not started yet (see useProject). */
  private attach(project: Project): JobRunner {
    this.current = project;
    this.runner = new JobRunner(project, this.events, [...this.wiring.jobKinds], 250, { label: RUNNER_LABELS[this.mode] });
    return this.runner;
  }

  get project(): Project | null {
    return this.current;
  }

  requireProject(): Project {
    if (!this.current) throw new AppError('no_project', 'No project is open');
    return this.current;
  }

  /** Where writes go (`mutate(ctx.writer(), …)`): the open project's database and this app's event bus. */
  writer(): WriteTarget {
    return { db: this.requireProject().db, events: this.events };
  }

  projectInfo(): ProjectInfo | null {
    const p = this.current;
    return p ? { path: p.dir, name: p.name, schemaVersion: p.schemaVersion } : null;
  }

  /**
   * Replaces the open project (closing the previous one only after the new one opened). The previous
   * runner stops before the new one starts, so reopening the same project hands its lease straight over.
   */
  async useProject(project: Project): Promise<ProjectInfo> {
    const previous = this.current;
    const previousRunner = this.runner;
    const runner = this.attach(project);
    await previousRunner?.stop();
    if (previous && previous !== project) previous.close();
    runner.start();
    this.events.emit('data.changed', { filmId: null, entities: [{ type: 'film', ids: [] }] });
    return this.projectInfo()!;
  }

  openProject(dir: string): Promise<ProjectInfo> {
    return this.useProject(openProject(dir));
  }

  createProject(dir: string, sample: boolean): Promise<ProjectInfo> {
    return this.useProject(createProjectWithSample(dir, sample));
  }

  /** Stops jobs (they resume on next open) and closes the database. */
  async close(): Promise<void> {
    await this.runner?.stop();
    this.runner = null;
    this.current?.close();
    this.current = null;
  }
}
