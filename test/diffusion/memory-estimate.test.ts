import { mkdirSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelGeometry } from '../../src/main/diffusion/loader/model-config';
import {
  assertFits, ASSUMED_GPU_MEMORY_GIB, estimateGenerationMemory, estimateTrainingMemory, formatBytes, MAX_MEMORY_ENV, memoryBudget,
} from '../../src/main/diffusion/memory-estimate';
import { tinySd15Dir, tinySdxlDir } from '../support/paths';
import { useTempDir } from '../support/tmp';

const GIB = 2 ** 30;
const MIB = 2 ** 20;

/** The released models' UNet / VAE configs (the values that shape the tensors), written as a model folder. */
const RELEASED = {
  sd15: {
    unet: {
      sample_size: 64, block_out_channels: [320, 640, 1280, 1280], attention_head_dim: 8, layers_per_block: 2,
      down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
      up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
    },
    vae: { block_out_channels: [128, 256, 512, 512], latent_channels: 4 },
  },
  sd2v: {
    unet: {
      sample_size: 96, block_out_channels: [320, 640, 1280, 1280], attention_head_dim: [5, 10, 20, 20], layers_per_block: 2,
      down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
      up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
    },
    vae: { block_out_channels: [128, 256, 512, 512], latent_channels: 4 },
  },
  sdxl: {
    unet: {
      sample_size: 128, block_out_channels: [320, 640, 1280], attention_head_dim: [5, 10, 20], layers_per_block: 2,
      transformer_layers_per_block: [1, 2, 10], addition_embed_type: 'text_time',
      down_block_types: ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
      up_block_types: ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
    },
    vae: { block_out_channels: [128, 256, 512, 512], latent_channels: 4 },
  },
};

function writeModel(dir: string, configs: { unet: object; vae: object }): string {
  mkdirSync(join(dir, 'unet'), { recursive: true });
  mkdirSync(join(dir, 'vae_decoder'), { recursive: true });
  writeFileSync(join(dir, 'unet', 'config.json'), JSON.stringify(configs.unet));
  writeFileSync(join(dir, 'vae_decoder', 'config.json'), JSON.stringify(configs.vae));
  return dir;
}

describe('model geometry from the configs', () => {
  const tmp = useTempDir();

  it('native size = unet sample_size × 2^(len(vae block_out_channels) − 1): 64 tiny, 512 SD 1.5, 768 SD 2.x 768-v, 1024 SDXL', () => {
    const tiny = readModelGeometry(join(tinySd15Dir, 'pipeline'));
    expect([tiny.sampleSize, tiny.vaeScaleFactor, tiny.nativeSize]).toEqual([32, 2, 64]);
    // diffusers reads attention_head_dim 8 as 8 heads; 2 + 1 + 3 self-attentions, all one level down.
    expect(tiny.unetAttention).toEqual([
      { name: 'down block 1', divisor: 2, channels: 64, heads: 8, selfAttentions: 2 },
      { name: 'mid block', divisor: 2, channels: 64, heads: 8, selfAttentions: 1 },
      { name: 'up block 0', divisor: 2, channels: 64, heads: 8, selfAttentions: 3 },
    ]);
    expect(readModelGeometry(join(tinySdxlDir, 'pipeline')).nativeSize).toBe(64);
    expect(readModelGeometry(writeModel(tmp(), RELEASED.sd15)).nativeSize).toBe(512);
    expect(readModelGeometry(writeModel(tmp(), RELEASED.sd2v)).nativeSize).toBe(768);
    const sdxl = readModelGeometry(writeModel(tmp(), RELEASED.sdxl));
    expect(sdxl.nativeSize).toBe(1024);
    expect(sdxl.unetAttention!.map((b) => [b.name, b.divisor, b.heads, b.selfAttentions])).toEqual([
      ['down block 1', 2, 10, 4], ['down block 2', 4, 20, 20], ['mid block', 4, 20, 10], ['up block 0', 4, 20, 30], ['up block 1', 2, 10, 6],
    ]);
  });

  it('a folder without sample_size takes its family\'s default (SDXL when the UNet takes text_time)', () => {
    const dir = writeModel(tmp(), { unet: { ...RELEASED.sdxl.unet, sample_size: undefined }, vae: RELEASED.sdxl.vae });
    expect(readModelGeometry(dir).nativeSize).toBe(1024);
    const sd1 = writeModel(tmp(), { unet: { ...RELEASED.sd15.unet, sample_size: undefined }, vae: RELEASED.sd15.vae });
    expect(readModelGeometry(sd1).nativeSize).toBe(512);
    expect(readModelGeometry(sd1, 'sd2').nativeSize).toBe(768);
  });
});

