import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { MethodOutput } from '@shared/api/contract';
import type { Job } from '@shared/api/entities';
import { api, apiSetup } from '../api/current';
import type { ConnectionStatus } from '../api/setup';
import { errorReporter } from './errors';
import { ownedSubscriptions } from './subscriptions';

/**
 * Connection health, app/project info and running jobs: the chrome around the storyboard. It
 * follows the transport's connection state and `job.progress` events from its creation on, and
 * refetches the jobs when a dropped connection comes back (events may have been missed).
 */
export const useAppStore = defineStore('app', () => {
  const setup = apiSetup();
  const connection = ref<ConnectionStatus>(setup.connection());
  const info = ref<MethodOutput<'app.info'> | null>(null);
  const error = ref<string | null>(null);
  const jobs = ref<Job[]>([]);
  const helpOpen = ref(false);
  const report = errorReporter(error);

  async function loadInfo(): Promise<void> {
    const result = await report.attempt('read the project information', () => api().call('app.info', {}));
    if (result) info.value = result;
  }

  async function loadJobs(): Promise<void> {
    try {
      jobs.value = await api().call('jobs.list', {});
    } catch {
      // Jobs are a side panel; the storyboard still works without them.
    }
  }

  const cancelJob = (jobId: number) => report.attempt(`cancel job ${jobId}`, () => api().call('jobs.cancel', { jobId }));
  /** What the last resume ran with ("Job 4 resumed with its own settings: model …"), for the jobs view. */
  const resumeNote = ref<string | null>(null);
  /** Resumes a failed or cancelled job with the settings it was queued with, or (render jobs) the film's current ones. */
  async function resumeJob(jobId: number, useCurrentSettings = false): Promise<void> {
    const res = await report.attempt(`resume job ${jobId}`, () => api().call('jobs.resume', { jobId, useCurrentSettings }));
    if (res?.resumed) {
      const which = useCurrentSettings ? 'the current settings' : 'the settings it was queued with';
      resumeNote.value = `Job ${jobId} resumed with ${which}${res.settings ? `: ${res.settings}` : ''}`;
    }
  }

  function applyJob(job: Job): void {
    const i = jobs.value.findIndex((j) => j.id === job.id);
    if (i >= 0) jobs.value.splice(i, 1, job);
    else jobs.value.push(job);
  }

  const subscriptions = ownedSubscriptions();
  subscriptions.hold(
    setup.onConnectionChange((status) => {
      connection.value = status;
      if (status.state === 'open' && status.resumed) void loadJobs();
    }),
    api().on('job.progress', applyJob),
  );

  return { connection, info, error, jobs, helpOpen, resumeNote, loadInfo, loadJobs, cancelJob, resumeJob, applyJob };
});
