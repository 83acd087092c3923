import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { AppError } from '../../../shared/errors';
import type { ProviderName } from './providers';

/** One ORT session plus what the wrappers need to know about its declared inputs and outputs. */
export interface ModelSession {
  file: string;
  provider: ProviderName;
  session: ort.InferenceSession;
  inputs: Map<string, { type: string; shape: ReadonlyArray<number | string> }>;
  outputs: Map<string, { type: string; shape: ReadonlyArray<number | string> }>;
}

/** Time spent inside session.run, for the bench's JS-overhead split. */
export const runTimer = { ms: 0, calls: 0 };

export async function timedRun(
  s: ModelSession,
  feeds: Record<string, ort.Tensor>,
  fetches?: string[],
): Promise<ort.InferenceSession.ReturnType> {
  const start = performance.now();
  try {
    return await (fetches ? s.session.run(feeds, fetches) : s.session.run(feeds));
  } catch (err) {
    throw new AppError('diffusion.run_failed', `${s.file}: inference failed on ${s.provider} (${(err as Error).message})`, { path: s.file });
  } finally {
    runTimer.ms += performance.now() - start;
    runTimer.calls++;
  }
}

function metadataMap(list: ReadonlyArray<ort.InferenceSession.ValueMetadata>): ModelSession['inputs'] {
  const map: ModelSession['inputs'] = new Map();
  for (const m of list) {
    if (m.isTensor) map.set(m.name, { type: m.type, shape: m.shape });
    else map.set(m.name, { type: 'non-tensor', shape: [] });
  }
  return map;
}

/** Maps an ORT creation failure to an error that names the file and the kind of problem. */
export function sessionError(file: string, provider: ProviderName, err: unknown): AppError {
  const msg = (err as Error)?.message ?? String(err);
  if (/could not find an implementation|not_implemented|no kernel|failed to find kernel/i.test(msg)) {
    const op = /for (\w+)\(\d+\)/.exec(msg)?.[1] ?? /kernel for (\w+)/.exec(msg)?.[1];
    return new AppError(
      'diffusion.unsupported_op',
      `${file}: the ${provider} execution provider cannot run ${op ? `operator ${op}` : 'an operator in this model'} (${msg.split('\n')[0]})`,
      { path: file, provider, op },
    );
  }
  if (/protobuf parsing failed|invalid_protobuf|load model .* failed/i.test(msg)) {
    return new AppError('diffusion.model_invalid', `${file}: onnxruntime cannot parse the model (${msg.split('\n')[0]})`, { path: file });
  }
  if (/external data|getfilelength|no such file/i.test(msg)) {
    return new AppError('diffusion.external_data_missing', `${file}: external weights cannot be read (${msg.split('\n')[0]})`, { path: file });
  }
  return new AppError('diffusion.session_failed', `${file}: onnxruntime could not load it on ${provider} (${msg.split('\n')[0]})`, {
    path: file,
    provider,
  });
}

export interface SessionTuning {
  /** ORT intra-op threads (default: ORT's choice, one per core). */
  threads?: number;
}

export async function openModelSession(file: string, provider: ProviderName, tuning: SessionTuning = {}): Promise<ModelSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    ...(tuning.threads ? { intraOpNumThreads: tuning.threads } : {}),
  };
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, options);
  } catch (err) {
    throw sessionError(file, provider, err);
  }
  return {
    file,
    provider,
    session,
    inputs: metadataMap(session.inputMetadata),
    outputs: metadataMap(session.outputMetadata),
  };
}
