import type { ApiClient } from '@shared/api/client';
import type { ApiSetup } from './setup';

/** The transport chosen at start-up; stores reach the main process only through it. */
let current: ApiSetup | null = null;

export function installApi(setup: ApiSetup): void {
  current = setup;
}

export function apiSetup(): ApiSetup {
  if (!current) throw new Error('installApi() must run before the stores are used');
  return current;
}

export function api(): ApiClient {
  return apiSetup().client;
}
