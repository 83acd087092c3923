import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { Job } from '@shared/api/entities';
import type { StyleLearnSettings, StyleState } from '@shared/api/methods-style';
import { api } from '../api/current';
import { errorReporter } from './errors';
import { ownedSubscriptions } from './subscriptions';

/** Form values of the training settings (text fields, parsed when a run starts). */
export interface LearnForm {
  modelDir: string;
  steps: number;
  lrSchedule: string;
  accumulation: number;
  batchSize: number;
  seed: number;
  init: string;
  previewEvery: number;
  checkpointEvery: number;
}

const DEFAULT_FORM: LearnForm = {
  modelDir: '', steps: 400, lrSchedule: '', accumulation: 2, batchSize: 1, seed: 46, init: 'random', previewEvery: 50, checkpointEvery: 50,
};

/** The style panel of one film: its images, the training form, the running job's loss curve, and embeddings. */
export const useStyleStore = defineStore('style', () => {
  const open = ref(false);
  const filmId = ref<number | null>(null);
  const state = ref<StyleState | null>(null);
  const form = ref<LearnForm>({ ...DEFAULT_FORM });
  const generate = ref({ modelDir: '', count: 10, seed: 0 });
  const folder = ref('');
  const busy = ref(false);
  const error = ref<string | null>(null);
  const report = errorReporter(error);
  /** The events of the film whose panel is open. */
  const filmEvents = ownedSubscriptions();

  const job = computed<Job | null>(() => state.value?.latestJob?.job ?? null);
  const training = computed(() => job.value !== null && (job.value.status === 'queued' || job.value.status === 'running'));

  async function load(): Promise<void> {
    const id = filmId.value;
    if (id === null) return;
    const next = await report.attempt('read the film\'s style', () => api().call('style.get', { filmId: id }));
    if (next) {
      const first = state.value === null || state.value.filmId !== next.filmId;
      state.value = next;
      if (first) {
        const s = next.settings as Partial<LearnForm>;
        form.value = { ...DEFAULT_FORM, ...Object.fromEntries(Object.entries(s).filter(([k]) => k in DEFAULT_FORM)) };
        if (!generate.value.modelDir) generate.value.modelDir = form.value.modelDir;
      }
    }
  }

  function show(id: number): void {
    filmId.value = id;
    state.value = null;
    open.value = true;
    filmEvents.release();
    filmEvents.hold(
      api().on('job.progress', (j) => { if (j.filmId === filmId.value && j.kind.startsWith('style.')) void load(); }),
      api().on('data.changed', (p) => { if (p.filmId === filmId.value) void load(); }),
    );
    void load();
  }

  function close(): void {
    open.value = false;
    filmEvents.release();
  }

  /** One action of the panel: the form is busy meanwhile, and the panel reloads after a success. */
  async function act(what: string, action: () => Promise<unknown>): Promise<void> {
    busy.value = true;
    try {
      const ok = await report.attempt(what, async () => { await action(); return true; });
      if (ok) await load();
    } finally {
      busy.value = false;
    }
  }

  const importFolder = () => act('add the images', () => api().call('style.importImages', { filmId: filmId.value!, folder: folder.value.trim() }));
  const generateImages = () => act('generate style images', () => api().call('style.generateImages', {
    filmId: filmId.value!, modelDir: generate.value.modelDir.trim(), count: generate.value.count, seed: generate.value.seed,
  }));
  const setIncluded = (imageId: number, included: boolean) => act('change the image', () => api().call('style.setImageIncluded', { imageId, included }));
  const useEmbedding = (embeddingId: number | null) => act('choose the embedding', () => api().call('style.useEmbedding', { filmId: filmId.value!, embeddingId }));
  const importEmbedding = (file: string) => act('import the embedding', () => api().call('style.importEmbedding', { filmId: filmId.value!, file: file.trim() }));
  const cancel = () => act('cancel the job', async () => { if (job.value) await api().call('jobs.cancel', { jobId: job.value.id }); });
  const resume = () => act('resume the job', async () => { if (job.value) await api().call('jobs.resume', { jobId: job.value.id }); });

  function learn(): Promise<void> {
    const f = form.value;
    const settings: Partial<StyleLearnSettings> = {
      steps: f.steps, accumulation: f.accumulation, batchSize: f.batchSize, seed: f.seed, init: f.init.trim() || 'random',
      previewEvery: f.previewEvery, checkpointEvery: f.checkpointEvery,
    };
    if (f.lrSchedule.trim()) settings.lrSchedule = f.lrSchedule.trim();
    return act('start learning', () => api().call('style.learn', { filmId: filmId.value!, modelDir: f.modelDir.trim(), settings }));
  }

  return {
    open, filmId, state, form, generate, folder, busy, error, job, training,
    show, close, load, importFolder, generateImages, setIncluded, learn, cancel, resume, useEmbedding, importEmbedding,
  };
});
