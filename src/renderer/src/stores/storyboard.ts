import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { EventPayload } from '../../../shared/api/contract';
import type { Frame, ReviewState, Storyboard } from '../../../shared/api/entities';
import { api } from '../api/current';
import { buildStoryIndex, moveFocus, type FrameRow, type Move, type StoryIndex } from '../storyboard/rows';
import { describeError } from './errors';

const EMPTY_INDEX: StoryIndex = buildStoryIndex({ chapters: [], subchapters: [], frames: [], dialogue: [], qa: [] });

/**
 * The open film: its storyboard, the keyboard focus (a frame ordinal), the detail panel, and the
 * edits a curator makes (review state, description). Edits patch the local copy at once and are
 * confirmed by the `data.changed` event that the main process sends after every write.
 */
export const useStoryboardStore = defineStore('storyboard', () => {
  const filmId = ref<number | null>(null);
  // shallowRef: a 1,331-frame film is replaced or patched as a whole, never deeply observed.
  const board = shallowRef<Storyboard | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const notice = ref<string | null>(null);
  /** The notice a failed refresh showed, cleared by the next refresh that succeeds. */
  let refreshNotice: string | null = null;
  const focused = ref(0);
  const detailOpen = ref(false);

  const index = computed<StoryIndex>(() => (board.value ? buildStoryIndex(board.value) : EMPTY_INDEX));
  const frameCount = computed(() => index.value.frameRows.length);
  const focusedRow = computed<FrameRow | null>(() => {
    const rowIndex = index.value.frameRows[focused.value];
    const row = rowIndex === undefined ? undefined : index.value.rows[rowIndex];
    return row?.kind === 'frame' ? row : null;
  });

  let loadSeq = 0;
  let reloading: Promise<void> | null = null;
  let reloadAgain = false;

  async function open(id: number): Promise<void> {
    const seq = ++loadSeq;
    filmId.value = id;
    loading.value = true;
    error.value = null;
    detailOpen.value = false;
    try {
      const result = await api().call('films.storyboard', { filmId: id });
      if (seq !== loadSeq) return;
      board.value = result;
      focused.value = 0;
    } catch (err) {
      if (seq !== loadSeq) return;
      board.value = null;
      error.value = describeError(err);
    } finally {
      if (seq === loadSeq) loading.value = false;
    }
  }

  /** Refetches the open film, keeping the focus on the same frame. Bursts of events coalesce. */
  async function reload(): Promise<void> {
    if (reloading) {
      reloadAgain = true;
      return reloading;
    }
    reloading = (async () => {
      do {
        reloadAgain = false;
        const id = filmId.value;
        if (id === null) return;
        const seq = ++loadSeq;
        try {
          const result = await api().call('films.storyboard', { filmId: id });
          if (seq !== loadSeq) return;
          // Read the focus only now: the user may have moved while the fetch was under way.
          const focusedId = focusedRow.value?.frame.id;
          board.value = result;
          // A refresh that failed while the connection was down is stale news once one succeeds.
          if (refreshNotice !== null && notice.value === refreshNotice) notice.value = null;
          refreshNotice = null;
          const ordinal = focusedId === undefined ? undefined : index.value.frameOrdinalById.get(focusedId);
          focused.value = Math.min(ordinal ?? focused.value, Math.max(0, frameCount.value - 1));
        } catch (err) {
          if (seq !== loadSeq) return;
          if (isMissing(err)) close();
          else notice.value = refreshNotice = `Could not refresh the storyboard: ${describeError(err)}`;
        }
      } while (reloadAgain);
    })().finally(() => {
      reloading = null;
    });
    return reloading;
  }

  function close(): void {
    loadSeq++;
    filmId.value = null;
    board.value = null;
    detailOpen.value = false;
    error.value = null;
  }

  function onDataChanged(payload: EventPayload<'data.changed'>): void {
    if (filmId.value === null) return;
    if (payload.filmId === null || payload.filmId === filmId.value) void reload();
  }

  function move(m: Move): void {
    const next = moveFocus(index.value, focused.value, m);
    if (next >= 0) focused.value = next;
  }

  function focusOrdinal(ordinal: number): void {
    if (ordinal >= 0 && ordinal < frameCount.value) focused.value = ordinal;
  }

  function patchFrames(patch: (frame: Frame) => Frame): void {
    const current = board.value;
    if (!current) return;
    board.value = { ...current, frames: current.frames.map(patch) };
  }

  async function setReview(frameIds: number[], state: ReviewState): Promise<void> {
    const current = board.value;
    if (!current || frameIds.length === 0) return;
    const ids = new Set(frameIds);
    const before = new Map(current.frames.filter((f) => ids.has(f.id)).map((f) => [f.id, f.review]));
    patchFrames((f) => (ids.has(f.id) ? { ...f, review: { state, note: f.review.note } } : f));
    try {
      await api().call('review.set', { items: frameIds.map((id) => ({ type: 'frame' as const, id })), state });
    } catch (err) {
      patchFrames((f) => (before.has(f.id) ? { ...f, review: before.get(f.id)! } : f));
      notice.value = `Could not set the review state: ${describeError(err)}`;
    }
  }

  async function updateDescription(frameId: number, description: string): Promise<boolean> {
    try {
      const frame = await api().call('frames.update', { frameId, description });
      patchFrames((f) => (f.id === frame.id ? frame : f));
      return true;
    } catch (err) {
      notice.value = `Could not save the description: ${describeError(err)}`;
      return false;
    }
  }

  async function undoRedo(which: 'undo' | 'redo'): Promise<void> {
    if (filmId.value === null) return;
    try {
      const { edit } = await api().call(which === 'undo' ? 'edits.undo' : 'edits.redo', { filmId: filmId.value });
      notice.value = edit ? `${which === 'undo' ? 'Undid' : 'Redid'}: ${edit.label}` : `Nothing to ${which}`;
    } catch (err) {
      notice.value = `Could not ${which}: ${describeError(err)}`;
    }
  }

  return {
    filmId, board, loading, error, notice, focused, detailOpen, index, frameCount, focusedRow,
    open, reload, close, onDataChanged, move, focusOrdinal, setReview, updateDescription, undoRedo,
  };
});

function isMissing(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'not_found';
}
