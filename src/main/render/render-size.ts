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
 * memory of the provider render jobs use (the CPU); the refiner, when set, is checked at the same size.
 */
export function checkRenderFits(settings: RenderSettings, options: FitOptions = {}): { width: number; height: number } {
  if (!settings.model) {
    throw new AppError('render.no_model', 'No render model is set: choose a model folder in the film\'s render settings (or pass --model)');
  }
  const cfg = settings.guidance > 1;
  const size = checkGenerationFits(settings.model, { width: settings.width, height: settings.height, cfg, ...options });
  if (settings.refiner) checkGenerationFits(settings.refiner, { width: size.width, height: size.height, cfg, ...options });
  return { width: size.width, height: size.height };
}
