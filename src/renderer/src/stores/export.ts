import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { MethodOutput } from '@shared/api/contract';
import type { Job } from '@shared/api/entities';
import type { DatasetStats, ExportFormat, ExportPreflight } from '@shared/api/methods-export';
import { api } from '../api/current';
import { rememberPath } from '../components/recent-paths';
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
  /** Encode unrendered frames as "not rendered yet" cards: a decision taken in the preflight step. */
  const allowPlaceholders = ref(false);
  /** What the export would put out and leave out; shown for a decision before it starts (null: not asked yet). */
  const preflight = ref<ExportPreflight | null>(null);

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

  /**
   * The job's latest state. Reports of the job can arrive before export.start answers (a job that fails at once),
   * so every report since the start is kept and the newest one of the started job wins (issue #17 defect 3: the
   * dialog stayed at "0% · queued" with its fields locked).
   */
  const latest = new Map<number, Job>();
  function apply(j: Job): void {
    const known = latest.get(j.id);
    if (known && known.updatedAt > j.updatedAt) j = known;
    job.value = j;
    if (j.status === 'done') void loadManifest();
    if (j.status === 'failed' && j.error) error.value = `${j.error.message} (${j.error.code})`;
  }

  function watchJob(): void {
    jobEvents.release();
    latest.clear();
    jobEvents.hold(api().on('job.progress', (j) => {
      if (j.kind !== 'export') return;
      const known = latest.get(j.id);
      if (!known || known.updatedAt <= j.updatedAt) latest.set(j.id, j);
      if (j.id === job.value?.id) apply(j);
    }));
  }

  /** Reads the job's state again (on reopening the dialog, or when a cancel found it already finished). */
  async function refreshJob(): Promise<void> {
    const id = job.value?.id;
    if (id === undefined) return;
    const jobs = await report.attempt('read the export job', () => api().call('jobs.list', {}));
    const found = jobs?.find((j) => j.id === id);
    if (found) apply(found);
    else job.value = null;
  }

  async function loadPreflight(): Promise<void> {
    const next = await report.attempt('check what the export would contain', () => api().call('export.preflight', {
      format: format.value, filmIds: filmIds.value, includeDrafts: includeDrafts.value,
    }));
    if (next) preflight.value = next;
  }

  /** Whether unrendered frames would become placeholder clips (only formats that encode clips). */
  const placeholdersApply = computed(() => clipsApply.value && clips.value && (preflight.value?.unrenderedFrames ?? 0) > 0);
  /** The start button of the preflight step: nothing to export, or placeholders not decided, keeps it off. */
  const canConfirm = computed(() => preflight.value !== null && preflight.value.emptyReason === null
    && (!placeholdersApply.value || allowPlaceholders.value));

  async function start(): Promise<void> {
    error.value = null;
    manifest.value = null;
    preflight.value = null;
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
      allowPlaceholders: placeholdersApply.value && allowPlaceholders.value,
    }));
    if (started) {
      rememberPath('export', outDir.value.trim());
      apply(latest.get(started.id) ?? started);
    }
  }

  async function cancel(): Promise<void> {
    const id = job.value?.id;
    if (id === undefined) return;
    const res = await report.attempt('cancel the export', () => api().call('jobs.cancel', { jobId: id }));
    // Nothing to cancel: the job already ended (its report was missed); show how it ended and unlock the form.
    if (res && !res.cancelled) await refreshJob();
  }

  /** Continues a cancelled or failed export; finished clips are reused. */
  async function resume(): Promise<void> {
    const id = job.value?.id;
    if (id === undefined) return;
    error.value = null;
    await report.attempt('resume the export', () => api().call('jobs.resume', { jobId: id }));
  }

  return {
    open, format, outDir, filmId, includeDrafts, clips, subtitles, fps, maxSize, allowPlaceholders,
    stats, statsLoading, manifest, job, error, running, clipsApply, preflight, placeholdersApply, canConfirm,
    loadStats, loadManifest, loadPreflight, refreshJob, start, cancel, resume,
  };
});
