import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { EventPayload } from '@shared/api/contract';
import type { Frame, ReviewState, Storyboard } from '@shared/api/entities';
import { api, apiSetup } from '../api/current';
import { buildStoryIndex, moveFocus, type FrameRow, type Move, type StoryIndex } from '../storyboard/rows';
import { narrowIndex, type FrameView } from '../storyboard/filters';
import { errorCode, errorReporter } from './errors';
import { addEvent, applyItems, emptyWork, hasWork, PATCH_LIMIT, workSize, type RefreshWork } from './storyboard-patch';
import { ownedSubscriptions } from './subscriptions';

const EMPTY_INDEX: StoryIndex = buildStoryIndex({ chapters: [], subchapters: [], frames: [], dialogue: [], qa: [] });

/**
 * The open film: its storyboard, the keyboard focus (a frame ordinal), the detail panel, and the
 * edits a curator makes (review state, description). Edits patch the local copy at once and are
 * confirmed by the `data.changed` event that the main process sends after every write: the items it
 * names are refetched and patched in, or the whole film when it names none (storyboard-patch.ts).
 * The store subscribes to that event itself, and refetches the film when a dropped connection
 * comes back.
 */
export const useStoryboardStore = defineStore('storyboard', () => {
  const filmId = ref<number | null>(null);
  // shallowRef: a 1,331-frame film is replaced or patched as a whole, never deeply observed.
  const board = shallowRef<Storyboard | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const notice = ref<string | null>(null);
  /** A film that cannot be opened shows instead of the board. */
  const openReport = errorReporter(error);
  /** Failed edits show in the status line. */
  const report = errorReporter(notice);
  /** A failed refresh has its own reporter: only the next refresh that succeeds clears its notice. */
  const refreshReport = errorReporter(notice);
  const focused = ref(0);
  const detailOpen = ref(false);

  /** The whole film; `index` is what is shown: narrowed by the storyboard's filters (stores/filters.ts sets `view`). */
  const fullIndex = computed<StoryIndex>(() => (board.value ? buildStoryIndex(board.value) : EMPTY_INDEX));
  const view = shallowRef<FrameView | null>(null);
  const index = computed<StoryIndex>(() => narrowIndex(fullIndex.value, view.value));
  const frameCount = computed(() => index.value.frameRows.length);
  const focusedRow = computed<FrameRow | null>(() => {
    const rowIndex = index.value.frameRows[focused.value];
    const row = rowIndex === undefined ? undefined : index.value.rows[rowIndex];
    return row?.kind === 'frame' ? row : null;
  });

  let loadSeq = 0;
  /** What the next refresh has to fetch; events arriving while one runs add to it. */
  let pending: RefreshWork = emptyWork();
  let refreshing = false;
  let refreshDone: Promise<void> = Promise.resolve();
  /** A refresh failed, so the board may lack changes whose events are spent: the next one fetches everything. */
  let missedChanges = false;

  async function open(id: number): Promise<void> {
    const seq = ++loadSeq;
    pending = emptyWork();
    missedChanges = false;
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
      openReport.fail('open the film', err);
    } finally {
      if (seq === loadSeq) loading.value = false;
    }
  }

  /** Refetches the whole open film, keeping the focus on the same frame. */
  function reload(): Promise<void> {
    pending.full = true;
    return refresh();
  }

  /**
   * Runs the pending work, one request at a time so answers apply in the order they were asked:
   * a whole storyboard, or only the named items patched in place (falling back to the whole
   * storyboard when a patch would change the order). Work that arrives meanwhile is merged and done
   * next, so a burst of events costs one request after the one under way.
   */
  function refresh(): Promise<void> {
    if (!refreshing) {
      refreshing = true;
      refreshDone = runRefresh();
    }
    return refreshDone;
  }

  async function runRefresh(): Promise<void> {
    try {
      while (hasWork(pending) && filmId.value !== null) {
        const work = pending;
        pending = emptyWork();
        if (missedChanges) work.full = true;
        const id = filmId.value;
        const seq = ++loadSeq;
        try {
          if (work.full || board.value?.film.id !== id || workSize(work) > PATCH_LIMIT) {
            const result = await api().call('films.storyboard', { filmId: id });
            if (seq !== loadSeq) continue; // another film was opened meanwhile: drop the answer
            missedChanges = false;
            replaceBoard(result);
          } else {
            const items = await api().call('films.storyboardItems', {
              filmId: id, frames: [...work.frames], dialogue: [...work.dialogue], qa: [...work.qa],
            });
            if (seq !== loadSeq) continue;
            const patched = board.value ? applyItems(board.value, work, items) : null;
            if (patched) replaceBoard(patched);
            else pending.full = true;
          }
        } catch (err) {
          if (seq !== loadSeq) continue;
          if (errorCode(err) === 'not_found') close();
          else {
            missedChanges = true;
            refreshReport.fail('refresh the storyboard', err);
          }
        }
      }
    } finally {
      // Cleared in the same step as the last look at `pending`, so work added after it starts a new run.
      refreshing = false;
    }
  }

  /** Shows a fresher board, keeping the focus on the same frame (read now: the user may have moved meanwhile). */
  function replaceBoard(next: Storyboard): void {
    const focusedId = focusedRow.value?.frame.id;
    board.value = next;
    // It may have superseded the answer of an open() still under way.
    loading.value = false;
    error.value = null;
    // A refresh that failed while the connection was down is stale news once one succeeds.
    refreshReport.clear();
    const ordinal = focusedId === undefined ? undefined : index.value.frameOrdinalById.get(focusedId);
    focused.value = Math.min(ordinal ?? focused.value, Math.max(0, frameCount.value - 1));
  }

  /**
   * Shows only these frames (null: all), keeping the focus on the same frame when it stays shown; when it
   * leaves the view (approved under a "Draft" filter) the focus stays at the same place, on the frame after it.
   */
  function setView(next: FrameView | null): void {
    const focusedId = focusedRow.value?.frame.id;
    view.value = next;
    const ordinal = focusedId === undefined ? undefined : index.value.frameOrdinalById.get(focusedId);
    focused.value = ordinal ?? Math.min(focused.value, Math.max(0, frameCount.value - 1));
  }

  function close(): void {
    loadSeq++;
    pending = emptyWork();
    filmId.value = null;
    board.value = null;
    detailOpen.value = false;
    error.value = null;
  }

  function onDataChanged(payload: EventPayload<'data.changed'>): void {
    if (filmId.value === null) return;
    if (payload.filmId !== null && payload.filmId !== filmId.value) return;
    addEvent(pending, payload);
    if (hasWork(pending)) void refresh();
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
    const done = await report.attempt('set the review state', () =>
      api().call('review.set', { items: frameIds.map((id) => ({ type: 'frame' as const, id })), state }));
    if (done === undefined) patchFrames((f) => (before.has(f.id) ? { ...f, review: before.get(f.id)! } : f));
  }

  async function updateDescription(frameId: number, description: string): Promise<boolean> {
    const frame = await report.attempt('save the description', () => api().call('frames.update', { frameId, description }));
    if (frame) patchFrames((f) => (f.id === frame.id ? frame : f));
    return frame !== undefined;
  }

  async function undoRedo(which: 'undo' | 'redo'): Promise<void> {
    if (filmId.value === null) return;
    const id = filmId.value;
    const result = await report.attempt(which, () => api().call(which === 'undo' ? 'edits.undo' : 'edits.redo', { filmId: id }));
    if (result) notice.value = result.edit ? `${which === 'undo' ? 'Undid' : 'Redid'}: ${result.edit.label}` : `Nothing to ${which}`;
  }

  const subscriptions = ownedSubscriptions();
  subscriptions.hold(
    api().on('data.changed', onDataChanged),
    apiSetup().onConnectionChange((status) => {
      // Events may have been missed while the connection was down.
      if (status.state === 'open' && status.resumed && filmId.value !== null) void reload();
    }),
  );

  return {
    filmId, board, loading, error, notice, focused, detailOpen, index, fullIndex, view, frameCount, focusedRow,
    open, setView, reload, close, onDataChanged, move, focusOrdinal, setReview, updateDescription, undoRedo,
  };
});
