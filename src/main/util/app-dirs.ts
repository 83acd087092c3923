import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Per-user folders of the app, outside any project. Small settings go to the config folder; large data
 * (the model library) to the data folder, which platforms keep out of roaming profiles and config backups.
 * Both honour an override so tests and portable installs never touch the real home folder.
 */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DREAMFRAME_CONFIG_DIR) return env.DREAMFRAME_CONFIG_DIR;
  if (process.platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'DreamFrame Studio');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'DreamFrame Studio');
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'dreamframe-studio');
}

export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DREAMFRAME_DATA_DIR) return env.DREAMFRAME_DATA_DIR;
  if (process.platform === 'win32') return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'DreamFrame Studio');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'DreamFrame Studio');
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'dreamframe-studio');
}
