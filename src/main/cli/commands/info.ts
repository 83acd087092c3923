import type { Command } from 'commander';
import { openProject } from '../../project/project';
import { listFilms } from '../../story/film-reader';
import { printResult } from '../output';

/** `dreamframe info --project <dir>`: the project's films and their counts. */
export function register(program: Command): void {
  program.command('info')
    .description('list the films of a project with their counts')
    .requiredOption('--project <dir>', 'project folder')
    .option('--json', 'machine-readable output')
    .action((opts: { project: string; json?: boolean }) => {
      const project = openProject(opts.project);
      try {
        const films = listFilms(project.db);
        const info = { project: project.dir, schemaVersion: project.schemaVersion, films };
        printResult(opts, info, () => {
          if (films.length === 0) return `${project.dir}: no films yet`;
          const rows = films.map((f) => {
            const c = f.counts;
            return `${String(f.id).padStart(4)}  ${f.title.slice(0, 40).padEnd(40)}  ${String(c.chapters).padStart(3)} ch  `
              + `${String(c.subchapters).padStart(4)} sub  ${String(c.frames).padStart(5)} frames  `
              + `${String(c.dialogueLines).padStart(4)} lines  ${String(c.qaPairs).padStart(4)} QA  ${c.characters} characters`;
          });
          return [`${project.dir} (schema ${project.schemaVersion})`, ...rows].join('\n');
        });
      } finally {
        project.close();
      }
    });
}
