import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What `npm start` runs: the Electron window where Electron can start, otherwise `dreamframe serve`
 * (the same UI in a browser) with the reason said out loud. Pure decisions over the environment and
 * the files on disk, so they can be tested; scripts/start.ts acts on them.
 */

export type LaunchChoice =
  | { mode: 'electron'; binary: string }
  /** The binary is missing and no download was tried yet: try `node_modules/electron/install.js` once. */
  | { mode: 'download' }
  | { mode: 'serve'; reason: string };

export interface LaunchFacts {
  platform: NodeJS.Platform;
  env: Record<string, string | undefined>;
  /** The Electron executable when it is on disk (electronBinaryPath), else null. */
  electronBinary: string | null;
  /** Set once a download was tried and failed: its error, for the message. */
  downloadError?: string | null;
}

/** Platforms whose windows need an X11 or Wayland display server (macOS and Windows always have a desktop). */
const NEEDS_DISPLAY_SERVER = (platform: NodeJS.Platform) => platform !== 'darwin' && platform !== 'win32';

export function chooseLaunch(f: LaunchFacts): LaunchChoice {
  if (f.env.DREAMFRAME_START === 'serve') return { mode: 'serve', reason: 'DREAMFRAME_START=serve asks for serve mode' };
  if (NEEDS_DISPLAY_SERVER(f.platform) && !f.env.DISPLAY && !f.env.WAYLAND_DISPLAY) {
    return { mode: 'serve', reason: 'there is no display (DISPLAY and WAYLAND_DISPLAY are unset: a headless machine, or ssh without X forwarding)' };
  }
  if (f.electronBinary) return { mode: 'electron', binary: f.electronBinary };
  if (f.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
    return { mode: 'serve', reason: 'the Electron binary is not installed and ELECTRON_SKIP_BINARY_DOWNLOAD is set' };
  }
  if (f.downloadError === undefined || f.downloadError === null) return { mode: 'download' };
  return { mode: 'serve', reason: `the Electron binary is not installed and could not be downloaded (${f.downloadError})` };
}

/**
 * Where node_modules/electron keeps its executable, when it is there. Reads the package's path.txt the
 * way its index.js does, but never triggers the download that `require('electron')` starts.
 */
export function electronBinaryPath(electronDir: string, env: Record<string, string | undefined>): string | null {
  let relative: string | null = null;
  try {
    relative = readFileSync(join(electronDir, 'path.txt'), 'utf8').trim() || null;
  } catch {
    relative = null;
  }
  const override = env.ELECTRON_OVERRIDE_DIST_PATH;
  const binary = override ? join(override, relative ?? 'electron') : relative ? join(electronDir, 'dist', relative) : null;
  return binary && existsSync(binary) ? binary : null;
}
