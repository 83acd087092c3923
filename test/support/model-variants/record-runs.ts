import type * as ort from 'onnxruntime-node';

/**
 * Records what an onnxruntime session is fed and returns, so a test can see the tensors that really crossed into a
 * model (timesteps, time_ids, padded ids) and recompute a step independently from them.
 */

export interface RecordedTensor {
  type: string;
  dims: number[];
  /** Values as numbers (int64 converted, float16 left as raw bits). */
  data: Float64Array;
}

export interface RecordedRun {
  inputs: Record<string, RecordedTensor>;
  outputs: Record<string, RecordedTensor>;
}

function snapshot(tensors: Record<string, ort.Tensor>): Record<string, RecordedTensor> {
  const out: Record<string, RecordedTensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const data = t.data as ArrayLike<number | bigint>;
    out[name] = { type: t.type, dims: [...t.dims], data: Float64Array.from({ length: data.length }, (_, i) => Number(data[i])) };
  }
  return out;
}

/** Wraps `session.run`; every call is appended to the returned list until `stop()` restores the original. */
export function recordRuns(session: ort.InferenceSession): { runs: RecordedRun[]; stop: () => void } {
  const runs: RecordedRun[] = [];
  const original = session.run;
  const wrapped = async function (this: ort.InferenceSession, feeds: Record<string, ort.Tensor>, ...rest: unknown[]) {
    const inputs = snapshot(feeds); // copied now: the pipeline reuses its input buffers on the next step
    const result = await (original as (...a: unknown[]) => Promise<ort.InferenceSession.ReturnType>).call(this, feeds, ...rest);
    runs.push({ inputs, outputs: snapshot(result as Record<string, ort.Tensor>) });
    return result;
  };
  session.run = wrapped as typeof session.run;
  return {
    runs,
    stop: () => {
      session.run = original;
    },
  };
}
