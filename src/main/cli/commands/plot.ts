import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AppError } from '../../../shared/errors';
import { EventBus } from '../../app/event-bus';
import { interruptOnSignal, waitForJobs, waitingNotice } from '../../jobs/foreground';
import { getJob } from '../../jobs/job-store';
import { JobRunner } from '../../jobs/runner';
import { PLOT_JOB, plotJobKind } from '../../plot/plot-job';
import { plotReports, resumeAllPlots, startFilms } from '../../plot/plot-service';
import type { ProviderOverrides } from '../../plot/settings';
import { openProject } from '../../project/project';
import { printNotice, printResult, progressLine } from '../output';

/**
 * `dreamframe plot --project <dir> --theme "…"` (or `--themes file.txt`, one theme a line): generates
 * films with an OpenAI-compatible LLM as one resumable job. OPENAI_BASE_URL and OPENAI_API_KEY are
 * honoured; flags win over them, they win over project and installation settings. Ctrl+C leaves
 * the job resumable with `--resume`. When the project is open in another process (the app,
 * `dreamframe serve`), that process runs the job and this command says so and waits for it.
 */

interface PlotOptions {
  project: string; theme?: string; themes?: string; resume?: boolean;
  chapters?: number; subchapters?: number; frames?: number; dialogue?: number; qa?: number; untilLevel?: number;
  baseUrl?: string; model?: string; concurrency?: number; timeout?: number; temperature?: number; apiKeyEnv?: string;
  json?: boolean;
}

const int = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new AppError('invalid_input', `${name} must be an integer ${min}..${max}, got "${v}"`);
  return n;
};

export function readThemes(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AppError('file_unreadable', `--themes ${file}: ${(err as Error).message}`, { file });
  }
  const themes = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (themes.length === 0) throw new AppError('invalid_input', `--themes ${file}: no themes (one per line; # starts a comment)`, { file });
  return themes;
}

function providerFrom(opts: PlotOptions, env: NodeJS.ProcessEnv): ProviderOverrides {
  const o: ProviderOverrides = {};
  const baseUrl = opts.baseUrl ?? env.OPENAI_BASE_URL;
  if (baseUrl) o.baseUrl = baseUrl;
  if (opts.model) o.model = opts.model;
  if (opts.concurrency !== undefined) o.maxConcurrency = opts.concurrency;
  if (opts.timeout !== undefined) o.timeoutMs = opts.timeout * 1000;
  if (opts.temperature !== undefined) o.temperature = opts.temperature;
  if (opts.apiKeyEnv) o.apiKeyEnv = opts.apiKeyEnv;
  return o;
}

