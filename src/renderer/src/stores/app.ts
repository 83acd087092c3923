import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { MethodOutput } from '@shared/api/contract';
import type { Job } from '@shared/api/entities';
import { api, apiSetup } from '../api/current';
import type { ConnectionStatus } from '../api';
import { describeError } from './errors';

/** Connection health, app/project info and running jobs: the chrome around the storyboard. */
export const useAppStore = defineStore('app', () => {
  const connection = ref<ConnectionStatus>({ state: 'connecting', error: null, resumed: false });
  const info = ref<MethodOutput<'app.info'> | null>(null);
  const loadError = ref<string | null>(null);
  const jobs = ref<Job[]>([]);
  const helpOpen = ref(false);

  async function loadInfo(): Promise<void> {
    try {
      info.value = await api().call('app.info', {});
      loadError.value = null;
    } catch (err) {
      loadError.value = describeError(err);
    }
  }

  async function loadJobs(): Promise<void> {
    try {
      jobs.value = await api().call('jobs.list', {});
    } catch {
      // Jobs are a side panel; the storyboard still works without them.
    }
  }

  function applyJob(job: Job): void {
    const i = jobs.value.findIndex((j) => j.id === job.id);
    if (i >= 0) jobs.value.splice(i, 1, job);
    else jobs.value.push(job);
  }

  /** Subscribes to the transport; `onResume` runs when a dropped connection comes back. */
  function start(onResume: () => void): void {
    const setup = apiSetup();
    connection.value = setup.connection();
    setup.onConnectionChange((status) => {
      connection.value = status;
      if (status.state === 'open' && status.resumed) onResume();
    });
    api().on('job.progress', applyJob);
  }

  return { connection, info, loadError, jobs, helpOpen, loadInfo, loadJobs, applyJob, start };
});
