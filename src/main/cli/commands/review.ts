import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { ReviewState } from '../../../shared/api/entities';
import { AppError } from '../../../shared/errors';
import { openProject } from '../../project/project';
import { getFilm } from '../../story/film-reader';
import { parseReviewScope, parseReviewWhat, reviewScope, type ScopeReviewResult } from '../../story/review-scope';
import { printResult } from '../output';

interface ReviewCliOptions {
  project: string;
  film: number;
  scope?: string;
  approve?: boolean;
  reject?: boolean;
  reset?: boolean;
  what?: string;
  json?: boolean;
}

/** The one state the flags ask for (exactly one of --approve, --reject, --reset). */
function requestedState(o: ReviewCliOptions): ReviewState {
  const chosen = ([['approve', 'approved'], ['reject', 'rejected'], ['reset', 'draft']] as const).filter(([flag]) => o[flag]);
  if (chosen.length !== 1) throw new AppError('invalid_input', 'give exactly one of --approve, --reject or --reset');
  return chosen[0][1];
}

/** Runs the command's work; exported for tests. */
export function runReview(o: ReviewCliOptions): ScopeReviewResult & { scope: string; label: string } {
  const state = requestedState(o);
  const scope = parseReviewScope(o.scope);
  const what = parseReviewWhat(o.what);
  const project = openProject(resolve(o.project));
  try {
    getFilm(project.db, o.film); // not_found names the film
    const result = reviewScope(project.db, o.film, scope, what, state);
    return { ...result, scope: o.scope ?? 'film', label: `${state} ${what.join(', ')} of ${o.scope ?? 'the film'}` };
  } finally {
    project.close();
  }
}

/**
 * `dreamframe review --project <dir> --film <id> [--scope chapter:N|subchapter:N.M] --approve|--reject|--reset
 * [--what frames,lines,qa] [--json]`: sets the review state of a film's items without the app, through
 * the same edit log (one entry, undone by the app's undo).
 */
export function register(program: Command): void {
  program.command('review')
    .description('approve, reject or reset the review state of a film, chapter or subchapter (undoable in the app)')
    .requiredOption('--project <dir>', 'project folder')
    .requiredOption('--film <id>', 'film id', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`--film must be a positive integer, got "${v}"`);
      return n;
    })
    .option('--scope <scope>', 'chapter:N or subchapter:N.M, counting from 1 (default: the whole film)')
    .option('--approve', 'mark the items approved')
    .option('--reject', 'mark the items rejected')
    .option('--reset', 'put the items back to draft')
    .option('--what <kinds>', 'comma-separated subset of frames,lines,qa (default: all three)')
    .option('--json', 'machine-readable output')
    .action((opts: ReviewCliOptions) => {
      const result = runReview(opts);
      printResult(opts, result, () => {
        const c = result.counts;
        return `Film ${result.filmId}, ${result.scope}: ${result.updated} item(s) set to ${result.state} `
          + `(${c.frames} frames, ${c.lines} dialogue lines, ${c.qa} QA pairs); undo in the app reverts it in one step`;
      });
    });
}
