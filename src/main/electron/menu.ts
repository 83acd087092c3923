import { dialog, Menu, type BrowserWindow, type MenuItemConstructorOptions } from 'electron';
import type { AppContext } from '../app/context';
import { mutate } from '../db/mutation';
import { importStoryJsFile } from '../import/story-js';
import { writeLastProject } from './recent-project';

/** The native menu: project files and imports go through OS dialogs, never typed paths. */
export function buildMenu(ctx: AppContext, win: BrowserWindow, userData: string): Menu {
  const report = (err: unknown) => dialog.showErrorBox('DreamFrame Studio', (err as Error).message);
  const template: MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        {
          label: 'New Project…',
          accelerator: 'CmdOrCtrl+Shift+N',
          click: async () => {
            const r = await dialog.showOpenDialog(win, { title: 'Choose an empty folder', properties: ['openDirectory', 'createDirectory'] });
            if (r.canceled || !r.filePaths[0]) return;
            await ctx.createProject(r.filePaths[0], false).then(() => writeLastProject(userData, r.filePaths[0]), report);
          },
        },
        {
          label: 'Open Project…',
          accelerator: 'CmdOrCtrl+O',
          click: async () => {
            const r = await dialog.showOpenDialog(win, { title: 'Open a project folder', properties: ['openDirectory'] });
            if (r.canceled || !r.filePaths[0]) return;
            await ctx.openProject(r.filePaths[0]).then(() => writeLastProject(userData, r.filePaths[0]), report);
          },
        },
        {
          label: 'Import story_js…',
          click: async () => {
            const r = await dialog.showOpenDialog(win, { filters: [{ name: 'story_js', extensions: ['json'] }], properties: ['openFile'] });
            if (r.canceled || !r.filePaths[0]) return;
            try {
              const project = ctx.requireProject();
              mutate(ctx.writer(), () => importStoryJsFile(project, r.filePaths[0]));
            } catch (err) {
              report(err);
            }
          },
        },
        {
          label: 'Back Up Database…',
          click: async () => {
            const r = await dialog.showSaveDialog(win, { defaultPath: 'project-backup.sqlite' });
            if (r.canceled || !r.filePath) return;
            try {
              ctx.requireProject().backup(r.filePath);
            } catch (err) {
              report(err);
            }
          },
        },
        { type: 'separator' },
        { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    { role: 'viewMenu' },
  ];
  return Menu.buildFromTemplate(template);
}
