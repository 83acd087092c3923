import { AppError } from '../../shared/errors';

/**
 * Learning-rate schedules written as `rate:step` pairs (A1111's syntax): each rate holds up to and including
 * the given END step (optimizer steps, 1-based); a last rate without a step holds to the end of training.
 */

export interface LrPhase {
  rate: number;
  /** Last optimizer step of the phase; null for an open-ended last phase. */
  endStep: number | null;
}

/**
 * The DreamFrame release's phases (dreamframe-method.md §6): 4 × 1e-3, 8 × 9e-4, 13 × 8e-4, 20 × 7e-4,
 * 35 × 6e-4, 60 × 5e-4, 100 × 4e-4, 160 × 3e-4 → phases end at steps 4, 12, 25, 45, 80, 140, 240, 400.
 */
export const RELEASE_LR_SCHEDULE = '1e-3:4, 9e-4:12, 8e-4:25, 7e-4:45, 6e-4:80, 5e-4:140, 4e-4:240, 3e-4:400';

export function parseLrSchedule(text: string): LrPhase[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new AppError('style.lr_schedule_invalid', 'the learning-rate schedule is empty');
  const phases: LrPhase[] = [];
  parts.forEach((part, i) => {
    const m = /^([^:\s]+)\s*(?::\s*(\S+))?$/.exec(part);
    const rate = m ? Number(m[1]) : NaN;
    if (!m || !Number.isFinite(rate) || rate <= 0) {
      throw new AppError('style.lr_schedule_invalid', `learning-rate schedule entry "${part}": expected rate:step with a positive rate`);
    }
    if (m[2] === undefined) {
      if (i !== parts.length - 1) {
        throw new AppError('style.lr_schedule_invalid', `learning-rate schedule entry "${part}": only the last entry may omit its end step`);
      }
      phases.push({ rate, endStep: null });
      return;
    }
    const endStep = Number(m[2]);
    const previous = phases.length ? (phases[phases.length - 1].endStep as number) : 0;
    if (!Number.isInteger(endStep) || endStep <= previous) {
      throw new AppError(
        'style.lr_schedule_invalid',
        `learning-rate schedule entry "${part}": the end step must be an integer above ${previous}`,
      );
    }
    phases.push({ rate, endStep });
  });
  return phases;
}

/** Rate for optimizer step `step` (1-based); after the last phase its rate continues. */
export function learningRateAt(phases: LrPhase[], step: number): number {
  for (const p of phases) if (p.endStep === null || step <= p.endStep) return p.rate;
  return phases[phases.length - 1].rate;
}

/** The step count a schedule implies (its last end step), or null when open-ended. */
export function scheduleLength(phases: LrPhase[]): number | null {
  return phases[phases.length - 1].endStep;
}

export function formatLrSchedule(phases: LrPhase[]): string {
  return phases.map((p) => (p.endStep === null ? `${p.rate}` : `${p.rate}:${p.endStep}`)).join(', ');
}
