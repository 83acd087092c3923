import type { RenderSettings, ResolvedRenderSize } from '../../shared/api/methods-render';
import { AppError } from '../../shared/errors';
import { readModelGeometry } from '../diffusion/loader/model-config';
import { checkGenerationFits, type FitOptions } from '../diffusion/memory-estimate';

/**
 * The size a film renders at: the width/height its settings name, or the model's native size (unet
 * sample_size × VAE factor) where they are unset; and the memory check every render job passes before it
 * loads a model, so a size the machine cannot hold is refused once instead of failing frame after frame.
 */

/** For the settings form: the size a job would use now and where each value comes from. Never throws. */
export function resolveRenderSize(settings: Pick<RenderSettings, 'model' | 'width' | 'height'>): ResolvedRenderSize {
  let nativeSize: number | null = null;
  let note: string | null = null;
  if (!settings.model) note = 'no model chosen yet';
  else {
    try {
      nativeSize = readModelGeometry(settings.model).nativeSize;
    } catch (err) {
      note = `cannot read the model's configs: ${(err as Error).message}`;
    }
  }
  return {
    width: settings.width ?? nativeSize,
    height: settings.height ?? nativeSize,
    widthSource: settings.width === null ? 'model' : 'film',
    heightSource: settings.height === null ? 'model' : 'film',
    nativeSize,
    note,
  };
}

/**
 * Resolves the size against the model and refuses (diffusion.too_large) one whose largest tensor exceeds the
 * memory of the provider render jobs use (the CPU); the refiner, when set, is checked at the same size. A model
 * folder that does not exist is left to the model loader, which refuses it when the job loads it (the size then
 * stays as set, unset meaning the model's own).
 */
export function checkRenderFits(settings: RenderSettings, options: FitOptions = {}): { width: number | null; height: number | null } {
  if (!settings.model) {
    throw new AppError('render.no_model', 'No render model is set: choose a model folder in the film\'s render settings (or pass --model)');
  }
  const cfg = settings.guidance > 1;
  const check = (dir: string, width: number | null, height: number | null) => {
    try {
      return checkGenerationFits(dir, { width, height, cfg, ...options });
    } catch (err) {
      if (err instanceof AppError && err.code === 'diffusion.model_incomplete') return { width, height };
      throw err;
    }
  };
  const size = check(settings.model, settings.width, settings.height);
  if (settings.refiner) check(settings.refiner, size.width, size.height);
  return { width: size.width, height: size.height };
}
