import type { AreaHandlers } from '../api/handler-types';
import { maskRedisUrl } from './connection';
import { readFarmSettings, writeFarmSettings } from './config';
import { farmStatus } from './status';

/** Handlers of farm.* (contract: src/shared/api/methods-farm.ts). The setting is the app's, not the project's. */

function settingsView() {
  const { redis } = readFarmSettings();
  return { redis: redis && maskRedisUrl(redis), envOverride: Boolean(process.env.DREAMFRAME_REDIS?.trim()) };
}

export const farmHandlers: AreaHandlers<'farm.workers' | 'farm.settings.get' | 'farm.settings.set'> = {
  'farm.workers': () => farmStatus(),
  'farm.settings.get': () => settingsView(),
  'farm.settings.set': (_ctx, { redis }) => {
    // The form shows the saved URL masked: saving it back unchanged keeps the real password.
    const saved = readFarmSettings().redis;
    const next = redis && saved && redis === maskRedisUrl(saved) ? saved : redis;
    writeFarmSettings({ redis: next });
    return settingsView();
  },
};
