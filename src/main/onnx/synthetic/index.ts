/** Random-weight Stable Diffusion 1.x/2.x model folders generated from configs (docs/onnx.md, "Synthetic models"). */
export { GraphBuilder, parameterCount, SYNTHETIC_IR_VERSION, SYNTHETIC_OPSET } from './builder';
export { buildClipTextModel } from './clip-text';
export { readClipTextConfig, readUnetConfig, readVaeConfig, type RawConfig } from './configs';
export { folderConfigs, PRESETS, presetConfigs, sd15Configs, type PresetName, type SdConfigs } from './presets';
export { fillNormalish, tensorSeed } from './random';
export { buildSdModel, countSdParameters, SD_MODELS, SD_PARTS, writeRandomSdFolder, type RandomSdOptions, type SdModelName, type SdPart, type WrittenModel } from './sd-folder';
export { buildUnet } from './unet';
export { buildVaeDecoder, buildVaeEncoder } from './vae';
export { ExternalFileStore, InlineStore, ShapeOnlyStore, type ParamInit, type WeightStore } from './weights';
