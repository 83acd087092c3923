import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeImportedFolder } from '../../../src/main/models/import/write-folder';
import { tinySd15Dir, tinySdxlDir } from '../../support/paths';
import { diffusersFolderSource } from './diffusers-adapter';
import { checkSd15Folder, checkSdxlFolder, EXACT } from './reference-checks';

const work = mkdtempSync(join(tmpdir(), 'df-import-graphs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('imported graphs filled from diffusers state dicts reproduce the fixtures', () => {
  it('tiny-sd15: text encoder, UNet cases, txt2img DDIM and Euler', async () => {
    const out = join(work, 'sd15');
    const info = await writeImportedFolder(diffusersFolderSource(join(tinySd15Dir, 'checkpoints/diffusers'), 'sd1'), out, { dtype: 'float32' });
    expect(info).toMatchObject({ family: 'sd1', nativeWidth: 64, nativeHeight: 64, dtype: 'float32', outDir: out });
    expect(info.parameters).toMatchObject({ unet: 1_427_012, text_encoder: 1_617_529 });
    expect(info.parameters.vae_encoder + info.parameters.vae_decoder).toBe(658_375);
    await checkSd15Folder(out, EXACT);
  }, 120_000);

  it('tiny-sdxl: both encoders (every hidden state), UNet cases with text_embeds/time_ids, txt2img Euler', async () => {
    const out = join(work, 'sdxl');
    const info = await writeImportedFolder(diffusersFolderSource(join(tinySdxlDir, 'checkpoints/diffusers'), 'sdxl'), out, { dtype: 'float32' });
    expect(info.parameters).toMatchObject({ unet: 1_360_740, text_encoder: 1_617_529, text_encoder_2: 1_635_872 });
    await checkSdxlFolder(out, EXACT);
  }, 120_000);
});
