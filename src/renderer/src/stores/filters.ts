import { defineStore } from 'pinia';
import { computed, reactive, ref, shallowRef, watch } from 'vue';
import { api, apiSetup } from '../api/current';
import {
  emptyFilter, filterCounts, frameTraits, isFiltering, storyOrder, visibleFrames,
  type FilterCounts, type FilterFacts, type FrameFilter,
} from '../storyboard/filters';
import { errorReporter } from './errors';
import { useQualityStore } from './quality';
import { useStoryboardStore } from './storyboard';
import { ownedSubscriptions } from './subscriptions';
import { loadLayout, loadSavedViews, saveLayout, saveSavedViews, type SavedView, type StoryboardLayout } from './filter-storage';

/**
 * The storyboard's own filters (list and grid): the filter set, what the server knows for it
 * (`curation.frameFilters`: failed renders, text matches), the quality flags (`quality.film`, through the
 * quality store), the count on every chip, saved views, and the layout (list or grid, zoom).
 * The frames a filter shows are handed to the storyboard store (`setView`), so every view of the film —
 * list, grid, keyboard moves — works on the same narrowed index.
 */
export const useFiltersStore = defineStore('filters', () => {
  const storyboard = useStoryboardStore();
  const quality = useQualityStore();
  const filter = reactive<FrameFilter>(emptyFilter());
  const failedRender = shallowRef<ReadonlySet<number>>(new Set());
  const textMatches = shallowRef<ReadonlySet<number> | null>(null);
  /** The text the matches answer (the field may be ahead of it while typing). */
  const matchedText = ref('');
  const error = ref<string | null>(null);
  const report = errorReporter(error);
  const savedViews = ref<SavedView[]>(loadSavedViews());
  const layout = reactive<StoryboardLayout>(loadLayout());
  /** Cards per grid row now (set by the grid from its width): up/down keys move by this many. */
  const gridColumns = ref(1);

  const facts = computed<FilterFacts>(() => ({
    failedRender: failedRender.value,
    textMatches: filter.text.trim() !== '' && matchedText.value === filter.text.trim() ? textMatches.value : null,
    quality: quality.quality && quality.filmId === storyboard.filmId ? quality.byFrame : null,
  }));
  const frames = computed(() => storyboard.board?.frames ?? []);
  const traits = computed(() => frameTraits(frames.value, storyboard.board?.characters ?? []));
  const counts = computed<FilterCounts>(() => filterCounts(frames.value, storyboard.board?.characters ?? [], facts.value, traits.value));
  const active = computed(() => isFiltering(filter) || filter.sort === 'quality');
  const shownIds = computed(() => visibleFrames(frames.value, filter, facts.value, traits.value, storyOrder(storyboard.fullIndex)));
  /** The text query is typed but its matches are not in yet. */
  const textPending = computed(() => filter.text.trim() !== '' && facts.value.textMatches === null);

  watch([shownIds, active], () => {
    storyboard.setView(active.value ? { frameIds: shownIds.value, flat: filter.sort === 'quality' } : null);
  });

  let factsSeq = 0;
  /** Fetches failed renders and, when a query is typed, its matches. */
  async function loadFacts(): Promise<void> {
    const filmId = storyboard.filmId;
    if (filmId === null) return;
    const seq = ++factsSeq;
    const query = filter.text.trim();
    const res = await report.attempt('filter the storyboard', () => api().call('curation.frameFilters', { filmId, query }));
    if (!res || seq !== factsSeq || filmId !== storyboard.filmId) return;
    failedRender.value = new Set(res.failedRender);
    textMatches.value = res.textMatches ? new Set(res.textMatches) : null;
    matchedText.value = query;
  }

  let timer: ReturnType<typeof setTimeout> | null = null;
  function loadSoon(delayMs = 150): void {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => { timer = null; void loadFacts(); }, delayMs);
  }

  watch(() => filter.text, () => loadSoon(200));
  watch(() => storyboard.filmId, () => {
    failedRender.value = new Set();
    textMatches.value = null;
    matchedText.value = '';
    void loadFacts();
  }, { immediate: true });

  function reset(): void {
    Object.assign(filter, emptyFilter());
  }

  function toggleReview(state: FrameFilter['review'][number]): void {
    filter.review = filter.review.includes(state) ? filter.review.filter((s) => s !== state) : [...filter.review, state];
  }

  /** Saves the current filter set under `name` (replacing a view of that name); returns a refusal or null. */
  function saveView(name: string): string | null {
    const trimmed = name.trim();
    if (!trimmed) return 'Name the view first';
    const view: SavedView = { name: trimmed, filter: { ...filter, review: [...filter.review] } };
    savedViews.value = [...savedViews.value.filter((v) => v.name !== trimmed), view];
    saveSavedViews(savedViews.value);
    return null;
  }

  function applyView(name: string): void {
    const view = savedViews.value.find((v) => v.name === name);
    if (view) Object.assign(filter, emptyFilter(), view.filter, { review: [...view.filter.review] });
  }

  function deleteView(name: string): void {
    savedViews.value = savedViews.value.filter((v) => v.name !== name);
    saveSavedViews(savedViews.value);
  }

  function setMode(mode: StoryboardLayout['mode']): void {
    layout.mode = mode;
    saveLayout(layout);
  }

  function zoom(step: number): void {
    layout.cardWidth = Math.max(96, Math.min(480, layout.cardWidth + step));
    saveLayout(layout);
  }

  const subscriptions = ownedSubscriptions();
  subscriptions.hold(
    // Renders (failed or not) and text edits change what the filters know.
    api().on('data.changed', (e) => {
      if (e.filmId === storyboard.filmId || e.filmId === null) loadSoon();
    }),
    api().on('job.progress', (job) => {
      if ((job.status === 'done' || job.status === 'failed') && job.filmId === storyboard.filmId) loadSoon();
    }),
    apiSetup().onConnectionChange((status) => {
      if (status.state === 'open' && status.resumed) loadSoon();
    }),
  );

  return {
    filter, facts, counts, active, shownIds, textPending, error, savedViews, layout, gridColumns,
    loadFacts, reset, toggleReview, saveView, applyView, deleteView, setMode, zoom,
  };
});
