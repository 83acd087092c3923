import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { Job } from '@shared/api/entities';
import type { LibraryModel, ModelImportParams } from '@shared/api/methods-models';
import { api } from '../api/current';
import { useAppStore } from './app';
import { errorReporter } from './errors';
import { ownedSubscriptions } from './subscriptions';

/** The import form; optional fields are empty strings until filled. */
export interface ImportForm {
  source: string;
  fp16: boolean;
  family: '' | NonNullable<ModelImportParams['family']>;
  prediction: '' | 'epsilon' | 'v';
  config: string;
  vae: string;
}

const EMPTY_FORM: ImportForm = { source: '', fp16: false, family: '', prediction: '', config: '', vae: '' };

/**
 * The model library (per user, shared by every project): its models for the pickers, the Models panel's
 * import form and the import jobs. Refetches on `models.changed` and when an import job ends.
 */
export const useModelsStore = defineStore('models', () => {
  const open = ref(false);
  const dir = ref('');
  const models = ref<LibraryModel[]>([]);
  const problems = ref<string[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);
  const form = ref<ImportForm>({ ...EMPTY_FORM });
  const report = errorReporter(error);
  const app = useAppStore();

  /** Import jobs still queued or running, newest first. */
  const imports = computed<Job[]>(() => app.jobs
    .filter((j) => j.kind === 'model.import' && (j.status === 'queued' || j.status === 'running'))
    .sort((a, b) => b.id - a.id));
  /** The last import that failed, for the panel to explain. */
  const lastFailed = computed<Job | null>(() => app.jobs
    .filter((j) => j.kind === 'model.import' && j.status === 'failed')
    .sort((a, b) => b.id - a.id)[0] ?? null);

  async function load(): Promise<void> {
    const listing = await report.attempt('list the model library', () => api().call('models.list', {}));
    if (!listing) return;
    dir.value = listing.dir;
    models.value = listing.models;
    problems.value = listing.problems;
    loaded.value = true;
  }

  async function startImport(): Promise<boolean> {
    const f = form.value;
    const params: ModelImportParams = {
      source: f.source.trim(),
      fp16: f.fp16,
      ...(f.family ? { family: f.family } : {}),
      ...(f.prediction ? { prediction: f.prediction } : {}),
      ...(f.config.trim() ? { config: f.config.trim() } : {}),
      ...(f.vae.trim() ? { vae: f.vae.trim() } : {}),
    };
    const started = await report.attempt('start the import', () => api().call('models.import', params));
    if (!started) return false;
    form.value = { ...EMPTY_FORM };
    await app.loadJobs();
    return true;
  }

  async function remove(id: string): Promise<void> {
    await report.attempt(`remove model ${id}`, () => api().call('models.remove', { id }));
    await load();
  }

  async function moveLibrary(next: string): Promise<void> {
    const moved = await report.attempt('change the models folder', () => api().call('models.setDir', { dir: next.trim() }));
    if (moved) await load();
  }

  /** The library model stored in a settings field (a folder path), if it is one. */
  function byDir(path: string): LibraryModel | null {
    return models.value.find((m) => m.dir === path) ?? null;
  }

  const subscriptions = ownedSubscriptions();
  subscriptions.hold(
    api().on('models.changed', () => void load()),
    api().on('job.progress', (job) => {
      if (job.kind === 'model.import' && job.status === 'done') void load();
    }),
  );

  return { open, dir, models, problems, loaded, error, form, imports, lastFailed, load, startImport, remove, moveLibrary, byDir };
});
