import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import type { ItemRef, ReviewState } from '@shared/api/entities';
import type { StoryIndex } from '../storyboard/rows';
import { api } from '../api/current';
import { errorReporter } from './errors';
import { useStoryboardStore } from './storyboard';

/**
 * The review flow of the storyboard (docs/ui.md): approve/reject the focused frame and move on to the next one
 * (auto-advance, on by default), jump to the next frame nobody reviewed yet, and reject with a reason from a
 * short editable list plus a note, in an in-app dialog. The settings are kept in this browser's localStorage
 * (per user and machine, like the keymap).
 */

export const DEFAULT_REASONS: readonly string[] = ['off-style', 'wrong content', 'artifact', 'text mismatch'];
const AUTO_ADVANCE_KEY = 'dreamframe.review.autoAdvance';
const REASONS_KEY = 'dreamframe.review.reasons';
const MAX_REASONS = 12;

const storage = (): Storage | null => (typeof localStorage === 'undefined' ? null : localStorage);

function loadReasons(): string[] {
  try {
    const raw = JSON.parse(storage()?.getItem(REASONS_KEY) ?? 'null') as unknown;
    if (Array.isArray(raw) && raw.every((r) => typeof r === 'string')) return cleanReasons(raw);
  } catch {
    // A damaged entry falls back to the defaults.
  }
  return [...DEFAULT_REASONS];
}

/** Trimmed, non-empty, unique, at most 100 characters each (the API's limit) and MAX_REASONS of them. */
export function cleanReasons(reasons: readonly string[]): string[] {
  const out: string[] = [];
  for (const r of reasons) {
    const t = r.trim().slice(0, 100);
    if (t && !out.includes(t)) out.push(t);
  }
  return out.slice(0, MAX_REASONS);
}

/** The ordinal of the next draft frame after `from` in the shown frames, wrapping around; -1 when none is left. */
export function nextUnreviewedOrdinal(index: StoryIndex, from: number): number {
  const n = index.frameRows.length;
  for (let step = 1; step <= n; step++) {
    const ordinal = (from + step) % n;
    const row = index.rows[index.frameRows[ordinal]];
    if (row?.kind === 'frame' && row.frame.review.state === 'draft') return ordinal;
  }
  return -1;
}

/** What the reject dialog acts on: items and how to name them. */
export interface RejectTarget { items: ItemRef[]; label: string }

export const useReviewFlowStore = defineStore('reviewFlow', () => {
  const storyboard = useStoryboardStore();
  const autoAdvance = ref(storage()?.getItem(AUTO_ADVANCE_KEY) !== '0');
  const reasons = ref<string[]>(loadReasons());
  const rejecting = ref<RejectTarget | null>(null);
  const notice = ref<string | null>(null);
  const report = errorReporter(notice);

  watch(autoAdvance, (on) => storage()?.setItem(AUTO_ADVANCE_KEY, on ? '1' : '0'));

  function setReasons(next: readonly string[]): void {
    reasons.value = cleanReasons(next);
    storage()?.setItem(REASONS_KEY, JSON.stringify(reasons.value));
  }

  function resetReasons(): void {
    setReasons(DEFAULT_REASONS);
  }

  /** Approves, rejects or resets the focused frame; after approve/reject, moves on when auto-advance is on. */
  function reviewFocused(state: ReviewState): void {
    const row = storyboard.focusedRow;
    if (!row) return;
    // The board is patched at once, so moving on does not wait for the save.
    void storyboard.setReview([row.frame.id], state);
    if (autoAdvance.value && state !== 'draft') storyboard.move('next');
  }

  /** Moves the focus to the next frame still in draft (after the focused one, wrapping around). */
  function focusNextUnreviewed(): void {
    const next = nextUnreviewedOrdinal(storyboard.index, storyboard.focused);
    if (next >= 0) storyboard.focusOrdinal(next);
    else notice.value = 'Every shown frame is reviewed';
  }

  function openReject(target: RejectTarget): void {
    if (target.items.length > 0) rejecting.value = target;
  }

  /** Rejects what the dialog was opened for, with a reason from the list (or none) and a note. */
  async function confirmReject(reason: string | null, note: string): Promise<boolean> {
    const target = rejecting.value;
    if (!target) return false;
    const done = await report.attempt('reject', () => api().call('review.set', {
      items: target.items, state: 'rejected', reason, note: note.trim() || null,
    }));
    if (done === undefined) return false;
    rejecting.value = null;
    notice.value = `Rejected ${target.label}${reason ? ` (${reason})` : ''}`;
    return true;
  }

  return {
    autoAdvance, reasons, rejecting, notice,
    setReasons, resetReasons, reviewFocused, focusNextUnreviewed, openReject, confirmReject,
  };
});
