import type { Command } from 'commander';
import * as buildTiGrad from './build-ti-grad';
import * as exportCmd from './export';
import * as importCmd from './import';
import * as info from './info';
import * as model from './model';
import * as plot from './plot';
import * as project from './project';
import * as quality from './quality';
import * as renderFilm from './render-film';
import * as render from './render';
import * as review from './review';
import * as serve from './serve';
import * as style from './style';
import * as worker from './worker';

/** A CLI command module: adds one (sub)command to the program. */
export interface CommandModule {
  register(program: Command): void;
}

// One line per command module. Keep alphabetical to avoid merge noise.
export const commandModules: CommandModule[] = [
  buildTiGrad,
  exportCmd,
  importCmd,
  info,
  model,
  plot,
  project,
  quality,
  render,
  renderFilm,
  review,
  serve,
  style,
  worker,
];
