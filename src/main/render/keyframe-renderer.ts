import type { RenderSettings } from '../../shared/api/methods-render';
import { AppError } from '../../shared/errors';
import { DiffusionPipeline } from '../diffusion/pipeline/stable-diffusion';

/**
 * The one thing a render job needs from the diffusion runtime: prompt + seed in, PNG out. The model
 * (and refiner) are loaded once per job and their ONNX sessions reused for every frame.
 */

export interface RenderRequest {
  prompt: string;
  negativePrompt: string;
  seed: number;
  onStep?: (step: number, totalSteps: number) => void;
  signal?: AbortSignal;
}

export interface KeyframeRenderer {
  /** Identifies the model in render rows (the folder path). */
  readonly model: string;
  render(req: RenderRequest): Promise<Buffer>;
  release(): Promise<void>;
}

export async function loadKeyframeRenderer(settings: RenderSettings): Promise<KeyframeRenderer> {
  if (!settings.model) {
    throw new AppError('render.no_model', 'No render model is set: choose a model folder in the film\'s render settings (or pass --model)');
  }
  if (settings.embedding) {
    throw new AppError('render.embedding_unsupported',
      `Embedding ${settings.embedding}: applying learned embeddings at render time needs the diffusion runtime's embedding loader, which this build does not have yet`,
      { embedding: settings.embedding });
  }
  const base = await DiffusionPipeline.load(settings.model);
  let refiner: DiffusionPipeline | undefined;
  try {
    if (settings.refiner) refiner = await DiffusionPipeline.load(settings.refiner);
  } catch (err) {
    await base.release();
    throw err;
  }
  return {
    model: settings.model,
    async render(req) {
      const result = await base.generate({
        prompt: req.prompt,
        negativePrompt: req.negativePrompt,
        seed: req.seed,
        steps: settings.steps,
        scheduler: settings.scheduler,
        guidance: settings.guidance,
        width: settings.width,
        height: settings.height,
        refiner,
        refinerStart: refiner ? settings.refinerStart : undefined,
        onStep: req.onStep && ((info) => req.onStep!(info.step, info.totalSteps)),
        signal: req.signal,
      });
      return result.images[0];
    },
    async release() {
      await base.release();
      await refiner?.release();
    },
  };
}
