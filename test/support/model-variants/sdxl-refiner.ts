import { join } from 'node:path';
import { makeNode, makeValueInfo, NameGen, valueInfoShape } from '../../../src/main/onnx/graph';
import { makeTensor } from '../../../src/main/onnx/tensor';
import { DataType, type OnnxModel } from '../../../src/main/onnx/types';
import { copyPipeline, editJson, readJson, rewriteModel, writeJson } from './folders';
import { appendConstantColumns } from './graph-edits';

/**
 * An SDXL refiner folder made from tiny-sdxl, laid out like stabilityai/stable-diffusion-xl-refiner-1.0 exported to
 * ONNX: model_index.json with `requires_aesthetics_score: true` and `force_zeros_for_empty_prompt: false`, only
 * text_encoder_2 + tokenizer_2 (no text_encoder/tokenizer), and a UNet taking
 *   encoder_hidden_states [b, s, 32]  (text_encoder_2's penultimate states alone: the second encoder's width),
 *   text_embeds [b, 32], time_ids [b, 5] = (orig_h, orig_w, crop_top, crop_left, aesthetic_score).
 *
 * The UNet is the base UNet behind two adapters added by graph surgery:
 *   encoder_hidden_states → Pad with 32 zeros in front on the last axis → [b, s, 64], i.e. the base's context with
 *     a zero CLIP-L half and the refiner states where the base has text_encoder_2's;
 *   time_ids [b, 5] → Concat with a constant column REFINER_TIME_ID_FILL → [b, 6], so the aesthetic score lands
 *     in the base's target_h slot and the fill in target_w.
 * So refiner(x, t, h, p, [oh, ow, ct, cl, a]) = base(x, t, [0 | h], p, [oh, ow, ct, cl, a, REFINER_TIME_ID_FILL]),
 * which a test can compute with the base fixture model.
 */

export const REFINER_TIME_ID_FILL = 64;

export interface RefinerVariantOptions {
  /** Declare time_ids' second dim symbolically (as a dynamic-axes export could); default: the static 5. */
  dynamicTimeIdsWidth?: boolean;
  /** Keep the base UNet unmodified (a wrongly assembled refiner folder). */
  keepBaseUnet?: boolean;
}

/** Adds the two adapters to the base SDXL UNet (see above). */
export function refinerUnetFromBase(model: OnnxModel, refinerWidth: number, opts: RefinerVariantOptions = {}): void {
  const g = model.proto.graph;
  const names = new NameGen(g);
  const ehs = g.input.find((v) => v.name === 'encoder_hidden_states');
  if (!ehs) throw new Error('the base UNet has no encoder_hidden_states input');
  const ehsDims = valueInfoShape(ehs).dims!;
  const baseWidth = ehsDims[2];
  if (typeof baseWidth !== 'number' || baseWidth <= refinerWidth) throw new Error(`base context width ${baseWidth} cannot hold ${refinerWidth}`);

  const ehsInner = names.next('encoder_hidden_states/base_width');
  for (const n of g.node) n.input = n.input.map((i) => (i === 'encoder_hidden_states' ? ehsInner : i));
  const pads = names.next('encoder_hidden_states/pads');
  g.initializer.push(makeTensor(pads, DataType.INT64, [6], [0, 0, baseWidth - refinerWidth, 0, 0, 0]));
  g.node.unshift(makeNode('Pad', ['encoder_hidden_states', pads], [ehsInner], names.next('refiner/pad_context'), { mode: 'constant' }));
  g.input = g.input.map((v) => (v.name === 'encoder_hidden_states' ? makeValueInfo(v.name, DataType.FLOAT, [ehsDims[0], ehsDims[1], refinerWidth]) : v));
  g.valueInfo = g.valueInfo.filter((v) => v.name !== 'encoder_hidden_states');
  appendConstantColumns(model, 'time_ids', [REFINER_TIME_ID_FILL], opts.dynamicTimeIdsWidth ? 'time_ids_width' : undefined);
}

/** Writes the refiner folder to `dest` from `<sdxlFixtureDir>/pipeline`; returns `dest`. */
export function makeSdxlRefinerVariant(sdxlFixtureDir: string, dest: string, opts: RefinerVariantOptions = {}): string {
  copyPipeline(sdxlFixtureDir, dest, ['scheduler', 'text_encoder_2', 'tokenizer_2', 'unet', 'vae_encoder', 'vae_decoder']);
  const base = readJson(join(sdxlFixtureDir, 'pipeline/model_index.json'));
  writeJson(join(dest, 'model_index.json'), {
    _class_name: 'StableDiffusionXLImg2ImgPipeline',
    _diffusers_version: base._diffusers_version,
    force_zeros_for_empty_prompt: false,
    requires_aesthetics_score: true,
    scheduler: base.scheduler,
    text_encoder: [null, null],
    text_encoder_2: base.text_encoder_2,
    tokenizer: [null, null],
    tokenizer_2: base.tokenizer_2,
    unet: base.unet,
    vae: base.vae,
  });
  const refinerWidth: number = readJson(join(dest, 'text_encoder_2/config.json')).hidden_size;
  if (!opts.keepBaseUnet) {
    rewriteModel(dest, 'unet', (model) => refinerUnetFromBase(model, refinerWidth, opts));
    editJson(join(dest, 'unet/config.json'), (config) => {
      config.cross_attention_dim = refinerWidth;
      config.requires_aesthetics_score = true;
      // What a refiner's config states: pooled width + 5 time ids × addition_time_embed_dim. (Inside, the graph
      // still embeds the 6 adapted time ids with the base's 80-wide layer.)
      config.projection_class_embeddings_input_dim = config.text_encoder_projection_dim + 5 * config.addition_time_embed_dim;
    });
  }
  return dest;
}
