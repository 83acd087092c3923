import { isAbsolute } from 'node:path';
import type { RenderSettings } from '../../shared/api/methods-render';
import { AppError } from '../../shared/errors';
import type { LoadOptions } from '../diffusion/loader/model-folder';
import { DiffusionPipeline } from '../diffusion/pipeline/stable-diffusion';
import { readEmbeddingFile } from '../style/formats/index';

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
  /** The execution provider the base model runs on (cpu, cuda, …). */
  readonly provider?: string;
  render(req: RenderRequest): Promise<Buffer>;
  release(): Promise<void>;
}

/** Where a learned style embedding goes: the film's style keyword, and a folder for the prepared encoders. */
export interface RendererContext {
  keyword: string;
  cacheDir: string;
  /** Execution provider and threads (a render-farm worker's --provider); default: CPU. */
  load?: LoadOptions;
}

export async function loadKeyframeRenderer(settings: RenderSettings, context?: RendererContext): Promise<KeyframeRenderer> {
  if (!settings.model) {
    throw new AppError('render.no_model', 'No render model is set: choose a model folder in the film\'s render settings (or pass --model)');
  }
  // Read the embedding before loading models, so a bad file fails fast.
  const learned = settings.embedding ? learnedEmbedding(settings.embedding, context) : null;
  const base = await DiffusionPipeline.load(settings.model, context?.load);
  let refiner: DiffusionPipeline | undefined;
  try {
    if (settings.refiner) refiner = await DiffusionPipeline.load(settings.refiner, context?.load);
    // As in the release, the refiner sees the learned vectors too (its single encoder takes the last one).
    if (learned) {
      await base.setLearnedEmbedding(learned);
      await refiner?.setLearnedEmbedding(learned);
    }
  } catch (err) {
    await base.release();
    await refiner?.release();
    throw err;
  }
  return {
    model: settings.model,
    provider: base.provider,
    async render(req) {
      const result = await base.generate({
        prompt: req.prompt,
        negativePrompt: req.negativePrompt,
        seed: req.seed,
        steps: settings.steps,
        scheduler: settings.scheduler,
        guidance: settings.guidance,
        // Unset (null): the model's native size.
        width: settings.width ?? undefined,
        height: settings.height ?? undefined,
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

/** The embedding's vectors (one per text encoder) bound to the word the prompts use for the style. */
function learnedEmbedding(file: string, context: RendererContext | undefined): { keyword: string; vectors: Float32Array[]; cacheDir?: string } {
  if (!isAbsolute(file)) {
    // Project-relative values are resolved by the render job (embedding-path.ts), never against the working folder.
    throw new AppError('render.embedding_not_resolved', `Embedding ${JSON.stringify(file)} is relative; resolve it against the project folder first`, { file });
  }
  const { embedding } = readEmbeddingFile(file);
  const keyword = context?.keyword.trim() || embedding.keyword;
  if (!keyword) {
    throw new AppError('render.embedding_keyword', `Embedding ${file} does not record its keyword and the film has no style keyword to bind it to`, { file });
  }
  return { keyword, vectors: embedding.vectors.map((v) => v.data), cacheDir: context?.cacheDir };
}
