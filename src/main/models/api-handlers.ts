import type { AreaHandlers } from '../api/handler-types';
import { listLibrary, modelsDir, removeFromLibrary, setModelsDir } from './library';

/** Handlers of the model library methods (src/shared/api/methods-models.ts). */
export const modelHandlers: AreaHandlers<'models.list' | 'models.import' | 'models.remove' | 'models.setDir'> = {
  'models.list': () => listLibrary(modelsDir()),
  'models.import': (ctx, params) => {
    ctx.requireProject(); // the job runs in the open project's runner, which shows its progress
    return { jobId: ctx.jobs.enqueue('model.import', { ...params, libraryDir: modelsDir() }, null).id };
  },
  'models.remove': (ctx, { id }) => {
    const dir = modelsDir();
    const removed = removeFromLibrary(dir, id);
    ctx.events.emit('models.changed', { dir });
    return { removed };
  },
  'models.setDir': (ctx, { dir }) => {
    const saved = setModelsDir(dir);
    ctx.events.emit('models.changed', { dir: saved });
    return { dir: saved };
  },
};
