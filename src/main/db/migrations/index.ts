import { sql as story } from './001-story';
import { sql as production } from './002-production';
import { sql as plot } from './003-plot';
import { sql as render } from './005-render';
import { sql as runnerLease } from './006-runner-lease';
import { sql as plotWarnings } from './007-plot-warnings';
import { sql as quality } from './008-quality';
import { sql as reviewReason } from './009-review-reason';

/**
 * Ordered schema migrations. Never edit one that has shipped: its checksum is recorded in every
 * database it was applied to, and such databases then refuse to open. Add a new one instead.
 * Ids only grow: 4 was never used and must stay unused (databases already carry 5); the next one is 10.
 */
export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  { id: 1, name: 'story', sql: story },
  { id: 2, name: 'production', sql: production },
  { id: 3, name: 'plot', sql: plot },
  { id: 5, name: 'render', sql: render },
  { id: 6, name: 'runner lease', sql: runnerLease },
  { id: 7, name: 'plot warnings', sql: plotWarnings },
  { id: 8, name: 'quality', sql: quality },
  { id: 9, name: 'review reason', sql: reviewReason },
];
