import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { EventBus } from '../../src/main/app/event-bus';
import type { Job } from '../../src/shared/api/entities';
import { getJob } from '../../src/main/jobs/job-store';
import { JobRunner, type JobKind } from '../../src/main/jobs/runner';
import { plotJobKind } from '../../src/main/plot/plot-job';
import { openProject, type Project } from '../../src/main/project/project';
import { framesInScope, parseScopeSpec } from '../../src/main/render/frames';
import { renderJobKind } from '../../src/main/render/render-job';
import { listFilms } from '../../src/main/story/film-reader';
import { startFakeOpenAI, validAnswer, type FakeServer, type TestBreadth } from '../plot/fake-openai';
import { newProject } from '../plot/helpers';
import { repoRoot, tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';

/**
 * Real `dreamframe plot` and `render-film` processes on a project whose lease a serve-like runner in
 * this test process holds: the CLI queues its job, the holder runs it (once), and the CLI waits,
 * reports and exits.
 */

const bin = join(repoRoot, 'bin/dreamframe.js');
const B: TestBreadth = { chapters: 2, subchapters: 2, frames: 3, dialogueLines: 2, qaPairs: 1 };
const breadth = ['--chapters', '2', '--subchapters', '2', '--frames', '3', '--dialogue', '2', '--qa', '1'];
const NODES = 1 + 2 + 4;

interface Run { code: number | null; stdout: string; stderr: string }

/**
 * Runs the CLI; `watch` is called every 50 ms and may interrupt it like Ctrl+C. A run still going after
 * `limitMs` is killed and rejected with what it printed, so a hang fails with a diagnosis, not a test timeout.
 */
function cli(args: string[], watch?: (run: { stderr: string }, interrupt: () => void) => void, limitMs = 40_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    // The child inherits the throw-away DREAMFRAME_CONFIG_DIR the plot helpers set.
    const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env: process.env });
    const out = { stdout: '', stderr: '' };
    const timer = watch && setInterval(() => watch(out, () => child.kill('SIGINT')), 50);
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dreamframe ${args[0]} still running after ${limitMs} ms; stderr:\n${out.stderr}\nstdout:\n${out.stdout}`));
    }, limitMs);
    child.stdout.on('data', (d) => { out.stdout += d; });
    child.stderr.on('data', (d) => { out.stderr += d; });
    child.on('close', (code) => { if (timer) clearInterval(timer); clearTimeout(limit); resolve({ code, ...out }); });
  });
}

/** `promise`, or a rejection describing `state()` if it has not settled within `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>, state: () => unknown): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms; state: ${JSON.stringify(state())}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('dreamframe plot and render-film while the project is open in another process', () => {
  const tmp = useTempDir();
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function server(hold: (node: string) => boolean = () => false): Promise<FakeServer> {
    const s = await startFakeOpenAI((req) => (hold(req.node!) ? { hang: true } : { content: JSON.stringify(validAnswer(req.node!, B)) }));
    cleanup.push(() => s.close());
    return s;
  }

  /** The app side: its own handle on the project and a runner holding the lease, like `dreamframe serve`. */
  /** `ranHere` lists the job ids whose run started in this process. */
  function serveSide(dir: string): { project: Project; runner: JobRunner; seen: Job[]; ranHere: number[] } {
    const project = openProject(dir);
    const events = new EventBus();
    const seen: Job[] = [];
    events.onAny((name, payload) => { if (name === 'job.progress') seen.push(payload as Job); });
    const ranHere: number[] = [];
    const counted = <P>(k: JobKind<P>): JobKind<P> => ({ ...k, run: (ctx) => { ranHere.push(ctx.jobId); return k.run(ctx); } });
    const runner = new JobRunner(project, events, [counted(plotJobKind), counted(renderJobKind())], 0, { label: 'dreamframe serve', pollMs: 50 });
    runner.start();
    cleanup.push(async () => { await runner.stop(); project.close(); });
    return { project, runner, seen, ranHere };
  }

  it('queues the job for the holder, which runs it once, while the CLI says so, waits and exits 0', async () => {
    const s = await server();
    const dir = (() => { const p = newProject(); p.close(); return p.dir; })();
    const serve = serveSide(dir);
    expect(serve.runner.holdsLease).toBe(true);

    const run = await cli(['plot', '--project', dir, '--theme', 'a lighthouse', ...breadth, '--base-url', s.baseUrl, '--json']);
    expect(run.stderr).toContain(`is open in dreamframe serve (pid ${process.pid} on `);
    expect(run.stderr.match(/is open in/g)).toHaveLength(1);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ interrupted: false, jobs: [{ status: 'done' }], films: [{ nodes: { done: NODES, failed: 0, pending: 0 } }] });

    // The holder ran it, once, and its jobs view followed it; every node was asked once.
    const jobId = result.jobs[0].id as number;
    expect(serve.ranHere).toEqual([jobId]);
    expect(serve.seen.filter((j) => j.id === jobId).map((j) => j.status)).toEqual(expect.arrayContaining(['running', 'done']));
    const chat = s.log.filter((r) => r.path.endsWith('/chat/completions'));
    expect(chat).toHaveLength(NODES);
    expect(new Set(chat.map((r) => r.node)).size).toBe(NODES);
    expect(serve.runner.holdsLease).toBe(true);
  });

  it('Ctrl+C while waiting cancels the job in the holder; --resume has the holder finish it without asking a finished node again', async () => {
    let hold = true;
    const s = await server((node) => hold && node.startsWith('c1.'));
    const dir = (() => { const p = newProject(); p.close(); return p.dir; })();
    const serve = serveSide(dir);

    let interrupted = false;
    const first = await cli(['plot', '--project', dir, '--theme', 'a lighthouse', ...breadth, '--base-url', s.baseUrl, '--json'], (out, interrupt) => {
      // Interrupt once the CLI is waiting and the holder has a held request in flight.
      if (!interrupted && out.stderr.includes('is open in') && s.log.some((r) => r.node?.startsWith('c1.') && r.endedAt === undefined)) {
        interrupted = true;
        interrupt();
      }
    });
    expect(first.code).toBe(130);
    const firstResult = JSON.parse(first.stdout);
    expect(firstResult).toMatchObject({ interrupted: true, jobs: [{ status: 'cancelled' }] });
    const jobId = firstResult.jobs[0].id as number;
    // The holder stopped the job (its requests aborted) and kept the lease.
    await within(30_000, 'the holder stopping the cancelled job', serve.runner.whenIdle(), () => ({
      job: getJob(serve.project.db, jobId), lease: serve.runner.leaseHolder(), inFlight: s.log.filter((r) => r.endedAt === undefined).map((r) => r.node),
    }));
    expect(getJob(serve.project.db, jobId)!.status).toBe('cancelled');
    expect(serve.runner.holdsLease).toBe(true);
    const doneBefore = new Set((serve.project.db.prepare("SELECT key FROM plot_node WHERE status = 'done'").all() as { key: string }[]).map((r) => r.key));
    expect(doneBefore.size).toBeGreaterThan(0);
    expect(doneBefore.size).toBeLessThan(NODES);

    hold = false;
    const asked = s.log.length;
    const second = await cli(['plot', '--project', dir, '--resume', '--json']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ interrupted: false, jobs: [{ id: jobId, status: 'done' }], films: [{ nodes: { done: NODES } }] });
    const resumedNodes = s.log.slice(asked).map((r) => r.node!);
    expect(resumedNodes.filter((n) => doneBefore.has(n))).toEqual([]);
    expect(new Set(resumedNodes).size).toBe(NODES - doneBefore.size);
    expect(serve.ranHere).toEqual([jobId, jobId]);
  });

  it('render-film: the holder renders each frame of the scope once while the CLI waits and exits 0', async () => {
    const dir = join(tmp(), 'p');
    const p = createProjectWithSample(dir, true);
    const filmId = listFilms(p.db)[0].id;
    const scopeFrames = framesInScope(p.db, filmId, parseScopeSpec(p.db, filmId, 'subchapter:1.1'));
    p.close();
    const serve = serveSide(dir);

    const run = await cli(['render-film', '--project', dir, '--film', String(filmId), '--scope', 'subchapter:1.1',
      '--model', join(tinySd15Dir, 'pipeline'), '--width', '16', '--height', '16', '--steps', '2', '--json']);
    expect(run.stderr).toContain(`is open in dreamframe serve (pid ${process.pid} on `);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { jobId: number; status: string; resumed: boolean; frames: number };
    expect(result).toMatchObject({ status: 'done', resumed: false, frames: scopeFrames.length });
    expect(serve.ranHere).toEqual([result.jobId]);
    const rows = serve.project.db.prepare('SELECT frame_id FROM render WHERE job_id = ? ORDER BY id').all(result.jobId) as { frame_id: number }[];
    expect(rows.map((r) => r.frame_id)).toEqual(scopeFrames.map((f) => f.frameId));
  });
});
