import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { FilmSummary } from '@shared/api/entities';
import { api, apiSetup } from '../api/current';
import { errorReporter } from './errors';
import { ownedSubscriptions } from './subscriptions';

/**
 * The project's films with their counts (the left-hand list); refetched after any change
 * (`data.changed`) and when a dropped connection comes back.
 */
export const useFilmsStore = defineStore('films', () => {
  const films = ref<FilmSummary[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);
  const report = errorReporter(error);

  async function load(): Promise<void> {
    const list = await report.attempt('list the films', () => api().call('films.list', {}));
    if (list) films.value = list;
    loaded.value = true;
  }

  const subscriptions = ownedSubscriptions();
  subscriptions.hold(
    api().on('data.changed', () => void load()),
    apiSetup().onConnectionChange((status) => {
      if (status.state === 'open' && status.resumed) void load();
    }),
  );

  return { films, loaded, error, load };
});
