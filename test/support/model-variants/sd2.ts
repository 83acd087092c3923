import { join } from 'node:path';
import { copyPipeline, editJson, writeJson } from './folders';

/**
 * An SD 2.x-style folder made from tiny-sd15: the models stay the fixture's, the configs say what SD 2.x's say.
 *
 * - tokenizer/special_tokens_map.json pads with "!" (id 0) while tokenizer_config.json still names <|endoftext|>,
 *   exactly as stabilityai/stable-diffusion-2-1 ships them; the loader must take the special-tokens map.
 * - scheduler/scheduler_config.json is SD 2.1 (768)'s DDIMScheduler with prediction_type v_prediction; the
 *   epsilon twin (as SD 2.1-base predicts) keeps DDIM so the two folders differ only in the prediction type.
 *
 * The loader tells SD 2.x from SD 1.x by the text encoder's width (1024 vs 768) and, for other widths such as
 * this fixture's 32, by the pad token; unet/config.json carries nothing it reads, so it is left as it is (the
 * graph is the fixture's, and SD 2.x's attention_head_dim/use_linear_projection would not describe it).
 */
export function makeSd2Variant(sd15FixtureDir: string, dest: string, prediction: 'v_prediction' | 'epsilon'): string {
  copyPipeline(sd15FixtureDir, dest);
  editJson(join(dest, 'tokenizer/special_tokens_map.json'), (map) => {
    map.pad_token = '!';
  });
  writeJson(join(dest, 'scheduler/scheduler_config.json'), {
    _class_name: 'DDIMScheduler',
    _diffusers_version: '0.8.0',
    beta_end: 0.012,
    beta_schedule: 'scaled_linear',
    beta_start: 0.00085,
    clip_sample: false,
    num_train_timesteps: 1000,
    prediction_type: prediction,
    set_alpha_to_one: false,
    skip_prk_steps: true,
    steps_offset: 1,
    trained_betas: null,
  });
  return dest;
}
