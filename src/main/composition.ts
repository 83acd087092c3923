import { AppContext, type AppMode, type AppWiring } from './app/context';
import type { HandlerMap } from './api/handler-types';
import { coreHandlers } from './api/core-handlers';
import type { JobKind } from './jobs/runner';
import type { Project } from './project/project';
import { curationHandlers } from './curation/api-handlers';
import { exportHandlers } from './export/api-handlers';
import { exportJobKind } from './export/job';
import { farmHandlers } from './farm/api-handlers';
import { farmRoute } from './farm/coordinator';
import { fsHandlers } from './fs/api-handlers';
import { modelHandlers } from './models/api-handlers';
import { importModel } from './models/import/index';
import { modelImportJobKind } from './models/import-job';
import { plotHandlers } from './plot/api-handlers';
import { plotJobKind } from './plot/plot-job';
import { qualityHandlers } from './quality/api-handlers';
import { qualityJobKind } from './quality/quality-job';
import { renderHandlers } from './render/api-handlers';
import { renderJobKind } from './render/render-job';
import { styleHandlers } from './style/api-handlers';
import { styleGenerateJobKind, styleLearnJobKind } from './style/style-job';

/**
 * The composition root: the one module that knows every feature area. `api/`, `jobs/` and `app/`
 * import none of them; they get the handler map and the job kinds from here.
 *
 * Plugging in an area: import its `AreaHandlers<…>` map and spread it into `handlers`, and add its
 * job kinds to `jobKinds` (see docs/ARCHITECTURE.md, "Adding an area").
 */

/** Every method of the contract with its handler; a method without one fails to compile here. */
export const handlers: HandlerMap = {
  ...coreHandlers,
  ...renderHandlers,
  ...curationHandlers,
  ...exportHandlers,
  ...plotHandlers,
  ...styleHandlers,
  ...modelHandlers,
  ...qualityHandlers,
  ...farmHandlers,
  ...fsHandlers,
};

/** Every job kind the app's runner runs (a CLI command registers only the kind it runs itself). */
export const jobKinds: JobKind<any>[] = [
  exportJobKind,
  plotJobKind,
  qualityJobKind,
  // Render jobs go to the render farm when one is configured (DREAMFRAME_REDIS or the app setting).
  renderJobKind(undefined, farmRoute()),
  styleLearnJobKind,
  styleGenerateJobKind,
  modelImportJobKind(importModel),
];

export const appWiring: AppWiring = { handlers, jobKinds };

/** The AppContext of the app, of `dreamframe serve` and of API tests, with every area plugged in. */
export function createAppContext(mode: AppMode, project: Project | null = null): AppContext {
  return new AppContext(mode, appWiring, project);
}
