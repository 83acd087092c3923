import { join } from 'node:path';
import type { ProviderRequest } from '../diffusion/runtime/providers';
import { DiffusionPipeline } from '../diffusion/pipeline/stable-diffusion';
import { writeFileAtomic } from '../util/atomic-write';
import type { StyleEmbedding } from './embedding';
import { fillTemplate } from './prompt-templates';

/**
 * Preview images during training: renders a fixed prompt with a fixed seed using the embedding as it stands,
 * so successive previews show only what the embedding changed. Uses the diffusion module's pipeline and its
 * learned-keyword support (setLearnedEmbedding); written as `preview-<step>.png`.
 */

export interface PreviewOptions {
  outDir: string;
  /** `{}` stands for the keyword (default "generate an image in {} style", the release's frame prefix). */
  prompt?: string;
  steps?: number;
  seed?: number;
  size?: { width: number; height: number };
  provider?: ProviderRequest;
  threads?: number;
  cacheDir: string;
}

export interface PreviewRenderer {
  render(step: number, embedding: StyleEmbedding): Promise<string>;
  release(): Promise<void>;
}

export async function openPreviewRenderer(modelDir: string, options: PreviewOptions): Promise<PreviewRenderer> {
  const pipeline = await DiffusionPipeline.load(modelDir, { provider: options.provider ?? 'cpu', threads: options.threads });
  const template = options.prompt ?? 'generate an image in {} style';
  return {
    async render(step, embedding) {
      const keyword = embedding.keyword as string;
      await pipeline.setLearnedEmbedding({ keyword, vectors: embedding.vectors.map((v) => v.data), cacheDir: options.cacheDir });
      const result = await pipeline.generate({
        prompt: template.includes('{}') ? fillTemplate(template, keyword) : template,
        steps: options.steps ?? 20,
        seed: options.seed ?? 0,
        width: options.size?.width,
        height: options.size?.height,
      });
      const path = join(options.outDir, `preview-${String(step).padStart(6, '0')}.png`);
      writeFileAtomic(path, result.images[0]);
      return path;
    },
    release: () => pipeline.release(),
  };
}
