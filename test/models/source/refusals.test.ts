import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/shared/errors';
import { openModelSource } from '../../../src/main/models/source/index';
import { useTempDir } from '../../support/tmp';
import { sd15Shapes, writeCheckpoint, type Shapes } from './support/ldm-headers';

/** Everything that is not a supported model is refused with an AppError that names the file and what was found. */

const tmp = useTempDir('model-source-refuse-');

async function refusal(shapes: Shapes, opts: Parameters<typeof writeCheckpoint>[2] = {}, name = 'input.safetensors'): Promise<AppError> {
  const path = join(tmp(), name);
  writeCheckpoint(path, shapes, opts);
  try {
    const s = await openModelSource(path, { skipHash: true });
    await s.close();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).message).toContain(path);
    return err as AppError;
  }
  throw new Error(`${name} was not refused`);
}

describe('files that are not a Stable Diffusion model', () => {
  it('a LoRA (kohya names) and a LyCORIS (LoHa) file', async () => {
    const lora = await refusal([
      ['lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight', [4, 320, 1, 1]],
      ['lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight', [320, 4, 1, 1]],
      ['lora_unet_down_blocks_0_attentions_0_proj_in.alpha', []],
    ]);
    expect(lora.message).toMatch(/a LoRA\/LyCORIS add-on \(found "lora_unet_down_blocks_0_attentions_0_proj_in\.lora_down\.weight"/);
    expect(lora.code).toBe('model.unsupported');
    const loha = await refusal([
      ['lycoris_down_blocks_0_attentions_0_proj_in.hada_w1_a', [320, 8]],
      ['lycoris_down_blocks_0_attentions_0_proj_in.hada_w1_b', [8, 320]],
    ]);
    expect(loha.message).toMatch(/LoRA\/LyCORIS add-on .*lycoris_down_blocks/);
    // diffusers/PEFT-style LoRA names.
    const peft = await refusal([['unet.down_blocks.0.attentions.0.proj_in.lora_A.weight', [4, 320]], ['unet.down_blocks.0.attentions.0.proj_in.lora_B.weight', [320, 4]]]);
    expect(peft.message).toMatch(/LoRA\/LyCORIS add-on .*proj_in\.lora_A\.weight/);
  });

  it('textual-inversion embeddings: kohya emb_params, A1111 string_to_param, SDXL clip_l/clip_g', async () => {
    expect((await refusal([['emb_params', [4, 768]]])).message).toMatch(/a textual-inversion embedding .*"emb_params".*style embedding/);
    expect((await refusal([['string_to_param.*', [1, 1024]]])).message).toMatch(/textual-inversion embedding .*string_to_param/);
    expect((await refusal([['clip_g', [2, 1280]], ['clip_l', [2, 768]]])).message).toMatch(/textual-inversion embedding .*"clip_g", "clip_l"/);
  });

  it('a ControlNet (LDM control_model.* with its input_hint_block)', async () => {
    const err = await refusal([
      ['control_model.input_hint_block.0.weight', [16, 3, 3, 3]],
      ['control_model.input_blocks.0.0.weight', [320, 4, 3, 3]],
    ]);
    expect(err.message).toMatch(/a ControlNet \(found "control_model\.input_hint_block\.0\.weight"/);
  });

  it('SD3 (joint_blocks) and Flux (double_blocks/single_blocks)', async () => {
    expect((await refusal([['model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight', [4608, 1536]]])).message).toMatch(/Stable Diffusion 3 \(MMDiT\) model .*joint_blocks/);
    expect((await refusal([['double_blocks.0.img_attn.qkv.weight', [9216, 3072]], ['single_blocks.0.linear1.weight', [21504, 3072]]])).message).toMatch(/a Flux model .*double_blocks\.0\.img_attn/);
  });

  it('an inpainting UNet (9 input channels)', async () => {
    const err = await refusal(sd15Shapes(9));
    expect(err.message).toMatch(/inpainting UNet \(9 input channels/);
  });

  it('an unrelated safetensors file names the keys it found', async () => {
    const err = await refusal([['encoder.layer.0.weight', [8, 8]]]);
    expect(err.message).toMatch(/no "model\.diffusion_model\.\*" tensors.*found "encoder\.layer\.0\.weight"/);
  });

  it('a UNet without any known text encoder cannot be given a family', async () => {
    const unetOnly = sd15Shapes().filter(([k]) => !k.startsWith('cond_stage_model.'));
    expect((await refusal(unetOnly)).message).toMatch(/cannot tell the family: no text encoder/);
  });

  it('a checkpoint without its VAE asks for --vae', async () => {
    const noVae = sd15Shapes().filter(([k]) => !k.startsWith('first_stage_model.'));
    expect((await refusal(noVae)).message).toMatch(/VAE is missing; pass --vae/);
  });

  it('pickled .ckpt checkpoints are not opened at all', async () => {
    const path = join(tmp(), 'model.ckpt');
    writeFileSync(path, 'PK\u0003\u0004');
    await expect(openModelSource(path)).rejects.toThrow(/model\.ckpt: pickled single-file checkpoints are not imported/);
  });
});

describe('damaged and lying safetensors files', () => {
  const small: Shapes = [['model.diffusion_model.a', [4, 4]], ['model.diffusion_model.b', [8]]];

  it('a truncated file names the tensor that is cut off', async () => {
    const err = await refusal(small, { truncateBy: 5 });
    expect(err.message).toMatch(/file is truncated: the header needs 48 data bytes but only 43 are present \(tensor "model\.diffusion_model\.b" is cut off\)/);
  });

  it('a header whose byte range does not match its shape × dtype', async () => {
    const err = await refusal(small, { rawHeader: (h) => ((h['model.diffusion_model.a'] as { shape: number[] }).shape = [4, 5]) });
    expect(err.message).toMatch(/tensor "model\.diffusion_model\.a" claims 32 bytes .* shape \[4,5\] F16 needs 40: the header lies about its sizes/);
  });

  it('overlapping and gapped byte ranges', async () => {
    const overlap = await refusal(small, { rawHeader: (h) => ((h['model.diffusion_model.b'] as { data_offsets: number[] }).data_offsets = [16, 32]) });
    expect(overlap.message).toMatch(/overlaps|gap/);
    const shapes: Shapes = [['x', [2]], ['y', [2]]];
    const gap = await refusal(shapes, { rawHeader: (h) => ((h.y as { data_offsets: number[] }).data_offsets = [6, 10]) });
    expect(gap.message).toMatch(/tensor "y" starts at data byte 6, leaving a gap after byte 4/);
  });

  it('a header length beyond the end of the file', async () => {
    const path = join(tmp(), 'short.safetensors');
    const bytes = Buffer.alloc(16);
    bytes.writeBigUInt64LE(1000n, 0);
    writeFileSync(path, bytes);
    await expect(openModelSource(path)).rejects.toThrow(/short\.safetensors: header length 1000 is not plausible for a 16-byte file/);
  });

  it('a mapped tensor in an integer dtype is refused by name', async () => {
    const shapes = sd15Shapes();
    const err = await refusal(shapes, { rawHeader: (h) => {
      const e = h['model.diffusion_model.out.2.bias'] as { dtype: string; shape: number[] };
      e.dtype = 'I16';
    } });
    expect(err.message).toMatch(/tensor "model\.diffusion_model\.out\.2\.bias" is I16; model weights must be F32, F16 or BF16/);
  });
});
