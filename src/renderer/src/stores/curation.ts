import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { ItemRef, ReviewState } from '@shared/api/entities';
import type { SearchHit } from '@shared/api/methods-curation';
import type { RenderInfo, RenderScope, RenderSettingsPatch, RenderSettingsView } from '@shared/api/methods-render';
import { api, apiSetup } from '../api/current';
import { errorReporter } from './errors';
import { useStoryboardStore } from './storyboard';
import { ownedSubscriptions } from './subscriptions';

/**
 * Curation of the open film: filter and search, a selection for bulk review, structure edits,
 * undo/redo labels, render settings and render jobs, and the full-size viewer.
 * Every write goes through the API; the `data.changed` event reloads the storyboard, and this store
 * refreshes its own lists on that event, on a finished render of the film, and after a dropped
 * connection comes back. Failures and confirmations share the status line `notice`.
 */

export type Panel = 'review' | 'edit' | 'render' | 'keys';
const refKey = (r: ItemRef) => `${r.type}:${r.id}`;

export const useCurationStore = defineStore('curation', () => {
  const storyboard = useStoryboardStore();
  const panelOpen = ref(false);
  const panel = ref<Panel>('review');
  const jobsOpen = ref(false);
  /** What the full-size viewer shows: a media key ("frame/<id>…" or "asset/<sha256>") and a caption. */
  const viewer = ref<{ key: string; caption: string } | null>(null);

  const query = ref('');
  const stateFilter = ref<ReviewState | ''>('');
  const typeFilter = ref<ItemRef['type'] | ''>('');
  const hits = shallowRef<SearchHit[]>([]);
  const total = ref(0);
  const searching = ref(false);
  const selection = ref(new Set<string>());
  const history = ref<{ undo: string | null; redo: string | null }>({ undo: null, redo: null });
  /** The film's render settings and the size they resolve to (with where each value comes from). */
  const settings = ref<RenderSettingsView | null>(null);
  const renders = shallowRef<RenderInfo[]>([]);
  const notice = ref<string | null>(null);
  const report = errorReporter(notice);

  const filmId = computed(() => storyboard.filmId);
  const selectedRefs = computed<ItemRef[]>(() => [...selection.value].map((k) => {
    const [type, id] = k.split(':');
    return { type: type as ItemRef['type'], id: Number(id) };
  }));

  let searchSeq = 0;
  async function search(): Promise<void> {
    if (filmId.value === null) return;
    const seq = ++searchSeq;
    searching.value = true;
    try {
      const res = await api().call('curation.search', {
        filmId: filmId.value, query: query.value, state: stateFilter.value || undefined, type: typeFilter.value || undefined, limit: 5000,
      });
      if (seq !== searchSeq) return;
      hits.value = res.hits;
      total.value = res.total;
      report.clear();
    } catch (err) {
      report.fail('search', err);
    } finally {
      if (seq === searchSeq) searching.value = false;
    }
  }

  async function loadHistory(): Promise<void> {
    if (filmId.value === null) return;
    try {
      history.value = await api().call('curation.history', { filmId: filmId.value });
    } catch {
      // Labels only decorate the buttons.
    }
  }

  async function loadSettings(): Promise<void> {
    const id = filmId.value;
    if (id === null) return;
    const loaded = await report.attempt('load the render settings', () => api().call('render.getSettings', { filmId: id }));
    if (loaded) settings.value = loaded;
  }

  /** Saves the film's render settings; a refusal is returned (the form shows it by its fields), not put in the bar. */
  async function saveSettings(patch: RenderSettingsPatch): Promise<{ ok: true } | { ok: false; error: unknown }> {
    const id = filmId.value;
    if (id === null) return { ok: false, error: new Error('No film is open') };
    try {
      settings.value = await api().call('render.setSettings', { filmId: id, settings: patch });
    } catch (error) {
      return { ok: false, error };
    }
    notice.value = 'Render settings saved';
    return { ok: true };
  }

  async function loadRenders(frameId: number | null): Promise<void> {
    if (frameId === null) {
      renders.value = [];
      return;
    }
    try {
      renders.value = await api().call('render.list', { frameId });
    } catch {
      renders.value = [];
    }
  }

  /** Everything shown depends on the film's rows: refresh after any change to the open film. */
  function refresh(): void {
    if (panelOpen.value) void search();
    void loadHistory();
    void loadRenders(storyboard.focusedRow?.frame.id ?? null);
  }

  function isSelected(ref_: ItemRef): boolean {
    return selection.value.has(refKey(ref_));
  }

  function toggle(ref_: ItemRef): void {
    const next = new Set(selection.value);
    const k = refKey(ref_);
    if (next.has(k)) next.delete(k);
    else next.add(k);
    selection.value = next;
  }

  function selectAllShown(): void {
    selection.value = new Set([...selection.value, ...hits.value.map(refKey)]);
  }

  function clearSelection(): void {
    selection.value = new Set();
  }

  /** `withLinesAndQa`: the selected frames' dialogue lines and (for whole subchapters) QA pairs get the same state. */
  async function reviewSelection(state: ReviewState, note: string | null = null, withLinesAndQa = false): Promise<void> {
    const items = selectedRefs.value;
    if (items.length === 0) {
      notice.value = 'Nothing selected';
      return;
    }
    const result = await report.attempt('set the review state', () => api().call('review.set', { items, state, note, withLinesAndQa }));
    if (!result) return;
    const { updated } = result;
    notice.value = `${state === 'approved' ? 'Approved' : state === 'rejected' ? 'Rejected' : 'Reset'} ${updated} item${updated === 1 ? '' : 's'}`;
    clearSelection();
  }

  async function reviewOne(item: ItemRef, state: ReviewState, note: string | null = null): Promise<void> {
    await report.attempt('set the review state', () => api().call('review.set', { items: [item], state, note }));
  }

  async function undoRedo(which: 'undo' | 'redo'): Promise<void> {
    await storyboard.undoRedo(which);
    await loadHistory();
  }

  const editDialogue = (id: number, fields: { text?: string; speaker?: string | null }) =>
    report.attempt('save the dialogue line', () => api().call('dialogue.update', { id, ...fields }));
  const editQa = (id: number, fields: { question?: string; answer?: string }) =>
    report.attempt('save the QA pair', () => api().call('qa.update', { id, ...fields }));
  const editFrame = (frameId: number, fields: { description?: string; scene?: string }) =>
    report.attempt('save the frame', () => api().call('frames.update', { frameId, ...fields }));
  const insertFrame = (subchapterId: number, index: number, description: string) =>
    report.attempt('insert a frame', () => api().call('curation.insertFrame', { subchapterId, index, description }));
  const deleteFrame = (frameId: number) => report.attempt('delete the frame', () => api().call('curation.deleteFrame', { frameId }));
  const moveFrame = (frameId: number, toIndex: number) => report.attempt('move the frame', () => api().call('curation.moveFrame', { frameId, toIndex }));
  const insertDialogue = (subchapterId: number, afterFrame: number, speaker: string | null, text: string) =>
    report.attempt('add a dialogue line', () => api().call('curation.insertDialogue', { subchapterId, afterFrame, speaker, text }));
  const deleteDialogue = (id: number) => report.attempt('delete the dialogue line', () => api().call('curation.deleteDialogue', { id }));
  const moveDialogue = (id: number, afterFrame: number, index?: number) =>
    report.attempt('move the dialogue line', () => api().call('curation.moveDialogue', { id, afterFrame, index }));
  const chooseKeyframe = (renderId: number) => report.attempt('choose the keyframe', () => api().call('render.chooseKeyframe', { renderId }));

  /** Bulk approve (button and Shift+A) also takes the frames' lines and whole subchapters' QA (review tab option). */
  const approveWithLinesAndQa = ref(true);
  /** "Only frames without a current keyframe" (render tab): scope renders skip rendered, non-stale frames. */
  const onlyMissing = ref(false);

  async function startRender(scope: RenderScope, seed?: number): Promise<number | null> {
    const id = filmId.value;
    if (id === null) return null;
    // A chosen seed re-renders one frame on purpose; the option is for subchapter/chapter/film renders.
    const skipRendered = seed === undefined && scope.kind !== 'frames' && onlyMissing.value;
    const res = await report.attempt('start rendering', () => api().call('render.start', { filmId: id, scope, seed, onlyMissing: skipRendered }));
    if (res) {
      notice.value = `Render job ${res.jobId} queued`;
      jobsOpen.value = true;
    }
    return res?.jobId ?? null;
  }

  /** A new random seed for one frame: its keyframe is replaced, older renders stay in its history. */
  function rerenderWithNewSeed(frameId: number): Promise<number | null> {
    const seed = Math.floor(Math.random() * 2 ** 31);
    return startRender({ kind: 'frames', frameIds: [frameId] }, seed);
  }

  /** Renders the focused frame, its subchapter or chapter, or the whole film. */
  function renderFocused(kind: 'film' | 'chapter' | 'subchapter' | 'frame'): void {
    const f = storyboard.focusedRow?.frame;
    const sub = f ? storyboard.board?.subchapters.find((s) => s.id === f.subchapterId) : undefined;
    if (kind === 'film') void startRender({ kind: 'film' });
    else if (kind === 'chapter' && sub) void startRender({ kind: 'chapter', chapterId: sub.chapterId });
    else if (kind === 'subchapter' && f) void startRender({ kind: 'subchapter', subchapterId: f.subchapterId });
    else if (kind === 'frame' && f) void startRender({ kind: 'frames', frameIds: [f.id] });
  }

  watch([query, stateFilter, typeFilter], () => { if (panelOpen.value) void search(); });
  watch(panelOpen, (open) => { if (open) { void search(); void loadSettings(); } });
  watch(filmId, () => {
    clearSelection();
    hits.value = [];
    settings.value = null;
    refresh();
    if (panelOpen.value) void loadSettings();
  });
  watch(() => storyboard.focusedRow?.frame.id ?? null, (id) => void loadRenders(id));

  const subscriptions = ownedSubscriptions();
  subscriptions.hold(
    api().on('data.changed', (payload) => {
      if (payload.filmId === null || payload.filmId === filmId.value) refresh();
    }),
    // A render that finishes changes the keyframe list of the focused frame.
    api().on('job.progress', (job) => {
      if (job.status === 'done' && job.filmId === filmId.value) refresh();
    }),
    // After a dropped connection comes back, show fresh data instead of the failure of the last call.
    apiSetup().onConnectionChange((status) => {
      if (status.state === 'open' && status.resumed) {
        notice.value = null;
        refresh();
      }
    }),
  );

  return {
    panelOpen, panel, jobsOpen, viewer, query, stateFilter, typeFilter, hits, total, searching, selection, selectedRefs,
    history, settings, renders, notice, filmId, onlyMissing, approveWithLinesAndQa,
    search, loadHistory, loadSettings, saveSettings, loadRenders, refresh, isSelected, toggle, selectAllShown, clearSelection,
    reviewSelection, reviewOne, undoRedo, editDialogue, editQa, editFrame, insertFrame, deleteFrame, moveFrame,
    insertDialogue, deleteDialogue, moveDialogue, chooseKeyframe, startRender, renderFocused, rerenderWithNewSeed,
  };
});
