import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/main/app/context';
import { createAppContext } from '../../src/main/composition';
import { createProject, openProject } from '../../src/main/project/project';
import { useTempDir } from '../support/tmp';

describe("the app context's runner and the project lease", () => {
  const tmp = useTempDir();
  const contexts: AppContext[] = [];
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close();
  });

  it('names its mode in the lease, and reopening the same project hands the lease straight to the new runner', async () => {
    const dir = join(tmp(), 'p');
    const ctx = createAppContext('serve', createProject(dir));
    contexts.push(ctx);
    expect(ctx.jobs.holdsLease).toBe(true);
    expect(ctx.jobs.leaseHolder()).toMatchObject({ label: 'dreamframe serve', pid: process.pid });
    const first = ctx.jobs;
    await ctx.openProject(dir);
    expect(ctx.jobs).not.toBe(first);
    expect(ctx.jobs.holdsLease).toBe(true);
    expect(first.holdsLease).toBe(false);
  });

  it('a second app on the same project does not hold the lease until the first closes', async () => {
    const dir = join(tmp(), 'p');
    const serve = createAppContext('serve', createProject(dir));
    const app = createAppContext('electron', openProject(dir));
    contexts.push(app, serve);
    expect(serve.jobs.holdsLease).toBe(true);
    expect(app.jobs.holdsLease).toBe(false);
    expect(app.jobs.leaseHolder()?.label).toBe('dreamframe serve');
    await serve.close();
    for (let i = 0; i < 200 && !app.jobs.holdsLease; i++) await new Promise((r) => setTimeout(r, 10));
    expect(app.jobs.holdsLease).toBe(true);
    expect(app.jobs.leaseHolder()?.label).toBe('DreamFrame Studio');
  });
});
