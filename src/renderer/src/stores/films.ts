import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { FilmSummary } from '@shared/api/entities';
import { api } from '../api/current';
import { describeError } from './errors';

/** The project's films with their counts (the left-hand list). */
export const useFilmsStore = defineStore('films', () => {
  const films = ref<FilmSummary[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);

  async function load(): Promise<void> {
    try {
      films.value = await api().call('films.list', {});
      error.value = null;
    } catch (err) {
      error.value = describeError(err);
    } finally {
      loaded.value = true;
    }
  }

  return { films, loaded, error, load };
});