export function register(program: Command): void {
  program.command('plot')
    .description('generate films from themes with an OpenAI-compatible LLM (three-level story expansion)')
    .requiredOption('--project <dir>', 'project folder')
    .option('--theme <text>', 'theme of one film')
    .option('--themes <file>', 'text file with one theme per line (many films, one shared concurrency limit)')
    .option('--resume', 'continue plot jobs that were interrupted or cancelled (retries failed nodes)')
    .option('--chapters <n>', 'chapters per film (default 11)', int('--chapters', 1, 40))
    .option('--subchapters <n>', 'subchapters per chapter (default 11)', int('--subchapters', 1, 40))
    .option('--frames <n>', 'frames per subchapter (default 11)', int('--frames', 1, 40))
    .option('--dialogue <n>', 'dialogue lines per subchapter (default 6)', int('--dialogue', 0, 40))
    .option('--qa <n>', 'QA pairs per subchapter (default 2)', int('--qa', 0, 10))
    .option('--until-level <n>', 'stop after level 1, 2 or 3 (default 3)', int('--until-level', 1, 3))
    .option('--base-url <url>', 'OpenAI-compatible endpoint (default: $OPENAI_BASE_URL, settings, or local Ollama)')
    .option('--model <name>', 'model name')
    .option('--concurrency <n>', 'max concurrent requests', int('--concurrency', 1, 256))
    .option('--timeout <seconds>', 'request timeout in seconds', int('--timeout', 1, 3600))
    .option('--temperature <t>', 'sampling temperature', (v) => Number(v))
    .option('--api-key-env <name>', 'environment variable holding the API key (default OPENAI_API_KEY)')
    .option('--json', 'machine-readable output')
    .action(async (opts: PlotOptions) => {
      const sources = [opts.theme !== undefined, opts.themes !== undefined, !!opts.resume].filter(Boolean).length;
      if (sources !== 1) throw new AppError('invalid_input', 'Give exactly one of --theme, --themes or --resume');
      const themes = opts.theme !== undefined ? [opts.theme] : opts.themes !== undefined ? readThemes(opts.themes) : [];
      const project = openProject(opts.project);
      const events = new EventBus();
      const runner = new JobRunner(project, events, [plotJobKind], 500, { label: 'dreamframe plot' });
      let jobIds: number[] = [];
      // Ctrl+C: jobs running here stop and stay 'running'; jobs another process runs are cancelled (see
      // interruptJobs). --resume continues both.
      const interrupt = interruptOnSignal(runner, () => jobIds);
      try {
        events.onAny((event, payload) => {
          if (event !== 'job.progress' || opts.json) return;
          const job = payload as { id: number; kind: string; status: string; progress: number; message: string | null };
          // Other processes' plot jobs are reported too (job table watch): print this command's only.
          if (job.kind === PLOT_JOB && (jobIds.length === 0 || jobIds.includes(job.id))) progressLine(`job ${job.id} ${job.status} ${(job.progress * 100).toFixed(0)}% ${job.message ?? ''}`);
        });
        runner.start();
        if (opts.resume) {
          jobIds = resumeAllPlots(project.db, runner);
        } else {
          const { job } = startFilms(project.db, runner, {
            themes,
            breadth: {
              ...(opts.chapters !== undefined && { chapters: opts.chapters }),
              ...(opts.subchapters !== undefined && { subchapters: opts.subchapters }),
              ...(opts.frames !== undefined && { frames: opts.frames }),
              ...(opts.dialogue !== undefined && { dialogueLines: opts.dialogue }),
              ...(opts.qa !== undefined && { qaPairs: opts.qa }),
            },
            provider: providerFrom(opts, process.env),
            expandUntil: (opts.untilLevel ?? 3) as 1 | 2 | 3,
          });
          jobIds = [job.id];
        }
        const notice = waitingNotice(runner, project.dir, jobIds, `continue with  dreamframe plot --project ${opts.project} --resume`);
        if (notice) printNotice(notice);
        await waitForJobs(project.db, jobIds, { signal: interrupt.signal });
        if (!opts.json && process.stderr.isTTY) process.stderr.write('\n');
        const interrupted = interrupt.interrupted;
        const films = plotReports(project.db, jobIds);
        const jobs = jobIds.map((id) => getJob(project.db, id)!);
        printResult(opts, { interrupted, jobs: jobs.map((j) => ({ id: j.id, status: j.status, message: j.message })), films }, () => [
          ...films.map((f) => `film ${f.filmId} "${f.title || f.theme}": ${f.nodes.done} nodes done, ${f.nodes.failed} failed, ${f.nodes.pending} pending; `
            + `${f.usage.requests} requests, ${f.usage.promptTokens} prompt + ${f.usage.completionTokens} completion tokens`),
          ...(interrupted ? [`interrupted: continue with  dreamframe plot --project ${opts.project} --resume`] : []),
          ...(films.some((f) => f.nodes.failed) ? ['failed nodes keep their raw answer; --resume retries them'] : []),
          ...(films.some((f) => f.repaired) ? [`${films.reduce((n, f) => n + f.repaired, 0)} node(s) had cosmetic flaws repaired (keyword braces, long locations, extra items...): `
            + 'the app\'s generation tree lists them per node'] : []),
        ].join('\n'));
        if (interrupted) process.exitCode = 130;
        else if (jobs.some((j) => j.status === 'failed')) process.exitCode = 1;
      } finally {
        interrupt.dispose();
        await runner.stop();
        project.close();
      }
    });
}
