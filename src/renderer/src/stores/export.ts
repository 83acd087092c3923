import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { MethodOutput } from '@shared/api/contract';
import type { Job } from '@shared/api/entities';
import type { DatasetStats, ExportFormat } from '@shared/api/methods-export';
import { api } from '../api/current';
import { errorReporter } from './errors';
import { ownedSubscriptions } from './subscriptions';

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
  const report = errorReporter(error);
  /** The progress events of the export this dialog started. */
  const jobEvents = ownedSubscriptions();

  const running = computed(() => job.value !== null && (job.value.status === 'queued' || job.value.status === 'running'));
  const filmIds = computed(() => (filmId.value === null ? [] : [filmId.value]));
  const clipsApply = computed(() => format.value !== 'story-js');

  async function loadStats(): Promise<void> {
    statsLoading.value = true;
    const next = await report.attempt('compute the dataset statistics', () =>
      api().call('export.stats', { filmIds: filmIds.value, includeDrafts: includeDrafts.value }));
    if (next) stats.value = next;
    statsLoading.value = false;
  }

  async function loadManifest(): Promise<void> {
    const dir = outDir.value.trim();
    if (!dir) return;
    const next = await report.attempt('read the export manifest', () => api().call('export.manifest', { outDir: dir, format: format.value }));
    if (next !== undefined) manifest.value = next;
  }

  function watchJob(): void {
    jobEvents.release();
    jobEvents.hold(api().on('job.progress', (j) => {
      if (j.id !== job.value?.id) return;
      job.value = j;
      if (j.status === 'done') void loadManifest();
      if (j.status === 'failed' && j.error) error.value = `${j.error.message} (${j.error.code})`;
    }));
  }

  async function start(): Promise<void> {
    error.value = null;
    manifest.value = null;
    watchJob();
    const started = await report.attempt('start the export', () => api().call('export.start', {
      format: format.value,
      outDir: outDir.value.trim(),
      filmIds: filmIds.value,
      includeDrafts: includeDrafts.value,
      clips: clipsApply.value ? clips.value : undefined,
      subtitles: subtitles.value,
      fps: fps.value,
      maxSize: maxSize.value,
    }));
    if (started) job.value = started;
  }

  async function cancel(): Promise<void> {
    const id = job.value?.id;
    if (id === undefined) return;
    await report.attempt('cancel the export', () => api().call('jobs.cancel', { jobId: id }));
  }

  /** Continues a cancelled or failed export; finished clips are reused. */
  async function resume(): Promise<void> {
    const id = job.value?.id;
    if (id === undefined) return;
    error.value = null;
    await report.attempt('resume the export', () => api().call('jobs.resume', { jobId: id }));
  }

  return {
    open, format, outDir, filmId, includeDrafts, clips, subtitles, fps, maxSize,
    stats, statsLoading, manifest, job, error, running, clipsApply,
    loadStats, loadManifest, start, cancel, resume,
  };
});
