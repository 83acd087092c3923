import type { RenderSettings } from '@shared/api/methods-render';

/**
 * Checks of the render settings form before it is sent, and the server's refusals turned into one message per
 * field (issue #17 defect 5: an empty Steps field showed "$.settings.steps …" in the status bar). The server
 * checks again (render.setSettings → render.invalid_settings with details.fields); both land next to the field.
 */

export type FieldErrors = Partial<Record<keyof RenderSettings | 'form', string>>;

const LABELS: Record<keyof RenderSettings, string> = {
  model: 'Model', refiner: 'Refiner', refinerStart: 'Refiner start', scheduler: 'Scheduler', steps: 'Steps', guidance: 'Guidance',
  width: 'Width', height: 'Height', negativePrompt: 'Negative prompt', embedding: 'Embedding file', baseSeed: 'Base seed', variants: 'Variants',
};

/** `v-model.number` leaves '' (or the raw text) in a field it cannot read as a number. */
function wholeNumber(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** What is wrong with the form's values, field by field (empty: it can be sent). */
export function checkSettingsDraft(draft: RenderSettings): FieldErrors {
  const errors: FieldErrors = {};
  if (!wholeNumber(draft.steps, 1, 500)) errors.steps = 'Steps: enter a whole number from 1 to 500';
  if (typeof draft.guidance !== 'number' || !Number.isFinite(draft.guidance) || draft.guidance < 0 || draft.guidance > 50) {
    errors.guidance = 'Guidance: enter a number from 0 to 50';
  }
  if (typeof draft.refinerStart !== 'number' || !(draft.refinerStart > 0 && draft.refinerStart < 1)) {
    errors.refinerStart = 'Refiner start: enter a fraction between 0 and 1, e.g. 0.75';
  }
  for (const key of ['width', 'height'] as const) {
    const v = draft[key];
    if (v === null) continue;
    if (!wholeNumber(v, 8, 4096)) errors[key] = `${LABELS[key]}: enter a whole number from 8 to 4096, or leave it empty for the model's size`;
    else if (v % 8 !== 0) errors[key] = `${LABELS[key]} ${v} is not a multiple of 8; try ${Math.floor(v / 8) * 8 || 8} or ${Math.floor(v / 8) * 8 + 8}`;
  }
  if (!wholeNumber(draft.baseSeed, 0, 2 ** 32 - 1)) errors.baseSeed = 'Base seed: enter a whole number from 0';
  if (!wholeNumber(draft.variants, 1, 16)) errors.variants = 'Variants: enter a whole number from 1 to 16';
  return errors;
}

/** The server's refusal as field messages: its `fields` map, or the contract's issues ("$.settings.steps") by field. */
export function fieldErrorsOf(err: unknown): FieldErrors {
  const details = (err as { details?: unknown } | null)?.details as
    { fields?: Record<string, string>; issues?: { path: string; message: string }[] } | undefined;
  if (details?.fields) return { ...details.fields } as FieldErrors;
  const errors: FieldErrors = {};
  for (const issue of details?.issues ?? []) {
    const field = /^\$\.settings\.(\w+)/.exec(issue.path)?.[1] as keyof RenderSettings | undefined;
    if (field && field in LABELS) errors[field] = `${LABELS[field]}: ${issue.message}`;
  }
  if (Object.keys(errors).length === 0) errors.form = err instanceof Error ? err.message : String(err);
  return errors;
}
