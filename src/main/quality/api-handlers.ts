import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import type { AreaHandlers } from '../api/handler-types';
import { filmQuality } from './film-quality';
import { QUALITY_JOB } from './quality-job';
import { filmExists } from './repo';

/** Handlers of the quality.* methods (contract: src/shared/api/methods-quality.ts). */
export const qualityHandlers: AreaHandlers<'quality.film' | 'quality.start'> = {
  'quality.film': (ctx, { filmId }) => filmQuality(ctx.requireProject().db, filmId),
  'quality.start': (ctx, { filmId, clip, lpips, lpipsSize, provider }) => {
    if (!filmExists(ctx.requireProject().db, filmId)) throw new AppError('not_found', `film ${filmId} does not exist`, { filmId });
    // Refuse now what the job could only fail on later.
    for (const [field, path] of [['clip', clip], ['lpips', lpips]] as const) {
      if (path && !existsSync(resolve(path))) throw new AppError('quality.model_missing', `${field}: ${resolve(path)} does not exist`, { field, path });
    }
    const job = ctx.jobs.enqueue(QUALITY_JOB, { filmId, clip: resolve(clip), lpips: lpips ? resolve(lpips) : null, lpipsSize, provider }, filmId);
    return { jobId: job.id };
  },
};
