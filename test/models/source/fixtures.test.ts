import { createHash } from 'node:crypto';
import { chmodSync, cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openModelSource, type ModelSource } from '../../../src/main/models/source/index';
import { SafetensorsFile } from '../../../src/main/models/source/safetensors-file';
import { writeSafetensors, type FloatTensor } from '../../../src/main/style/formats/safetensors';
import { tinySd15Dir, tinySdxlDir } from '../../support/paths';
import { useTempDir } from '../../support/tmp';
import { float32Bytes, pickleTensorDict, torchZip, type TensorSpec } from '../../style/support/torch-file';

/**
 * Every checkpoint form of the tiny fixtures opens to the same diffusers state dict as the fixture's diffusers
 * folder: bit-exact for the float32 single file; for the float16 file, within float16 rounding of the same values
 * (round-to-nearest: |x − fp16(x)| ≤ 2⁻¹¹·|x|, plus half the smallest subnormal step 2⁻²⁵ near zero).
 */

const opened: ModelSource[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

async function open(input: string, opts: Parameters<typeof openModelSource>[1] = {}): Promise<ModelSource> {
  const s = await openModelSource(input, opts);
  opened.push(s);
  return s;
}

async function compareComponents(reference: ModelSource, other: ModelSource, exact: boolean): Promise<number> {
  let compared = 0;
  expect(Object.keys(other.components).sort()).toEqual(Object.keys(reference.components).sort());
  for (const [name, refMap] of Object.entries(reference.components)) {
    const map = other.components[name as keyof typeof other.components];
    expect(map, name).toBeDefined();
    expect([...(map as Map<string, unknown>).keys()].sort(), `${name} keys`).toEqual([...refMap.keys()].sort());
    for (const [key, ref] of refMap) {
      const t = (map as typeof refMap).get(key);
      expect(t?.shape, `${name} ${key} shape`).toEqual(ref.shape);
      const [a, b] = await Promise.all([ref.read(), (t as NonNullable<typeof t>).read()]);
      expect(b.length, key).toBe(a.length);
      if (exact) {
        expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer)), `${name} ${key} bit-exact`).toBe(true);
      } else {
        let worst = 0;
        for (let i = 0; i < a.length; i++) {
          const allowed = Math.abs(a[i]) * 2 ** -11 + 2 ** -25;
          worst = Math.max(worst, Math.abs(a[i] - b[i]) / allowed);
        }
        expect(worst, `${name} ${key}: worst error / fp16 rounding bound`).toBeLessThanOrEqual(1);
      }
      compared++;
    }
  }
  return compared;
}

