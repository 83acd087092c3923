import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSafetensorsHeader, safetensorsHeaderLength } from '../../../src/main/style/formats/safetensors';
import type { ImportComponent, ImportFamily, ImportSource, ImportSourceTensor } from '../../../src/main/models/import/types';

/**
 * A minimal ImportSource over a diffusers folder of .safetensors (whole files in memory: tiny fixtures only), so the
 * graph side of the importer is tested independently of the checkpoint reader (models/source).
 */
export function diffusersFolderSource(dir: string, family: ImportFamily): ImportSource {
  const cfg = (p: string) => (existsSync(join(dir, p)) ? JSON.parse(readFileSync(join(dir, p), 'utf8')) : undefined);
  const components: ImportSource['components'] = {};
  const files: Record<ImportComponent, string> = {
    unet: 'unet/diffusion_pytorch_model.safetensors',
    vae: 'vae/diffusion_pytorch_model.safetensors',
    text_encoder: 'text_encoder/model.safetensors',
    text_encoder_2: 'text_encoder_2/model.safetensors',
  };
  for (const [name, file] of Object.entries(files) as [ImportComponent, string][]) {
    if (!existsSync(join(dir, file))) continue;
    const bytes = readFileSync(join(dir, file));
    const n = safetensorsHeaderLength(bytes.subarray(0, 8), bytes.byteLength, file);
    const data = bytes.subarray(8 + n);
    const map = new Map<string, ImportSourceTensor>();
    for (const e of parseSafetensorsHeader(bytes.subarray(8, 8 + n), data.byteLength, file).entries) {
      if (e.dtype !== 'F32') continue; // the diffusers fixtures are float32 (position_ids are I64, unused)
      const values = new Float32Array(data.buffer.slice(data.byteOffset + e.begin, data.byteOffset + e.end));
      map.set(e.name, { key: e.name, shape: e.shape, byteLength: e.end - e.begin, read: async () => values.slice() });
    }
    components[name] = map;
  }
  return {
    family,
    prediction: 'epsilon',
    notes: [],
    configs: {
      unet: cfg('unet/config.json'),
      vae: cfg('vae/config.json'),
      text_encoder: cfg('text_encoder/config.json'),
      text_encoder_2: cfg('text_encoder_2/config.json'),
      scheduler: cfg('scheduler/scheduler_config.json'),
    },
    tokenizerDirs: {
      tokenizer: existsSync(join(dir, 'tokenizer')) ? join(dir, 'tokenizer') : undefined,
      tokenizer_2: existsSync(join(dir, 'tokenizer_2')) ? join(dir, 'tokenizer_2') : undefined,
    },
    components,
    sourceHash: 'test',
  };
}
