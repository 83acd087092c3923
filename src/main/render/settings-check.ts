import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { RenderSettings } from '../../shared/api/methods-render';

/**
 * Checks a film's render settings when they are saved, not when a job fails on every frame (issue #17 defect 5):
 * a size the pipeline cannot use (latents are 1/8 of the image, so width and height must be multiples of 8) and
 * model folders that do not exist are refused (render.setSettings: `render.invalid_settings`) with one message per
 * field in `details.fields`, for the form.
 */

/** The field → message map of everything wrong with `settings` (empty when they can be saved). */
export function renderSettingsProblems(settings: RenderSettings): Record<string, string> {
  const problems: Record<string, string> = {};
  for (const key of ['width', 'height'] as const) {
    const v = settings[key];
    if (v !== null && v % 8 !== 0) {
      const lower = Math.max(8, Math.floor(v / 8) * 8);
      problems[key] = `${key === 'width' ? 'Width' : 'Height'} ${v} is not a multiple of 8 (the model works on 8×8 pixel blocks); try ${lower} or ${lower + 8}`;
    }
  }
  const folder = (key: 'model' | 'refiner', label: string, path: string | null) => {
    if (!path) return;
    if (!isAbsolute(path)) {
      problems[key] = `${label} "${path}" is a relative path; choose the folder with the picker or give an absolute path`;
      return;
    }
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      problems[key] = `${label} folder ${path} does not exist`;
      return;
    }
    if (!isDir) problems[key] = `${label} ${path} is a file; choose the model's folder`;
  };
  folder('model', 'Model', settings.model);
  folder('refiner', 'Refiner', settings.refiner);
  return problems;
}
