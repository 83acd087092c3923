import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { RenderInfo } from '@shared/api/methods-render';
import { api } from '../api/current';
import { errorReporter } from './errors';
import { useStoryboardStore } from './storyboard';
import { ownedSubscriptions } from './subscriptions';

/** How many renders the comparison shows side by side. */
export const COMPARE_SLOTS = 4;

/**
 * Comparing a frame's variants (its finished renders, `render.list`) side by side, choosing one as the
 * keyframe (`render.chooseKeyframe`), and re-rendering the frame with N new seeds (`render.start` with
 * `seed` and `variants`: seeds s, s + 100003, …; the first becomes the keyframe, all stay to compare).
 */
export const useCompareStore = defineStore('compare', () => {
  const storyboard = useStoryboardStore();
  const frameId = ref<number | null>(null);
  const renders = shallowRef<RenderInfo[]>([]);
  /**
   * Which renders are shown, in the order they were made (so choosing one never moves the others): the
   * newest COMPARE_SLOTS finished renders, the keyframe always among them.
   */
  const shown = computed(() => {
    const done = renders.value.filter((r) => r.status === 'done' && r.assetSha256).sort((a, b) => a.id - b.id);
    const newest = done.slice(-COMPARE_SLOTS);
    const key = done.find((r) => r.isKeyframe);
    if (key && !newest.includes(key)) newest.splice(0, 1, key);
    return newest.sort((a, b) => a.id - b.id);
  });
  const zoom = ref(1);
  const seedCount = ref(4);
  const notice = ref<string | null>(null);
  const report = errorReporter(notice);
  const jobId = ref<number | null>(null);

  async function load(): Promise<void> {
    const id = frameId.value;
    if (id === null) return;
    const list = await report.attempt('list the renders', () => api().call('render.list', { frameId: id }));
    if (list && frameId.value === id) renders.value = list;
  }

  function open(id: number): void {
    frameId.value = id;
    renders.value = [];
    zoom.value = 1;
    notice.value = null;
    void load();
  }

  function close(): void {
    frameId.value = null;
    renders.value = [];
  }

  /** Makes the n-th shown render (1-based) the frame's keyframe. */
  async function choose(n: number): Promise<void> {
    const render = shown.value[n - 1];
    if (!render) {
      notice.value = `There is no variant ${n} to choose`;
      return;
    }
    const chosen = await report.attempt('choose the keyframe', () => api().call('render.chooseKeyframe', { renderId: render.id }));
    if (chosen) {
      notice.value = `Variant ${n} (seed ${chosen.seed}) is the keyframe`;
      await load();
    }
  }

  /** Queues a render of the frame with `count` new seeds. */
  async function rerender(count: number): Promise<void> {
    const id = frameId.value;
    const filmId = storyboard.filmId;
    if (id === null || filmId === null) return;
    const variants = Math.max(1, Math.min(16, Math.floor(count)));
    const seed = Math.floor(Math.random() * 2 ** 31);
    const res = await report.attempt('start rendering', () =>
      api().call('render.start', { filmId, scope: { kind: 'frames', frameIds: [id] }, seed, variants }));
    if (res) {
      jobId.value = res.jobId;
      notice.value = `Rendering ${variants} new seed${variants === 1 ? '' : 's'} (job ${res.jobId})`;
    }
  }

  watch(() => storyboard.filmId, close);

  const subscriptions = ownedSubscriptions();
  subscriptions.hold(
    api().on('job.progress', (job) => {
      if (job.id !== jobId.value || frameId.value === null) return;
      if (job.status === 'done') void load();
      if (job.status === 'failed') notice.value = `The render failed: ${job.error?.message ?? 'see Jobs'}`;
    }),
    api().on('data.changed', (e) => {
      if (frameId.value !== null && e.filmId === storyboard.filmId && e.entities.some((x) => x.type === 'render' || x.type === 'frame')) void load();
    }),
  );

  return { frameId, renders, shown, zoom, seedCount, notice, jobId, open, close, load, choose, rerender };
});
