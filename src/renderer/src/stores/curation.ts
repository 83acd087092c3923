import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { ItemRef, ReviewState } from '@shared/api/entities';
import type { SearchHit } from '@shared/api/methods-curation';
import type { RenderInfo, RenderScope, RenderSettings } from '@shared/api/methods-render';
import { api } from '../api/current';
import { describeError } from './errors';
import { useStoryboardStore } from './storyboard';

/**
 * Curation of the open film: filter and search, a selection for bulk review, structure edits,
 * undo/redo labels, render settings and render jobs, and the full-size viewer.
 * Every write goes through the API; the `data.changed` event reloads the storyboard.
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
  const settings = ref<RenderSettings | null>(null);
  const renders = shallowRef<RenderInfo[]>([]);
  /** The note a rejection carries, typed in the review tab and used by every reject button. */
  const reviewNote = ref('');
  const message = ref<string | null>(null);

  const filmId = computed(() => storyboard.filmId);
  const selectedRefs = computed<ItemRef[]>(() => [...selection.value].map((k) => {
    const [type, id] = k.split(':');
    return { type: type as ItemRef['type'], id: Number(id) };
  }));

  function fail(what: string, err: unknown): void {
    message.value = `Could not ${what}: ${describeError(err)}`;
  }

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
    } catch (err) {
      fail('search', err);
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
    if (filmId.value === null) return;
    try {
      settings.value = await api().call('render.getSettings', { filmId: filmId.value });
    } catch (err) {
      fail('load the render settings', err);
    }
  }

  async function saveSettings(patch: Partial<RenderSettings>): Promise<boolean> {
    if (filmId.value === null) return false;
    try {
      settings.value = await api().call('render.setSettings', { filmId: filmId.value, settings: patch });
      message.value = 'Render settings saved';
      return true;
    } catch (err) {
      fail('save the render settings', err);
      return false;
    }
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

  async function reviewSelection(state: ReviewState, note: string | null = null): Promise<void> {
    const items = selectedRefs.value;
    if (items.length === 0) {
      message.value = 'Nothing selected';
      return;
    }
    try {
      const { updated } = await api().call('review.set', { items, state, note });
      message.value = `${state === 'approved' ? 'Approved' : state === 'rejected' ? 'Rejected' : 'Reset'} ${updated} item${updated === 1 ? '' : 's'}`;
      clearSelection();
    } catch (err) {
      fail('set the review state', err);
    }
  }

  async function reviewOne(item: ItemRef, state: ReviewState, note: string | null = null): Promise<void> {
    try {
      await api().call('review.set', { items: [item], state, note });
    } catch (err) {
      fail('set the review state', err);
    }
  }

  async function undoRedo(which: 'undo' | 'redo'): Promise<void> {
    await storyboard.undoRedo(which);
    await loadHistory();
  }

  async function call<T>(what: string, run: () => Promise<T>): Promise<T | null> {
    try {
      return await run();
    } catch (err) {
      fail(what, err);
      return null;
    }
  }

  const editDialogue = (id: number, fields: { text?: string; speaker?: string | null }) =>
    call('save the dialogue line', () => api().call('dialogue.update', { id, ...fields }));
  const editQa = (id: number, fields: { question?: string; answer?: string }) =>
    call('save the QA pair', () => api().call('qa.update', { id, ...fields }));
  const editFrame = (frameId: number, fields: { description?: string; scene?: string }) =>
    call('save the frame', () => api().call('frames.update', { frameId, ...fields }));
  const insertFrame = (subchapterId: number, index: number, description: string) =>
    call('insert a frame', () => api().call('curation.insertFrame', { subchapterId, index, description }));
  const deleteFrame = (frameId: number) => call('delete the frame', () => api().call('curation.deleteFrame', { frameId }));
  const moveFrame = (frameId: number, toIndex: number) => call('move the frame', () => api().call('curation.moveFrame', { frameId, toIndex }));
  const insertDialogue = (subchapterId: number, afterFrame: number, speaker: string | null, text: string) =>
    call('add a dialogue line', () => api().call('curation.insertDialogue', { subchapterId, afterFrame, speaker, text }));
  const deleteDialogue = (id: number) => call('delete the dialogue line', () => api().call('curation.deleteDialogue', { id }));
  const moveDialogue = (id: number, afterFrame: number, index?: number) =>
    call('move the dialogue line', () => api().call('curation.moveDialogue', { id, afterFrame, index }));
  const chooseKeyframe = (renderId: number) => call('choose the keyframe', () => api().call('render.chooseKeyframe', { renderId }));

  async function startRender(scope: RenderScope, seed?: number): Promise<number | null> {
    if (filmId.value === null) return null;
    const res = await call('start rendering', () => api().call('render.start', { filmId: filmId.value!, scope, seed }));
    if (res) {
      message.value = `Render job ${res.jobId} queued`;
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

  return {
    panelOpen, panel, jobsOpen, viewer, query, stateFilter, typeFilter, hits, total, searching, selection, selectedRefs,
    history, settings, renders, reviewNote, message, filmId,
    search, loadHistory, loadSettings, saveSettings, loadRenders, refresh, isSelected, toggle, selectAllShown, clearSelection,
    reviewSelection, reviewOne, undoRedo, editDialogue, editQa, editFrame, insertFrame, deleteFrame, moveFrame,
    insertDialogue, deleteDialogue, moveDialogue, chooseKeyframe, startRender, renderFocused, rerenderWithNewSeed,
  };
});
