import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chooseLaunch, electronBinaryPath, type LaunchChoice } from './launch-choice';

/**
 * `npm start` after the build: opens the Electron window, or where Electron cannot start (no display,
 * or its binary is missing and cannot be downloaded) serves the same UI on 127.0.0.1 and prints the
 * URL. Extra arguments (`npm start -- --project DIR --port N`) go to serve mode.
 */

const root = resolve(import.meta.dirname, '..');
const electronDir = join(root, 'node_modules', 'electron');
const args = process.argv.slice(2);

function decide(downloadError?: string): LaunchChoice {
  return chooseLaunch({ platform: process.platform, env: process.env, electronBinary: electronBinaryPath(electronDir, process.env), downloadError });
}

/** Electron 45 fetches its binary on first use, not at install: try that once, without the window of output it prints. */
function download(): string | null {
  process.stdout.write('The Electron binary is not installed yet; downloading it once...\n');
  const r = spawnSync(process.execPath, [join(electronDir, 'install.js')], { encoding: 'utf8', timeout: 300_000 });
  if (r.status === 0) return null;
  const lines = `${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}`.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /error/i.test(l)) ?? lines[0] ?? `install.js exited with ${r.status ?? r.signal}`;
}

/** The project serve mode opens: --project, DREAMFRAME_PROJECT, the app's last project, else the sample project the app creates. */
async function serveProject(): Promise<{ dir: string; rest: string[] }> {
  const i = args.indexOf('--project');
  if (i >= 0 && args[i + 1]) return { dir: args[i + 1], rest: [...args.slice(0, i), ...args.slice(i + 2)] };
  if (process.env.DREAMFRAME_PROJECT) return { dir: process.env.DREAMFRAME_PROJECT, rest: args };
  const { configDir } = await import('../src/main/plot/settings');
  const { readLastProject, writeLastProject } = await import('../src/main/electron/recent-project');
  const userData = configDir();
  const last = readLastProject(userData);
  if (last) return { dir: last, rest: args };
  const dir = join(userData, 'projects', 'Sample');
  if (!existsSync(join(dir, 'project.sqlite'))) {
    const { createProjectWithSample } = await import('../src/main/app/context');
    createProjectWithSample(dir, true).close();
  }
  writeLastProject(userData, dir);
  return { dir, rest: args };
}

async function run(): Promise<void> {
  let choice = decide();
  // After a download, a binary on disk wins; the error only matters when there is none.
  if (choice.mode === 'download') choice = decide(download() ?? 'install.js finished but the binary is still missing');
  if (choice.mode === 'electron') {
    const child = spawn(choice.binary, ['.', ...args], { cwd: root, stdio: 'inherit' });
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
    child.on('exit', (code, signal) => { process.exitCode = code ?? (signal ? 1 : 0); });
    return;
  }
  const reason = choice.mode === 'serve' ? choice.reason : 'the Electron binary could not be installed';
  process.stdout.write(`Electron cannot start here: ${reason}.\nStarting serve mode instead: open the URL below in a browser.\n`);
  const { dir, rest } = await serveProject();
  const { main } = await import('../src/main/cli/main');
  process.exitCode = await main(['serve', '--project', dir, ...rest]);
}

await run();
