import { Command } from 'commander';
import { commandModules } from './commands/index';

/** Builds the `dreamframe` command tree; each command lives in its own module under commands/. */
export function buildProgram(): Command {
  const program = new Command('dreamframe')
    .description('DreamFrame Studio: generate, curate and export keyframe movies as video instruction data')
    .showHelpAfterError()
    .exitOverride();
  for (const mod of commandModules) mod.register(program);
  return program;
}
