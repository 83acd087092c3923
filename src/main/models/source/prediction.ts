import { existsSync, readFileSync } from 'node:fs';
import { AppError } from '../../../shared/errors';

/**
 * Prediction type. v vs epsilon cannot be seen in the weights (SD 2.1 768-v and 512-base have identical shapes),
 * so it is taken, in order, from: `--prediction`; a `.yaml` of the same name beside the checkpoint (A1111's
 * convention: the LDM config, whose `parameterization: "v"` marks a v model); the config's scheduler
 * `prediction_type`; else epsilon, with a note saying so.
 */

export type Prediction = 'epsilon' | 'v_prediction';

export interface PredictionChoice {
  prediction: Prediction;
  /** Where it came from, for notes: 'option' | 'yaml' | 'config' | 'default'. */
  from: 'option' | 'yaml' | 'config' | 'default';
  note?: string;
}

/** The checkpoint's sibling `<name>.yaml` (or `.yml`), if there is one. */
export function siblingYaml(checkpoint: string): string | undefined {
  const base = checkpoint.replace(/\.[^./\\]+$/, '');
  for (const ext of ['.yaml', '.yml']) if (existsSync(base + ext)) return base + ext;
  return undefined;
}

/**
 * The `parameterization` value of an LDM yaml, read as text (a YAML document can do more than hold data; this
 * only looks for the one `key: value` line). Undefined when the key is absent.
 */
export function yamlParameterization(path: string): Prediction | undefined {
  const text = readFileSync(path, 'utf8');
  const m = /^[ \t]*parameterization[ \t]*:[ \t]*(?:"([^"\n]*)"|'([^'\n]*)'|([^#\s]+))[ \t]*(?:#.*)?$/m.exec(text);
  if (!m) return undefined;
  const value = (m[1] ?? m[2] ?? m[3] ?? '').trim();
  if (value === 'v') return 'v_prediction';
  if (value === 'eps' || value === 'epsilon') return 'epsilon';
  throw new AppError('model.source_invalid', `${path}: parameterization "${value}" is not one of "eps", "v"`, { file: path, value });
}

export function choosePrediction(option: 'epsilon' | 'v' | undefined, checkpoint: string | undefined, scheduler: Record<string, unknown> | undefined): PredictionChoice {
  if (option !== undefined) return { prediction: option === 'v' ? 'v_prediction' : 'epsilon', from: 'option' };
  const yaml = checkpoint ? siblingYaml(checkpoint) : undefined;
  if (yaml) {
    const p = yamlParameterization(yaml);
    if (p) return { prediction: p, from: 'yaml', note: `prediction type ${p} from ${yaml}` };
  }
  const fromConfig = scheduler?.prediction_type;
  if (fromConfig === 'epsilon' || fromConfig === 'v_prediction') return { prediction: fromConfig, from: 'config' };
  if (fromConfig !== undefined && fromConfig !== null) {
    throw new AppError('model.source_invalid', `scheduler prediction_type ${JSON.stringify(fromConfig)} is not supported (epsilon or v_prediction)`, { value: fromConfig });
  }
  return { prediction: 'epsilon', from: 'default', note: 'prediction type not given (no --prediction, no .yaml beside the checkpoint, none in the scheduler config): assuming epsilon' };
}
