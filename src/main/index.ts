import { app, BrowserWindow, Menu, safeStorage, session, shell } from 'electron';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createProjectWithSample } from './app/context';
import { createAppContext } from './composition';
import { openProject } from './project/project';
import { CONTENT_SECURITY_POLICY } from './transports/server';
import { attachIpc, registerMediaScheme } from './electron/ipc';
import { buildMenu } from './electron/menu';
import { readLastProject, writeLastProject } from './electron/recent-project';
import { EncryptedFileSecretStore, setSecretStore } from './plot/secret-store';

/**
 * Electron entry: owns the project database and (through the job runner) the ONNX sessions; the
 * sandboxed renderer talks to it only through the preload bridge.
 */

registerMediaScheme();
if (!process.env.DREAMFRAME_RESOURCES && app.isPackaged) process.env.DREAMFRAME_RESOURCES = process.resourcesPath;

function firstProject(userData: string) {
  const last = readLastProject(userData);
  if (last) return openProject(last);
  // First start: a sample project so the storyboard is never empty.
  const dir = join(userData, 'projects', 'Sample');
  const project = existsSync(join(dir, 'project.sqlite')) ? openProject(dir) : createProjectWithSample(dir, true);
  writeLastProject(userData, dir);
  return project;
}

async function main(): Promise<void> {
  await app.whenReady();
  // The LLM API key is kept encrypted by the OS keychain (never in a project database).
  setSecretStore(new EncryptedFileSecretStore(safeStorage));
  const userData = app.getPath('userData');
  const ctx = createAppContext('electron', firstProject(userData));

  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));

  const win = new BrowserWindow({
    width: 1440,
    height: 900,
    show: false,
    title: 'DreamFrame Studio',
    backgroundColor: '#111418',
    webPreferences: {
      preload: join(__dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  win.once('ready-to-show', () => win.show());
  // The window never navigates away from the app; external links open in the browser.
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });

  const detach = attachIpc(ctx, win);
  Menu.setApplicationMenu(buildMenu(ctx, win, userData));

  if (process.env.ELECTRON_RENDERER_URL) await win.loadURL(process.env.ELECTRON_RENDERER_URL);
  else await win.loadFile(join(__dirname, '../renderer/index.html'));

  app.on('window-all-closed', () => app.quit());
  app.on('before-quit', () => {
    detach();
    void ctx.close();
  });
}

main().catch((err) => {
  console.error(err);
  app.exit(1);
});
