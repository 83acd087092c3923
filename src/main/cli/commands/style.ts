import type { Command } from 'commander';
import { AppError } from '../../../shared/errors';
import { describeWidths } from '../../style/embedding';
import { EXPORT_FORMATS, readEmbeddingFile, writeEmbeddingFile, type EmbeddingExportFormat } from '../../style/formats/index';
import { printResult } from '../output';

/** `dreamframe style …`: style-embedding tools (convert between file formats; learn by textual inversion). */

interface ConvertOptions {
  to: string;
  keyword?: string;
  json?: boolean;
}

function registerConvert(style: Command): void {
  style
    .command('convert <in> <out>')
    .description(
      'Convert a style embedding between formats. Reads ours, diffusers learned_embeds, SDXL clip_l/clip_g ' +
        "safetensors and the DreamFrame release's torch .pt (restricted reader: tensor dictionaries only).",
    )
    .requiredOption('--to <format>', `output format: ${EXPORT_FORMATS.join('|')}`)
    .option('--keyword <word>', 'style keyword to record (required when the source file carries none)')
    .option('--json', 'print the result as JSON')
    .action((input: string, output: string, opts: ConvertOptions) => {
      if (!EXPORT_FORMATS.includes(opts.to as EmbeddingExportFormat)) {
        throw new AppError('cli.invalid_option', `--to ${opts.to} is not a format; use one of ${EXPORT_FORMATS.join(', ')}`);
      }
      const to = opts.to as EmbeddingExportFormat;
      const { embedding, layout } = readEmbeddingFile(input, { keyword: opts.keyword });
      if (!embedding.keyword && to !== 'sdxl-comfy') {
        throw new AppError(
          'style.keyword_required',
          `${input} (${layout}) does not record a keyword and the ${to} format needs one; pass --keyword <word>`,
        );
      }
      writeEmbeddingFile(output, embedding, to);
      const widths = embedding.vectors.map((v) => v.width);
      const result = {
        input,
        output,
        from: layout,
        to,
        family: embedding.family,
        keyword: embedding.keyword,
        widths,
        rows: embedding.vectors.map((v) => v.rows),
      };
      printResult(opts, result, () => `${input} (${layout}, width ${describeWidths(widths)}) → ${output} (${to})`);
    });
}

export function register(program: Command): void {
  const style = program.command('style').description('Style embeddings: learn a style keyword by textual inversion, convert files');
  registerConvert(style);
}
