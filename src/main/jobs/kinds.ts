import type { JobKind } from './runner';
import { exportJobKind } from '../export/job';
import { plotJobKind } from '../plot/plot-job';
import { renderJobKind } from '../render/render-job';
import { styleGenerateJobKind, styleLearnJobKind } from '../style/style-job';

/**
 * Every job kind the app can run. Feature areas append theirs (one import + one entry each);
 * the runner of each open project gets this list.
 */
export const jobKinds: JobKind<any>[] = [
  exportJobKind,
  plotJobKind,
  renderJobKind(),
  styleLearnJobKind,
  styleGenerateJobKind,
];
