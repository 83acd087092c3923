import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openModelSource, type ModelSource } from '../../../src/main/models/source/index';
import { useTempDir } from '../../support/tmp';
import { sd15Shapes, sd21Shapes, sdxlRefinerShapes, sdxlShapes, writeCheckpoint, type Shapes } from './support/ldm-headers';

/**
 * Family detection and key mapping at real size, on shape-only checkpoints (a real header over a sparse data
 * section): the mapped diffusers state dicts must have exactly the published parameter counts, which checks every
 * key's placement and shape against an independent fact.
 */

const tmp = useTempDir('model-source-detect-');

function params(map: Map<string, { shape: number[] }> | undefined): number {
  let n = 0;
  for (const t of map?.values() ?? []) n += t.shape.reduce((a, b) => a * b, 1);
  return n;
}

async function openShapes(name: string, shapes: Shapes, opts: Parameters<typeof openModelSource>[1] = {}): Promise<ModelSource> {
  const path = join(tmp(), `${name}.safetensors`);
  writeCheckpoint(path, shapes);
  return openModelSource(path, { skipHash: true, ...opts });
}

describe('standard families from real-size headers', () => {
  it('SD 1.5: sd1, epsilon by default with a note; UNet 859,520,964, CLIP-L 123,060,480, VAE 83,653,863 parameters', async () => {
    const s = await openShapes('sd15', sd15Shapes());
    try {
      expect(s.family).toBe('sd1');
      expect(s.prediction).toBe('epsilon');
      expect(s.notes.join('\n')).toMatch(/assuming epsilon/);
      expect(params(s.components.unet)).toBe(859_520_964);
      expect(params(s.components.text_encoder)).toBe(123_060_480);
      expect(params(s.components.vae)).toBe(83_653_863);
      expect(s.components.text_encoder_2).toBeUndefined();
      expect(s.configs.unet.cross_attention_dim).toBe(768);
      expect(s.tokenizerDirs.tokenizer).toMatch(/resources[/\\]tokenizers[/\\]clip$/);
      // LDM's 1×1-conv attention weights in the VAE arrive as linear weights.
      expect(s.components.vae?.get('decoder.mid_block.attentions.0.to_q.weight')?.shape).toEqual([512, 512]);
      expect(s.components.unet?.get('up_blocks.3.attentions.2.proj_out.weight')?.shape).toEqual([320, 320, 1, 1]);
      expect(s.components.unet?.get('up_blocks.0.upsamplers.0.conv.weight')?.shape).toEqual([1280, 1280, 3, 3]);
    } finally {
      await s.close();
    }
  });

  it('SD 2.1: sd2; 24 OpenCLIP-H blocks of which 23 are used (340,387,840), q/k/v split; UNet 865,910,724', async () => {
    const s = await openShapes('sd21', sd21Shapes());
    try {
      expect(s.family).toBe('sd2');
      expect(params(s.components.unet)).toBe(865_910_724);
      expect(params(s.components.text_encoder)).toBe(340_387_840);
      expect(s.components.text_encoder?.has('text_model.encoder.layers.22.self_attn.v_proj.weight')).toBe(true);
      expect(s.components.text_encoder?.has('text_model.encoder.layers.23.self_attn.v_proj.weight')).toBe(false);
      expect(s.components.text_encoder?.get('text_model.encoder.layers.0.self_attn.k_proj.weight')?.shape).toEqual([1024, 1024]);
      expect(s.components.text_encoder?.has('text_projection.weight')).toBe(false);
      expect(s.notes.join('\n')).toMatch(/23 of 24 transformer blocks used.*block\(s\) 23 ignored/);
      expect(s.configs.unet.use_linear_projection).toBe(true);
      expect(s.configs.scheduler.prediction_type).toBe('epsilon');
      expect(s.configs.unet.sample_size).toBe(64);
      expect(s.tokenizerDirs.tokenizer).toMatch(/clip-pad-bang$/);
    } finally {
      await s.close();
    }
  });

  it('SD 2.1 with --prediction v takes the 768-v config (DDIM, v_prediction, 96×96 latents)', async () => {
    const s = await openShapes('sd21v', sd21Shapes(), { prediction: 'v' });
    try {
      expect(s.prediction).toBe('v_prediction');
      expect(s.configs.scheduler).toMatchObject({ _class_name: 'DDIMScheduler', prediction_type: 'v_prediction' });
      expect(s.configs.unet.sample_size).toBe(96);
    } finally {
      await s.close();
    }
  });

  it('SDXL base: sdxl with both encoders (CLIP-L 123,060,480; bigG + projection 694,659,840); UNet 2,567,463,684', async () => {
    const s = await openShapes('sdxl', sdxlShapes());
    try {
      expect(s.family).toBe('sdxl');
      expect(params(s.components.unet)).toBe(2_567_463_684);
      expect(params(s.components.text_encoder)).toBe(123_060_480);
      expect(params(s.components.text_encoder_2)).toBe(694_659_840);
      expect(s.components.text_encoder_2?.get('text_projection.weight')?.shape).toEqual([1280, 1280]);
      expect(s.modelIndex.force_zeros_for_empty_prompt).toBe(true);
      expect(s.tokenizerDirs).toEqual({ tokenizer: expect.stringMatching(/clip$/), tokenizer_2: expect.stringMatching(/clip-pad-bang$/) });
      expect(s.configs.scheduler._class_name).toBe('EulerDiscreteScheduler');
    } finally {
      await s.close();
    }
  });

  it('SDXL refiner: sdxl-refiner, only text_encoder_2, aesthetic-score pipeline', async () => {
    const s = await openShapes('refiner', sdxlRefinerShapes());
    try {
      expect(s.family).toBe('sdxl-refiner');
      expect(Object.keys(s.components).sort()).toEqual(['text_encoder_2', 'unet', 'vae']);
      expect(params(s.components.text_encoder_2)).toBe(694_659_840);
      expect(s.configs.unet.projection_class_embeddings_input_dim).toBe(2560);
      expect(s.configs.text_encoder).toBeUndefined();
      expect(s.modelIndex.requires_aesthetics_score).toBe(true);
      expect(s.components.unet?.get('add_embedding.linear_1.weight')?.shape).toEqual([1536, 2560]);
      expect(s.components.unet?.has('down_blocks.1.attentions.1.transformer_blocks.3.attn2.to_k.weight')).toBe(true);
      expect(s.components.unet?.has('down_blocks.0.attentions.0.norm.weight')).toBe(false);
    } finally {
      await s.close();
    }
  });

  it('--family is honoured over detection: SD 2.1 weights forced to sd1 are checked against sd1 and refused', async () => {
    const path = join(tmp(), 'sd21-as-sd1.safetensors');
    writeCheckpoint(path, sd21Shapes());
    await expect(openModelSource(path, { family: 'sd1', skipHash: true })).rejects.toThrow(/not the standard sd1 architecture \(cross-attention context is 1024 wide \(standard 768\)\)/);
  });
});

