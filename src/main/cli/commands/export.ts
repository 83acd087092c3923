import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { runExport } from '../../export/exporter';
import { ExportFormat } from '../../export/types';
import { openProject } from '../../project/project';
import { printResult, progressLine } from '../output';

interface ExportCliOptions {
  project: string;
  film?: number[];
  format: ExportFormat;
  out: string;
  includeDrafts?: boolean;
  excludeFlagged?: boolean;
  clips?: boolean;
  subtitles?: boolean;
  fps: number;
  maxSize: number;
  allowPlaceholders?: boolean;
  maxTokens?: number;
  maxTokensLong?: number;
  json?: boolean;
}

function positiveInt(name: string) {
  return (value: string, previous?: number[] | number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer, got "${value}"`);
    return n;
  };
}

/**
 * `dreamframe export --project <dir> [--film ID] --format … --out DIR [--include-drafts]`: runs an
 * export in this process with a progress line on stderr; Ctrl-C stops it, and running the same
 * command again reuses every clip that was finished.
 */
export function register(program: Command): void {
  program.command('export')
    .description('export approved films as LLaMA-VID / Video-ChatGPT / story_js / JSONL data with mp4 clips')
    .requiredOption('--project <dir>', 'project folder')
    .option('--film <id>', 'film id to export (repeat for several; default: every film)',
      (v: string, prev: number[] = []) => [...prev, positiveInt('--film')(v)])
    .requiredOption('--format <format>', `one of ${ExportFormat.options.join(', ')}`, (v: string) => {
      const parsed = ExportFormat.safeParse(v);
      if (!parsed.success) throw new InvalidArgumentError(`--format must be one of ${ExportFormat.options.join(', ')}, got "${v}"`);
      return parsed.data;
    })
    .requiredOption('--out <dir>', 'export folder (created if missing; nothing is written outside it)')
    .option('--include-drafts', 'also export items still in draft (rejected items are never exported)')
    .option('--exclude-flagged', 'leave out frames the quality check flagged (dreamframe quality film) unless approved explicitly')
    .option('--clips', 'encode mp4 clips for jsonl too (on by default for llama-vid and video-chatgpt)')
    .option('--no-clips', 'write data files only, without encoding clips')
    .option('--no-subtitles', 'do not write .srt dialogue sidecars next to clips')
    .option('--fps <n>', 'clip frame rate; each keyframe lasts one second', positiveInt('--fps'), 1)
    .option('--max-size <px>', 'longest clip side in pixels', positiveInt('--max-size'), 1024)
    .option('--allow-placeholders', 'encode "not rendered yet" cards for frames without a finished keyframe (refused otherwise)')
    .option('--max-tokens <n>', 'LLaMA-VID token budget of llama_vid.json records (stage 2 --model_max_length)', positiveInt('--max-tokens'), 2048)
    .option('--max-tokens-long <n>', 'LLaMA-VID token budget of llama_vid_long*.json records (stage 3 --model_max_length)', positiveInt('--max-tokens-long'), 65536)
    .option('--json', 'machine-readable output')
    .action(async (opts: ExportCliOptions, cmd: Command) => {
      const project = openProject(opts.project);
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      // Only pass --clips/--no-clips when given, so each format keeps its default otherwise.
      const clipsSource = cmd.getOptionValueSource('clips');
      try {
        let lastLine = '';
        const result = await runExport(project, {
          format: opts.format,
          // Relative to the folder the command runs in; the core only takes absolute folders.
          outDir: resolve(opts.out),
          filmIds: opts.film ?? [],
          includeDrafts: opts.includeDrafts ?? false,
          excludeFlagged: opts.excludeFlagged ?? false,
          clips: clipsSource === 'cli' ? opts.clips : undefined,
          subtitles: opts.subtitles ?? true,
          fps: opts.fps,
          maxSize: opts.maxSize,
          allowPlaceholders: opts.allowPlaceholders ?? false,
          maxTokens: { stage2: opts.maxTokens ?? 2048, stage3: opts.maxTokensLong ?? 65536 },
        }, {
          signal: controller.signal,
          progress: (fraction, message) => {
            const line = `${(fraction * 100).toFixed(0).padStart(3)}%  ${message}`;
            if (line !== lastLine) progressLine(line);
            lastLine = line;
          },
        });
        if (process.stderr.isTTY) process.stderr.write('\n');
        const m = result.manifest;
        printResult(opts, { outDir: result.outDir, manifest: result.manifestPath, clips: result.clips, pruned: result.pruned, counts: m.counts, stats: m.stats }, () => {
          const s = m.stats;
          return [
            `Exported ${m.format} to ${result.outDir}`,
            ...Object.entries(m.counts.records).map(([file, n]) => `  ${file}: ${n} records`),
            `  clips: ${result.clips.total} (${result.clips.encoded} encoded, ${result.clips.reused} unchanged)`,
            `  ${s.films} films, ${s.chapters} chapters, ${s.subchapters} subchapters, ${s.frames} frames `
              + `(${s.unrenderedFrames} unrendered), ${s.dialogueLines} dialogue lines, ${s.qaPairs.total} QA pairs`,
            `  left out by review: ${m.counts.excluded.frames} frames, ${m.counts.excluded.dialogueLines} lines, ${m.counts.excluded.qaPairs} QA pairs`,
            ...(m.tokenBudgets ?? []).filter((b) => b.leftOut.length > 0 || b.split.length > 0).map((b) =>
              `  ${b.file}: ${b.split.length} record(s) split by rounds, ${b.leftOut.length} question(s) left out (over ${b.maxTokens} tokens; see the manifest)`),
            ...(result.pruned.removed.length > 0 ? [`  removed ${result.pruned.removed.length} file(s) earlier exports wrote that are no longer exported`] : []),
            ...result.pruned.kept.map((k) => `  kept ${k.path}: ${k.reason}`),
            `  manifest: ${result.manifestPath}`,
          ].join('\n');
        });
      } finally {
        process.removeListener('SIGINT', onSigint);
        project.close();
      }
    });
}
