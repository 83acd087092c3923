import type { AreaHandlers } from '../api/handler-types';
import { listDir } from './list-dir';

/** Handlers of the fs.* methods (contract: src/shared/api/methods-fs.ts). */
export const fsHandlers: AreaHandlers<'fs.listDir'> = {
  'fs.listDir': (_ctx, { path, extensions }) => listDir(path, extensions),
};
