import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { FarmStatus } from '@shared/api/methods-farm';
import { api } from '../api/current';
import { errorReporter } from './errors';

/** How often the jobs view refreshes the farm's workers while it is open (workers report by heartbeat, not events). */
export const FARM_POLL_MS = 2000;

/**
 * The render farm as the jobs view shows it: live workers and queue counts (polled while watched), and the
 * farm URL setting. Failures go through the one error reporter; confirmations to `notice`.
 */
export const useFarmStore = defineStore('farm', () => {
  const status = ref<FarmStatus | null>(null);
  const urlDraft = ref('');
  const envOverride = ref(false);
  const error = ref<string | null>(null);
  const notice = ref<string | null>(null);
  const report = errorReporter(error);
  let timer: ReturnType<typeof setInterval> | null = null;
  let watchers = 0;

  async function refresh(): Promise<void> {
    const next = await report.attempt('read the render farm', () => api().call('farm.workers', {}));
    if (next) status.value = next;
  }

  async function loadSettings(): Promise<void> {
    const s = await report.attempt('read the render farm setting', () => api().call('farm.settings.get', {}));
    if (!s) return;
    urlDraft.value = s.redis ?? '';
    envOverride.value = s.envOverride;
  }

  async function save(): Promise<void> {
    notice.value = null;
    const s = await report.attempt('save the render farm URL', () => api().call('farm.settings.set', { redis: urlDraft.value.trim() || null }));
    if (!s) return;
    urlDraft.value = s.redis ?? '';
    notice.value = s.redis ? 'Saved: render jobs started from now on go to the farm.' : 'Saved: render jobs render on this machine.';
    await refresh();
  }

  /** Starts polling for a view that shows the farm; returns its stop function (polling ends with the last watcher). */
  function watch(): () => void {
    watchers += 1;
    if (watchers === 1) {
      void loadSettings();
      void refresh();
      timer = setInterval(() => void refresh(), FARM_POLL_MS);
    }
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      watchers -= 1;
      if (watchers === 0 && timer) {
        clearInterval(timer);
        timer = null;
      }
    };
  }

  return { status, urlDraft, envOverride, error, notice, refresh, loadSettings, save, watch };
});