describe('memory estimate', () => {
  const tmp = useTempDir();

  it('tiny SD 1.5 at 1024²: 2 (CFG) × 8 heads × (256·256)² × 4 bytes = 2^38 bytes = 256 GiB in the first self-attention', () => {
    const g = readModelGeometry(join(tinySd15Dir, 'pipeline'));
    const e = estimateGenerationMemory(g, { width: 1024, height: 1024, batch: 1, cfg: true });
    expect(e.bytes).toBe(2 * 8 * 65_536 ** 2 * 4);
    expect(e.bytes).toBe(256 * GIB);
    expect(e.largest.what).toMatch(/UNet self-attention scores in its down block 1 \(2 × 8 heads × 65,536² tokens × 4 bytes\)/);
    // Without guidance the batch halves.
    expect(estimateGenerationMemory(g, { width: 1024, height: 1024, batch: 1, cfg: false }).parts[0].bytes).toBe(128 * GIB);
    // At its native 64²: 2 × 8 × 256² × 4 = 4 MiB (the VAE's mid attention, 1024² × 4, is also 4 MiB).
    const native = estimateGenerationMemory(g, { width: 64, height: 64, batch: 1, cfg: true });
    expect(native.bytes).toBe(4 * MIB);
    expect(native.parts.find((p) => p.what.includes('VAE decoder\'s mid-block'))!.bytes).toBe(1024 ** 2 * 4);
  });

  it('SD 1.5 at 512² needs 1 GiB (2 × 8 × 4096² × 4) and 16 GiB at 1024²; SDXL at 1024² 1.25 GiB in down block 1 (2 × 10 × 4096² × 4)', () => {
    const sd15 = readModelGeometry(writeModel(tmp(), RELEASED.sd15));
    expect(estimateGenerationMemory(sd15, { width: 512, height: 512, batch: 1, cfg: true }).bytes).toBe(GIB);
    expect(estimateGenerationMemory(sd15, { width: 1024, height: 1024, batch: 1, cfg: true }).bytes).toBe(16 * GIB);
    // Two images per prompt double it.
    expect(estimateGenerationMemory(sd15, { width: 512, height: 512, batch: 2, cfg: true }).bytes).toBe(2 * GIB);
    const parts = estimateGenerationMemory(sd15, { width: 512, height: 512, batch: 1, cfg: true }).parts;
    // VAE decoder: mid attention 4096² × 4 = 64 MiB; widest feature map 256 channels × 512² × 4 = 256 MiB.
    expect(parts.filter((p) => p.what.includes('VAE')).map((p) => p.bytes)).toEqual([64 * MIB, 256 * MIB]);

    const sdxl = readModelGeometry(writeModel(tmp(), RELEASED.sdxl));
    const e = estimateGenerationMemory(sdxl, { width: 1024, height: 1024, batch: 1, cfg: true });
    expect(e.bytes).toBe(2 * 10 * 4096 ** 2 * 4);
    expect(formatBytes(e.bytes)).toBe('1.3 GiB');
    expect(e.largest.what).toMatch(/down block 1/);
  });

  it('training keeps every self-attention: tiny at 1024² = 6 × 128 GiB + 2 × 128 GiB = 1 TiB (batch 1, no guidance)', () => {
    const g = readModelGeometry(join(tinySd15Dir, 'pipeline'));
    const t = estimateTrainingMemory(g, { width: 1024, height: 1024 });
    expect(t.bytes).toBe(8 * 128 * GIB);
    expect(t.basis).toMatch(/^a conservative estimate, the gradient graph's kept self-attention scores \(6 layers\)/);
    // At the native size: 8 × (8 × 256² × 4) = 16 MiB.
    expect(estimateTrainingMemory(g, { width: 64, height: 64 }).bytes).toBe(16 * MIB);
  });

  it('budget: RAM for the CPU, an assumed 80 GiB for CUDA, --max-memory or the environment variable when given', () => {
    expect(memoryBudget('cpu', undefined, {})).toMatchObject({ bytes: totalmem() });
    expect(memoryBudget('cuda', undefined, {})).toMatchObject({ bytes: ASSUMED_GPU_MEMORY_GIB * GIB });
    expect(memoryBudget('cuda', undefined, {}).basis).toMatch(/assumed for a GPU/);
    expect(memoryBudget('cpu', 16, {})).toEqual({ bytes: 16 * GIB, basis: 'the --max-memory limit of 16 GiB' });
    expect(memoryBudget('cuda', undefined, { [MAX_MEMORY_ENV]: '24' }).bytes).toBe(24 * GIB);
    expect(() => memoryBudget('cpu', undefined, { [MAX_MEMORY_ENV]: 'lots' })).toThrow(`${MAX_MEMORY_ENV}="lots": must be a number of GiB > 0`);
  });

  it('refuses with the size, the need and the native size; passes what fits', () => {
    const g = readModelGeometry(join(tinySd15Dir, 'pipeline'));
    const estimate = estimateGenerationMemory(g, { width: 1024, height: 1024, batch: 1, cfg: true });
    const budget = memoryBudget('cpu', 64, {});
    expect(() => assertFits({ subject: '1024×1024 on this model', estimate, budget, nativeSize: g.nativeSize }))
      .toThrow(/^1024×1024 on this model needs about 256 GiB; its native size is 64×64 \(largest tensor: the UNet self-attention .*; available: the --max-memory limit of 64 GiB\)\.$/);
    const small = estimateGenerationMemory(g, { width: 64, height: 64, batch: 1, cfg: true });
    expect(() => assertFits({ subject: '64×64', estimate: small, budget, nativeSize: 64 })).not.toThrow();
  });
});
