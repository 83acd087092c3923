import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempFolderFor, writeImportedFolder } from '../../../src/main/models/import/index';
import { tinySd15Dir, tinySdxlDir } from '../../support/paths';
import { diffusersFolderSource } from './diffusers-adapter';

const work = mkdtempSync(join(tmpdir(), 'df-import-errors-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const sd15 = () => diffusersFolderSource(join(tinySd15Dir, 'checkpoints/diffusers'), 'sd1');

/** Every refusal happens before anything is written: neither the output nor the temporary folder exists after. */
async function expectRefused(source: ReturnType<typeof sd15>, code: string, message: RegExp): Promise<void> {
  const out = join(work, `refused-${code}-${Math.random().toString(36).slice(2)}`);
  await expect(writeImportedFolder(source, out, { dtype: 'float32' })).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
  expect(existsSync(out)).toBe(false);
  expect(existsSync(tempFolderFor(out))).toBe(false);
}

describe('a source that does not fill the graphs is refused before writing, naming what is wrong', () => {
  it('a missing tensor: the component and the key', async () => {
    const s = sd15();
    s.components.unet!.delete('mid_block.attentions.0.proj_in.weight');
    await expectRefused(s, 'import.missing_tensor', /unet: the checkpoint has no "mid_block\.attentions\.0\.proj_in\.weight"/);
  });

  it('a tensor of the wrong shape: the key, its shape and the shape needed (a Linear weight given transposed)', async () => {
    const s = sd15();
    const key = 'text_model.encoder.layers.0.mlp.fc1.weight'; // [37, 32] in torch layout
    const t = s.components.text_encoder!.get(key)!;
    s.components.text_encoder!.set(key, { ...t, shape: [32, 37] });
    await expectRefused(s, 'import.shape_mismatch', /text_encoder: "text_model\.encoder\.layers\.0\.mlp\.fc1\.weight" has shape \[32, 37\] but the graph needs \[37, 32\]/);
  });

  it('a component missing altogether, and an SDXL family over a UNet without text_time', async () => {
    const s = sd15();
    delete s.components.vae;
    await expectRefused(s, 'import.component_missing', /no vae weights/);
    const mixed = diffusersFolderSource(join(tinySdxlDir, 'checkpoints/diffusers'), 'sdxl');
    mixed.configs.unet = sd15().configs.unet;
    await expectRefused(mixed, 'import.config_mismatch', /addition_embed_type "text_time"/);
  });
});
