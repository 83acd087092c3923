import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { toErrorPayload } from '../../src/shared/errors';
import { encodeClip } from '../../src/main/export/ffmpeg';
import { makeDirs } from '../../src/main/util/make-dirs';
import { fixturesDir, repoRoot } from '../support/paths';

/**
 * Full and read-only disks, for real: small tmpfs mounts (this needs root and a kernel that lets the
 * sandbox mount; where mounting is refused the tests are skipped and say so).
 */

const base = mkdtempSync(join(tmpdir(), 'df-full-'));
const mounted: string[] = [];

function mountTmpfs(name: string, options: string): string | null {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  if (r.status !== 0) return null;
  mounted.push(dir);
  return dir;
}

/** Fills the disk of `dir` until `leaveBytes` are free (a file named filler). */
function fillUntil(dir: string, leaveBytes: number): string {
  const fs = statfsSync(dir);
  const filler = join(dir, 'filler');
  writeFileSync(filler, Buffer.alloc(Math.max(0, fs.bavail * fs.bsize - leaveBytes)));
  return filler;
}

const canMount = (() => {
  const probe = mountTmpfs('probe', 'size=64k');
  if (!probe) console.warn('full-disk tests skipped: mounting a tmpfs is not permitted here');
  return probe !== null;
})();

afterAll(() => {
  for (const dir of mounted.reverse()) spawnSync('umount', [dir]);
  rmSync(base, { recursive: true, force: true });
});

const cli = (args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin', 'dreamframe.js'), ...args], { encoding: 'utf8', timeout: 240_000 });

describe.skipIf(!canMount)('a full or read-only disk is named, the job ends cleanly and resumes', () => {
  it('render-film on a disk that fills up prints its --json result with disk_full and the path, then resumes', () => {
    const disk = mountTmpfs('render', 'size=4m')!;
    const project = join(disk, 'p');
    expect(cli(['project', 'create', project, '--sample', '--json']).status).toBe(0);
    const filler = fillUntil(disk, 600 * 1024);
    const args = ['render-film', '--project', project, '--film', '1', '--model', join(fixturesDir, 'tiny-sd15', 'pipeline'),
      '--steps', '2', '--width', '64', '--height', '64', '--json'];
    const full = cli(args);
    expect(full.stderr).not.toMatch(/SqliteError|Unhandled|at <anonymous>/);
    expect(full.status).toBe(1);
    const out = JSON.parse(full.stdout);
    const error = out.error;
    expect(error.code).toBe('disk_full');
    expect(error.message).toContain(project);
    if (out.status !== undefined) expect(out.status).toBe('failed');

    rmSync(filler);
    const resumed = cli(args);
    expect(resumed.status).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: 'done', error: null });
    const db = new Database(join(project, 'project.sqlite'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  }, 300_000);

  it('an mp4 cut short by a full disk is reported as disk_full, not as ffmpeg failing on a missing moov atom', async () => {
    const disk = mountTmpfs('clip', 'size=1m')!;
    fillUntil(disk, 24 * 1024);
    const out = join(disk, 'clip.mp4');
    const w = 64;
    async function* frames() {
      // Noise, so the clip is larger than the room left.
      for (let i = 0; i < 200; i++) yield Buffer.from(Array.from({ length: w * w * 3 }, (_, k) => (k * 2654435761 + i * 97) % 251));
    }
    let caught: unknown = null;
    try {
      await encodeClip({ width: w, height: w, fps: 25, frames: frames(), out });
      const { probeClip } = await import('../../src/main/export/ffmpeg');
      await probeClip(out);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'disk_full', message: expect.stringContaining(out) });
  }, 60_000);

  it('an export onto a full disk names the file it could not write', () => {
    const disk = mountTmpfs('export', 'size=1m')!;
    const project = join(base, 'export-project');
    expect(cli(['project', 'create', project, '--sample', '--json']).status).toBe(0);
    fillUntil(disk, 0);
    const r = cli(['export', '--project', project, '--format', 'jsonl', '--include-drafts', '--out', join(disk, 'out'), '--json']);
    expect(r.status).toBe(1);
    const { error } = JSON.parse(r.stdout);
    expect(error.code).toBe('disk_full');
    expect(error.message).toContain(join(disk, 'out'));
  }, 120_000);

  it('a write to a read-only file system is not_writable naming the path', () => {
    const disk = mountTmpfs('ro', 'size=64k,ro')!;
    let caught: unknown = null;
    try {
      makeDirs(join(disk, 'out', 'sub'));
    } catch (err) {
      caught = err;
    }
    expect(toErrorPayload(caught)).toMatchObject({ code: 'not_writable', message: expect.stringContaining(join(disk, 'out')) });
    const project = join(base, 'ro-project');
    expect(cli(['project', 'create', project, '--sample', '--json']).status).toBe(0);
    const r = cli(['export', '--project', project, '--format', 'jsonl', '--include-drafts', '--out', join(disk, 'out'), '--json']);
    expect(r.status).toBe(1);
    const { error } = JSON.parse(r.stdout);
    expect(['not_writable', 'export_bad_target']).toContain(error.code);
    expect(error.message).toContain(disk);
  }, 120_000);
});
