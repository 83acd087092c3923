import type { Command } from 'commander';
import { createProjectWithSample } from '../../app/context';
import { openProject } from '../../project/project';
import { printResult } from '../output';

/** `dreamframe project create <dir> [--sample]` and `dreamframe project backup`. */
export function register(program: Command): void {
  const project = program.command('project').description('create and back up project folders');

  project.command('create <dir>')
    .description('create a new project folder (project.sqlite + assets/)')
    .option('--sample', 'fill it with the bundled sample film', false)
    .option('--json', 'machine-readable output')
    .action((dir: string, opts: { sample: boolean; json?: boolean }) => {
      const p = createProjectWithSample(dir, opts.sample);
      const info = { path: p.dir, name: p.name, schemaVersion: p.schemaVersion };
      p.close();
      printResult(opts, info, () => `Created project ${info.path}${opts.sample ? ' with the sample film' : ''}`);
    });

  project.command('backup')
    .description('write a consistent copy of the project database (VACUUM INTO)')
    .requiredOption('--project <dir>', 'project folder')
    .requiredOption('--out <file>', 'backup file to create (must not exist)')
    .option('--json', 'machine-readable output')
    .action((opts: { project: string; out: string; json?: boolean }) => {
      const p = openProject(opts.project);
      try {
        const result = p.backup(opts.out);
        printResult(opts, result, () => `Backed up to ${result.path} (${result.bytes} bytes)`);
      } finally {
        p.close();
      }
    });
}
