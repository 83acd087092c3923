import { CommanderError } from 'commander';
import { buildProgram } from './program';
import { printError } from './output';

/** CLI entry: parses argv, runs the command, maps errors to exit codes (2 usage, 1 failure). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return 0;
      return 2;
    }
    printError({ json: argv.includes('--json') }, err);
    return 1;
  }
}
