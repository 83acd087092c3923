import type { Command } from 'commander';
import { startServer } from '../../transports/server';
import { printResult } from '../output';

/** `dreamframe serve --project <dir>`: the full UI in any browser, on 127.0.0.1 with a session token. */
export function register(program: Command): void {
  program.command('serve')
    .description('serve the UI and API on 127.0.0.1 (prints the URL with its session token)')
    .requiredOption('--project <dir>', 'project folder')
    .option('--port <n>', 'port (default: a free one)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port must be 0..65535, got ${v}`);
      return n;
    }, 0)
    // No default: the UI comes from the installed app (transports/renderer-dir.ts), never from the current folder.
    .option('--renderer <dir>', 'developer override: serve the built UI from this folder instead of the app\'s own out/renderer')
    .option('--json', 'machine-readable output')
    .action(async (opts: { project: string; port: number; renderer?: string; json?: boolean }) => {
      const server = await startServer({ projectDir: opts.project, port: opts.port, rendererDir: opts.renderer });
      printResult(opts, { url: server.url, port: server.port }, () =>
        `DreamFrame Studio is serving ${opts.project}\nOpen ${server.url}\n(Ctrl+C stops it; the token changes every launch)`);
      await new Promise<void>((resolveStop) => {
        const stop = () => void server.close().then(resolveStop);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
