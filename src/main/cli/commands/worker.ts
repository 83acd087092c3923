import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { AppError } from '../../../shared/errors';
import { parseProvider, type ProviderRequest } from '../../diffusion/runtime/providers';
import { parseRedisUrl } from '../../farm/connection';
import { defaultModelsDir } from '../../farm/model-index';
import { RenderWorker } from '../../farm/worker';
import { configDir } from '../../plot/settings';
import { printNotice, printResult } from '../output';

/**
 * `dreamframe worker --redis <url>`: one render-farm worker (one per GPU, on any machine). Renders the tasks
 * render jobs queue on the farm until SIGTERM / Ctrl+C, which let the frame in hand finish first (docs/farm.md).
 */

interface Options {
  redis: string; provider: ProviderRequest; device?: number; models?: string; concurrency: number; name?: string;
  lockMs?: number; stalledMs?: number; json?: boolean;
}

const int = (flag: string, min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new AppError('invalid_input', `${flag} must be an integer ≥ ${min}, got ${v}`);
  return n;
};

export function register(program: Command): void {
  program.command('worker')
    .description('render frames for render jobs queued on a render farm (BullMQ on Redis); one process per GPU')
    .requiredOption('--redis <url>', 'the farm\'s Redis, e.g. redis://farm-host:6379 (password: redis://:secret@host:6379)')
    .option('--provider <name>', 'execution provider: cpu, cuda, dml, coreml, webgpu or auto', parseProvider, 'cpu' as ProviderRequest)
    .option('--device <n>', 'GPU index this worker uses (sets CUDA_VISIBLE_DEVICES)', int('--device', 0))
    .option('--models <dir>', 'folder whose sub-folders are model folders (default: the model library: DREAMFRAME_MODELS, its saved setting, or the data folder)')
    .option('--concurrency <n>', 'tasks rendered at once', int('--concurrency', 1), 1)
    .option('--name <name>', 'name shown in the jobs view (default: host-pid)')
    .option('--lock-ms <ms>', 'a task whose worker is silent this long goes to another worker (default 120000)', int('--lock-ms', 500))
    .option('--stalled-ms <ms>', 'how often stalled tasks are looked for (default 30000)', int('--stalled-ms', 200))
    .option('--json', 'machine-readable output (one JSON line per event on stdout)')
    .action(async (opts: Options) => {
      parseRedisUrl(opts.redis);
      const modelsDir = opts.models ? resolve(opts.models) : defaultModelsDir();
      const log = (line: string) => {
        if (opts.json) process.stdout.write(`${JSON.stringify({ event: 'log', message: line })}\n`);
        else printNotice(line);
      };
      const worker = new RenderWorker({
        redis: opts.redis, name: opts.name, provider: opts.provider, device: opts.device ?? null, modelsDir,
        concurrency: opts.concurrency, cacheDir: join(configDir(), 'cache', 'worker'),
        lockDurationMs: opts.lockMs, stalledIntervalMs: opts.stalledMs, log,
      });
      try {
        await worker.start();
      } catch (err) {
        // Close the Redis clients already opened, or they keep the process alive after the error.
        await worker.stop().catch(() => undefined);
        throw err;
      }
      if (opts.json) process.stdout.write(`${JSON.stringify({ event: 'ready', id: worker.id, name: worker.name, host: worker.host, modelsDir })}\n`);
      await new Promise<void>((stopped) => {
        const stop = () => {
          log(`stopping: finishing the frame in hand`);
          void worker.stop().then(stopped);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      printResult(opts, { event: 'stopped', id: worker.id }, () => `worker ${worker.name} stopped`);
    });
}