describe('prediction type', () => {
  it('a .yaml of the same name with parameterization "v" makes it v_prediction; --prediction beats it', async () => {
    const dir = tmp();
    const path = join(dir, 'v2-768.safetensors');
    writeCheckpoint(path, sd21Shapes());
    writeFileSync(join(dir, 'v2-768.yaml'), 'model:\n  target: ldm.models.diffusion.ddpm.LatentDiffusion\n  params:\n    parameterization: "v"  # v-objective\n    linear_start: 0.00085\n');
    const fromYaml = await openModelSource(path, { skipHash: true });
    expect(fromYaml.prediction).toBe('v_prediction');
    expect(fromYaml.notes.join('\n')).toMatch(/v_prediction from .*v2-768\.yaml/);
    expect(fromYaml.configs.unet.sample_size).toBe(96);
    await fromYaml.close();
    const forced = await openModelSource(path, { skipHash: true, prediction: 'epsilon' });
    expect(forced.prediction).toBe('epsilon');
    await forced.close();
  });

  it('a yaml without the key falls through to the config; an unknown value is refused', async () => {
    const dir = tmp();
    const path = join(dir, 'plain.safetensors');
    writeCheckpoint(path, sd15Shapes());
    writeFileSync(join(dir, 'plain.yaml'), 'model:\n  params:\n    linear_start: 0.00085\n');
    const s = await openModelSource(path, { skipHash: true });
    expect(s.prediction).toBe('epsilon');
    await s.close();
    writeFileSync(join(dir, 'plain.yaml'), "model:\n  params:\n    parameterization: 'x0'\n");
    await expect(openModelSource(path, { skipHash: true })).rejects.toThrow(/plain\.yaml: parameterization "x0"/);
  });
});
