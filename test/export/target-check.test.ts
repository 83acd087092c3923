import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dispatch } from '../../src/main/api/dispatch';
import { type AppContext, createProjectWithSample } from '../../src/main/app/context';
import { EventBus } from '../../src/main/app/event-bus';
import { createAppContext } from '../../src/main/composition';
import { checkExportTarget } from '../../src/main/export/target-check';
import { JobRunner } from '../../src/main/jobs/runner';
import { openProject } from '../../src/main/project/project';
import { useTempDir } from '../support/tmp';

/**
 * Issue #17 defects 3 and 4: export targets that are not a regular writable folder on a real file system are
 * refused before a job exists (and by a job resumed from before the check), and jobs recovered when a project
 * opens start only after the code that opened it has finished its turn (serve prints its URL first).
 */

const tempDir = useTempDir();
let ctx: AppContext | null = null;
afterEach(async () => { await ctx?.close(); ctx = null; });

function codeOf(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return (err as { code?: string }).code ?? 'thrown';
  }
}

describe('checkExportTarget', () => {
  it('refuses kernel interfaces, paths under a file, files and read-only folders, and accepts new or existing folders', () => {
    const dir = tempDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    expect(codeOf(() => checkExportTarget('/proc/self/dataset'))).toBe('export_bad_target');
    expect(codeOf(() => checkExportTarget('/sys/kernel/out'))).toBe('export_bad_target');
    expect(codeOf(() => checkExportTarget('/dev/shm/out'))).toBe('export_bad_target');
    expect(codeOf(() => checkExportTarget('/etc/hostname/out'))).toBe('export_bad_target');
    expect(() => checkExportTarget(join(file, 'out'))).toThrow(/a-file is a file, not a folder/);
    expect(() => checkExportTarget(file)).toThrow(/is a file, not a folder/);
    expect(codeOf(() => checkExportTarget(join(dir, 'new', 'nested')))).toBeNull();
    expect(codeOf(() => checkExportTarget(dir))).toBeNull();
    if (process.getuid?.() !== 0) {
      const locked = join(dir, 'locked');
      mkdirSync(locked);
      chmodSync(locked, 0o500);
      expect(() => checkExportTarget(join(locked, 'out'))).toThrow(/not writable/);
    }
  });

  it('export.start refuses such a folder with a readable error and queues no job', async () => {
    ctx = createAppContext('test', createProjectWithSample(tempDir(), true));
    for (const outDir of ['/proc/self/out', '/etc/hostname/out']) {
      const out = await dispatch(ctx, 'export.start', { format: 'jsonl', outDir, filmIds: [] });
      expect(out.ok).toBe(false);
      if (!out.ok) expect(out.error).toMatchObject({ code: 'export_bad_target', message: expect.stringContaining(outDir) });
    }
    expect(ctx.jobs.describeSettings(1)).toBeNull();
    expect(ctx.requireProject().db.prepare('SELECT count(*) AS n FROM job').get()).toEqual({ n: 0 });
  });

  it('an export job queued before the check (resumed at start-up) fails at once instead of writing under /proc', async () => {
    const dir = tempDir();
    createProjectWithSample(dir, true).close();
    const seed = openProject(dir);
    seed.db.prepare("INSERT INTO job (kind, status, params_json) VALUES ('export', 'running', ?)")
      .run(JSON.stringify({ format: 'jsonl', outDir: '/proc/self/out', filmIds: [] }));
    seed.close();
    ctx = createAppContext('test', openProject(dir));
    await ctx.jobs.whenIdle();
    const [job] = await (async () => { const out = await dispatch(ctx!, 'jobs.list', {}); return out.ok ? out.result as any[] : []; })();
    expect(job).toMatchObject({ status: 'failed', error: { code: 'export_bad_target' } });
  });
});

describe('job recovery at start-up', () => {
  it('starts a recovered job only after the opening code has finished its turn', async () => {
    const dir = tempDir();
    const project = createProjectWithSample(dir, true);
    project.db.prepare("INSERT INTO job (kind, status, params_json) VALUES ('test.slow', 'running', '{}')").run();
    const started: string[] = [];
    const runner = new JobRunner(project, new EventBus(), [{
      kind: 'test.slow', lane: 'cpu', params: z.object({}),
      run: async () => { started.push('job'); },
    }], 10);
    try {
      runner.start();
      started.push('opened');
      await new Promise((r) => setImmediate(r));
      await runner.whenIdle();
      expect(started).toEqual(['opened', 'job']);
    } finally {
      await runner.stop();
      project.close();
    }
  });
});
