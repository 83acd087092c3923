import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { MethodOutput } from '@shared/api/contract';
import type { Job } from '@shared/api/entities';
import type { DatasetStats, ExportFormat } from '@shared/api/methods-export';
import { api } from '../api/current';
import { describeError } from './errors';

type Manifest = MethodOutput<'export.manifest'>;

/** The export dialog: settings, a preview of the dataset statistics, the running export job and its manifest. */
export const useExportStore = defineStore('export', () => {
  const open = ref(false);
  const format = ref<ExportFormat>('llama-vid');
  const outDir = ref('');
  /** null: every film; otherwise one film. */
  const filmId = ref<number | null>(null);
  const includeDrafts = ref(false);
  const clips = ref(true);
  const subtitles = ref(true);
  const fps = ref(1);
  const maxSize = ref(1024);

  const stats = ref<DatasetStats | null>(null);
  const statsLoading = ref(false);
  const manifest = ref<Manifest>(null);
  const job = ref<Job | null>(null);
  const error = ref<string | null>(null);
  let unsubscribe: (() => void) | null = null;

  const running = computed(() => job.value !== null && (job.value.status === 'queued' || job.value.status === 'running'));
  const filmIds = computed(() => (filmId.value === null ? [] : [filmId.value]));
  const clipsApply = computed(() => format.value !== 'story-js');

  async function loadStats(): Promise<void> {
    statsLoading.value = true;
    try {
      stats.value = await api().call('export.stats', { filmIds: filmIds.value, includeDrafts: includeDrafts.value });
      error.value = null;
    } catch (err) {
      error.value = describeError(err);
    } finally {
      statsLoading.value = false;
    }
  }

  async function loadManifest(): Promise<void> {
    if (!outDir.value.trim()) return;
    try {
      manifest.value = await api().call('export.manifest', { outDir: outDir.value.trim(), format: format.value });
    } catch (err) {
      error.value = describeError(err);
    }
  }

  function watchJob(): void {
    unsubscribe?.();
    unsubscribe = api().on('job.progress', (j) => {
      if (j.id !== job.value?.id) return;
      job.value = j;
      if (j.status === 'done') void loadManifest();
      if (j.status === 'failed' && j.error) error.value = `${j.error.message} (${j.error.code})`;
    });
  }

  async function start(): Promise<void> {
    error.value = null;
    manifest.value = null;
    try {
      watchJob();
      job.value = await api().call('export.start', {
        format: format.value,
        outDir: outDir.value.trim(),
        filmIds: filmIds.value,
        includeDrafts: includeDrafts.value,
        clips: clipsApply.value ? clips.value : undefined,
        subtitles: subtitles.value,
        fps: fps.value,
        maxSize: maxSize.value,
      });
    } catch (err) {
      error.value = describeError(err);
    }
  }

  async function cancel(): Promise<void> {
    if (!job.value) return;
    try {
      await api().call('jobs.cancel', { jobId: job.value.id });
    } catch (err) {
      error.value = describeError(err);
    }
  }

  /** Continues a cancelled or failed export; finished clips are reused. */
  async function resume(): Promise<void> {
    if (!job.value) return;
    error.value = null;
    try {
      await api().call('jobs.resume', { jobId: job.value.id });
    } catch (err) {
      error.value = describeError(err);
    }
  }

  return {
    open, format, outDir, filmId, includeDrafts, clips, subtitles, fps, maxSize,
    stats, statsLoading, manifest, job, error, running, clipsApply,
    loadStats, loadManifest, start, cancel, resume,
  };
});
