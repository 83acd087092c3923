/** Public API of the diffusion runtime (keyframe renderer, style trainer, CLI). See docs/diffusion.md. */
export { DiffusionPipeline, loadPipeline } from './pipeline/stable-diffusion';
export type { GenerateOptions, GenerateResult, ImageInput, StepInfo } from './pipeline/stable-diffusion';
export { SeededRandom, BatchNoise } from './pipeline/rng';
export { readImageRgb, encodePng } from './pipeline/image-io';
export { loadModelFolder, inspectModelFolder } from './loader/model-folder';
export type { LoadedModel, LoadOptions, ModelFamily, ModelInfo } from './loader/model-folder';
export { ClipTokenizer } from './tokenizer/clip-tokenizer';
export { parsePromptWeights, promptChunks } from './tokenizer/prompt-weights';
export { createScheduler, ddpmAddNoise, readSchedulerConfig, alphasCumprodFor, SCHEDULER_NAMES } from './schedulers/index';
export type { Scheduler, SchedulerConfig, SchedulerName, NoiseSource } from './schedulers/index';
export { PROVIDER_REQUESTS, listedBackends } from './runtime/providers';
export type { ProviderName, ProviderRequest } from './runtime/providers';