describe.each([
  { name: 'tiny-sd15', dir: join(tinySd15Dir, 'checkpoints'), file: 'tiny-sd15', family: 'sd1', encoders: ['text_encoder'] },
  { name: 'tiny-sdxl', dir: join(tinySdxlDir, 'checkpoints'), file: 'tiny-sdxl', family: 'sdxl', encoders: ['text_encoder', 'text_encoder_2'] },
])('$name checkpoints', ({ dir, file, family, encoders }) => {
  it('opens the diffusers folder with its configs, tokenizers and every component', async () => {
    const s = await open(join(dir, 'diffusers'));
    expect(s.family).toBe(family);
    expect(Object.keys(s.components).sort()).toEqual(['unet', 'vae', ...encoders].sort());
    expect(s.tokenizerDirs.tokenizer).toBe(join(dir, 'diffusers', 'tokenizer'));
    expect(s.configs.unet.block_out_channels).toEqual([32, 64]);
    expect(s.sourceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(s.prediction).toBe('epsilon');
    // The UNet of a diffusers folder is its own state dict: spot-check one tensor against the header.
    expect(s.components.unet?.get('conv_in.weight')?.shape).toEqual([32, 4, 3, 3]);
  });

  it('the float32 single file (with --config) gives bit-identical tensors under the same keys', async () => {
    const reference = await open(join(dir, 'diffusers'), { skipHash: true });
    const single = await open(join(dir, `${file}.safetensors`), { config: join(dir, 'config'), skipHash: true });
    expect(single.family).toBe(family);
    expect(single.configs.unet).toEqual(reference.configs.unet);
    const n = await compareComponents(reference, single, true);
    expect(n).toBeGreaterThan(200);
  });

  it('the float16 single file gives the same tensors within float16 rounding', async () => {
    const reference = await open(join(dir, 'diffusers'), { skipHash: true });
    const half = await open(join(dir, `${file}-fp16.safetensors`), { config: join(dir, 'config'), skipHash: true });
    for (const map of Object.values(half.components)) for (const t of map.values()) expect(t.dtype).toBe('F16');
    await compareComponents(reference, half, false);
  });

  it('refuses the single file without --config, naming how its shapes differ from the standard family', async () => {
    await expect(openModelSource(join(dir, `${file}.safetensors`))).rejects.toThrow(/not the standard .* architecture \(conv_in has 32 channels \(standard 320\).*pass --config/);
  });
});

describe('other input forms of the same weights', () => {
  const tmp = useTempDir('model-source-forms-');
  const sd15 = join(tinySd15Dir, 'checkpoints');

  async function tensorsOf(file: string, strip = ''): Promise<Map<string, FloatTensor>> {
    const f = await SafetensorsFile.open(file);
    const out = new Map<string, FloatTensor>();
    for (const [k, e] of f.entries) if (k.startsWith(strip) && e.dtype === 'F32') out.set(k.slice(strip.length), { shape: e.shape, data: await f.readFloat32(e) });
    await f.close();
    return out;
  }

  it('a diffusers folder whose UNet is a torch .bin (restricted pickle reader) gives the same UNet', async () => {
    const dir = join(tmp(), 'bin-folder');
    cpSync(join(sd15, 'diffusers'), dir, { recursive: true });
    // The fixtures are read-only; the copy must be writable (and removable after the test).
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) chmodSync(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
    chmodSync(dir, 0o755);
    const unet = await tensorsOf(join(dir, 'unet', 'diffusion_pytorch_model.safetensors'));
    rmSync(join(dir, 'unet', 'diffusion_pytorch_model.safetensors'), { force: true });
    const specs: TensorSpec[] = [];
    const storages: Record<string, Uint8Array> = {};
    let i = 0;
    for (const [key, t] of unet) {
      const stride = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
      specs.push({ key, storageType: 'FloatStorage', storageKey: String(i), numel: t.data.length, offset: 0, shape: t.shape, stride });
      storages[String(i++)] = float32Bytes(t.data);
    }
    writeFileSync(join(dir, 'unet', 'diffusion_pytorch_model.bin'), torchZip('archive', pickleTensorDict(specs), storages));
    const reference = await open(join(sd15, 'diffusers'), { skipHash: true });
    const fromBin = await open(dir, { skipHash: true });
    expect(fromBin.sourceFiles.some((f) => f.endsWith('diffusion_pytorch_model.bin'))).toBe(true);
    await compareComponents(reference, fromBin, true);
  });

  it('--vae replaces the VAE: a bare LDM VAE file and a diffusers VAE with the pre-0.14 attention names', async () => {
    const dir = tmp();
    const ldmVae = await tensorsOf(join(sd15, 'tiny-sd15.safetensors'), 'first_stage_model.');
    const ldmPath = join(dir, 'vae-ldm.safetensors');
    writeFileSync(ldmPath, writeSafetensors(ldmVae));
    const oldNames = new Map<string, FloatTensor>();
    for (const [k, t] of await tensorsOf(join(sd15, 'diffusers', 'vae', 'diffusion_pytorch_model.safetensors'))) {
      oldNames.set(k.replace('.to_q.', '.query.').replace('.to_k.', '.key.').replace('.to_v.', '.value.').replace('.to_out.0.', '.proj_attn.'), t);
    }
    expect([...oldNames.keys()].some((k) => k.includes('.proj_attn.'))).toBe(true);
    const oldPath = join(dir, 'vae-old-diffusers.safetensors');
    writeFileSync(oldPath, writeSafetensors(oldNames));

    const reference = await open(join(sd15, 'diffusers'), { skipHash: true });
    for (const [vae, layout] of [[ldmPath, 'LDM'], [oldPath, 'diffusers']] as const) {
      const s = await open(join(sd15, 'tiny-sd15-fp16.safetensors'), { config: join(sd15, 'config'), vae, skipHash: true });
      expect(s.notes.join('\n')).toContain(`VAE from ${vae} (${layout} layout)`);
      expect(s.sourceFiles).toEqual([join(sd15, 'tiny-sd15-fp16.safetensors'), vae]);
      await compareComponents({ ...reference, components: { vae: reference.components.vae } }, { ...s, components: { vae: s.components.vae } }, true);
    }
  });

  it('sourceHash is the file sha256 for one file and a manifest hash with --vae', async () => {
    const file = join(sd15, 'tiny-sd15.safetensors');
    const s = await open(file, { config: join(sd15, 'config') });
    expect(s.sourceHash).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));
    expect(s.totalBytes).toBe(readFileSync(file).length);
    const withVae = await open(file, { config: join(sd15, 'config'), vae: join(sd15, 'diffusers', 'vae', 'diffusion_pytorch_model.safetensors') });
    expect(withVae.sourceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(withVae.sourceHash).not.toBe(s.sourceHash);
  });
});

describe('diffusers folder variants', () => {
  const tmp = useTempDir('model-source-folders-');

  function writableCopy(from: string): string {
    const dir = join(tmp(), 'model');
    cpSync(from, dir, { recursive: true });
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) chmodSync(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
    chmodSync(dir, 0o755);
    return dir;
  }

  it('a sharded UNet (diffusion_pytorch_model.safetensors.index.json) and a folder without text_encoder/ read as the refiner layout', async () => {
    const dir = writableCopy(join(tinySdxlDir, 'checkpoints', 'diffusers'));
    const unetFile = join(dir, 'unet', 'diffusion_pytorch_model.safetensors');
    const f = await SafetensorsFile.open(unetFile);
    const shards: Map<string, FloatTensor>[] = [new Map(), new Map()];
    const weightMap: Record<string, string> = {};
    let i = 0;
    for (const [k, e] of f.entries) {
      const shard = i++ % 2;
      shards[shard].set(k, { shape: e.shape, data: await f.readFloat32(e) });
      weightMap[k] = `diffusion_pytorch_model-0000${shard + 1}-of-00002.safetensors`;
    }
    await f.close();
    rmSync(unetFile);
    shards.forEach((m, s) => writeFileSync(join(dir, 'unet', `diffusion_pytorch_model-0000${s + 1}-of-00002.safetensors`), writeSafetensors(m)));
    writeFileSync(join(dir, 'unet', 'diffusion_pytorch_model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    rmSync(join(dir, 'text_encoder'), { recursive: true });
    rmSync(join(dir, 'tokenizer'), { recursive: true });

    const reference = await open(join(tinySdxlDir, 'checkpoints', 'diffusers'), { skipHash: true });
    const s = await open(dir, { skipHash: true });
    expect(s.family).toBe('sdxl-refiner');
    expect(Object.keys(s.components).sort()).toEqual(['text_encoder_2', 'unet', 'vae']);
    expect(s.sourceFiles.filter((p) => p.includes('-of-00002'))).toHaveLength(2);
    expect(s.tokenizerDirs).toEqual({ tokenizer_2: join(dir, 'tokenizer_2') });
    const { text_encoder: _dropped, ...rest } = reference.components;
    void _dropped;
    await compareComponents({ ...reference, components: rest }, s, true);
  });

  it('one component file given as the input is refused with a pointer to the folder', async () => {
    await expect(openModelSource(join(tinySd15Dir, 'checkpoints', 'diffusers', 'unet', 'diffusion_pytorch_model.safetensors'))).rejects.toThrow(/one component of a diffusers model .*import the folder holding model_index\.json/);
  });
});

describe('prediction type from a --config scheduler', () => {
  const tmp = useTempDir('model-source-pred-');

  it('takes the config scheduler prediction_type when neither --prediction nor a .yaml says otherwise', async () => {
    const dir = join(tmp(), 'config');
    cpSync(join(tinySd15Dir, 'checkpoints', 'config'), dir, { recursive: true });
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) chmodSync(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
    const schedulerFile = join(dir, 'scheduler', 'scheduler_config.json');
    writeFileSync(schedulerFile, JSON.stringify({ ...JSON.parse(readFileSync(schedulerFile, 'utf8')), prediction_type: 'v_prediction' }));
    const file = join(tinySd15Dir, 'checkpoints', 'tiny-sd15.safetensors');
    const fromConfig = await open(file, { config: dir, skipHash: true });
    expect(fromConfig.prediction).toBe('v_prediction');
    expect(fromConfig.configs.scheduler.prediction_type).toBe('v_prediction');
    expect(fromConfig.notes.join('\n')).not.toMatch(/assuming epsilon/);
    const forced = await open(file, { config: dir, prediction: 'epsilon', skipHash: true });
    expect(forced.configs.scheduler.prediction_type).toBe('epsilon');
  });
});
