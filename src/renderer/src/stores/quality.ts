import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { Job } from '@shared/api/entities';
import type { FilmQuality, FrameQuality } from '@shared/api/methods-quality';
import { api } from '../api/current';
import { errorReporter } from './errors';
import { useStoryboardStore } from './storyboard';
import { ownedSubscriptions } from './subscriptions';

export type QualitySort = 'film' | 'description' | 'lpips' | 'clip' | 'flags';

/**
 * Dataset quality of the open film (docs/quality.md): its last computed scores and flags (`quality.film`), the
 * scoring job, and the quality panel's filter and sort. Follows the storyboard's film; refetches when the film's
 * rows change (a finished job touches the film, a new keyframe touches its render).
 */
export const useQualityStore = defineStore('quality', () => {
  const open = ref(false);
  const filmId = ref<number | null>(null);
  const quality = ref<FilmQuality | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const report = errorReporter(error);
  const clip = ref('');
  const lpips = ref('');
  const lpipsSize = ref(64);
  const job = ref<Job | null>(null);
  const onlyFlagged = ref(true);
  const sort = ref<QualitySort>('flags');
  const filmEvents = ownedSubscriptions();

  const byFrame = computed(() => new Map<number, FrameQuality>((quality.value?.frames ?? []).map((f) => [f.frameId, f])));
  const running = computed(() => job.value !== null && (job.value.status === 'queued' || job.value.status === 'running'));

  /** Frames for the panel's grid: flagged only (or all), in the chosen order (worst first). */
  const listed = computed(() => {
    const frames = (quality.value?.frames ?? []).filter((f) => !onlyFlagged.value || f.flags.length > 0);
    const worstPair = (f: FrameQuality, pick: (p: { clip: number; lpips: number | null }) => number | null, high: boolean) => {
      const vals = [f.prev, f.next].flatMap((p) => (p && pick(p) !== null ? [pick(p)!] : []));
      if (!vals.length) return high ? -Infinity : Infinity;
      return high ? Math.max(...vals) : Math.min(...vals);
    };
    const key: Record<QualitySort, (f: FrameQuality) => number> = {
      film: (f) => f.index,
      description: (f) => f.textCosine ?? Infinity,
      lpips: (f) => -worstPair(f, (p) => p.lpips, true),
      clip: (f) => worstPair(f, (p) => p.clip, false),
      flags: (f) => -f.flags.length * 1000 + f.index / 1e6,
    };
    return [...frames].sort((a, b) => key[sort.value](a) - key[sort.value](b) || a.index - b.index);
  });

  async function load(id: number | null = filmId.value): Promise<void> {
    if (filmId.value !== id) {
      filmId.value = id;
      quality.value = null;
      subscribe();
    }
    if (id === null) return;
    loading.value = true;
    const next = await report.attempt('load the quality scores', () => api().call('quality.film', { filmId: id }));
    if (next !== undefined && filmId.value === id) quality.value = next;
    loading.value = false;
  }

  function subscribe(): void {
    filmEvents.release();
    filmEvents.hold(
      api().on('data.changed', (e) => {
        if (e.filmId === filmId.value && e.entities.some((x) => x.type === 'film' || x.type === 'render')) void load();
      }),
      api().on('job.progress', (j) => {
        if (j.id !== job.value?.id) return;
        job.value = j;
        if (j.status === 'done') void load();
        if (j.status === 'failed' && j.error) error.value = `${j.error.message} (${j.error.code})`;
      }),
    );
  }

  async function start(): Promise<void> {
    if (filmId.value === null) return;
    const id = filmId.value;
    const started = await report.attempt('start scoring', () =>
      api().call('quality.start', { filmId: id, clip: clip.value.trim(), lpips: lpips.value.trim() || null, lpipsSize: lpipsSize.value }));
    if (started) job.value = { id: started.jobId, status: 'queued', progress: 0 } as Job;
  }

  function show(id: number): void {
    open.value = true;
    void load(id);
  }

  // Scores on frame cards follow the storyboard's film.
  const storyboard = useStoryboardStore();
  watch(() => storyboard.filmId, (id) => void load(id), { immediate: true });

  return { open, filmId, quality, loading, error, clip, lpips, lpipsSize, job, running, onlyFlagged, sort, byFrame, listed, load, start, show };
});
