import type { Command } from 'commander';
import { importStoryJsFile } from '../../import/story-js';
import { openProject } from '../../project/project';
import { printResult } from '../output';

/** `dreamframe import <story_js> --project <dir>`: one transaction, reports what it could not map. */
export function register(program: Command): void {
  program.command('import <story_js>')
    .description('import a DreamFrame story_js film (e.g. story_info_0.json) into a project')
    .requiredOption('--project <dir>', 'project folder')
    .option('--as-new', 'import even if a film of the project was imported from the same content (refused otherwise)')
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { project: string; asNew?: boolean; json?: boolean }) => {
      const project = openProject(opts.project);
      try {
        const report = importStoryJsFile(project, file, { asNew: opts.asNew ?? false });
        printResult(opts, report, () => {
          const c = report.counts;
          const lines = [
            `Imported film ${report.filmId} (${report.structure}): ${c.chapters} chapters, ${c.subchapters} subchapters, `
              + `${c.frames} frames, ${c.dialogueLines} dialogue lines, ${c.qaPairs} QA pairs, ${c.characters} characters`,
            ...report.unmapped.map((u) => `  note: ${u}`),
          ];
          return lines.join('\n');
        });
      } finally {
        project.close();
      }
    });
}
