import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/main/cli/main';
import { tempFolderFor } from '../../../src/main/models/import/index';
import { absMax, f32, item, maxAbsDiff, readCase } from '../../diffusion/fixture-io';
import { captureStdout } from '../../support/capture-stdout';
import { dreamframeFixtureDir, tinySd15Dir } from '../../support/paths';
import { useTempDir } from '../../support/tmp';

const checkpoints = join(tinySd15Dir, 'checkpoints');
const singleFile = join(checkpoints, 'tiny-sd15.safetensors');
const importArgs = (out: string) => ['model', 'import', singleFile, '--config', join(checkpoints, 'config'), '--out', out];

describe('dreamframe model import', () => {
  const tmp = useTempDir('dreamframe-model-import-');
  const stdout = captureStdout();

  it('refuses an --out folder that is not empty, and touches nothing in it', async () => {
    const out = join(tmp(), 'taken');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'mine');
    expect(await main([...importArgs(out), '--json'])).toBe(1);
    const error = JSON.parse(stdout.text()).error;
    expect(error.code).toBe('import.out_exists');
    expect(error.message).toContain(out);
    expect(readdirSync(out)).toEqual(['keep.txt']);
    expect(existsSync(tempFolderFor(out))).toBe(false);
  });

  it('imports into an empty --out; render and style learn take the folder unchanged and match the original pipeline', async () => {
    const dir = tmp();
    const out = join(dir, 'model');
    mkdirSync(out); // empty: accepted
    expect(await main([...importArgs(out), '--json'])).toBe(0);
    const info = JSON.parse(stdout.text());
    expect(info).toMatchObject({ family: 'sd1', prediction: 'epsilon', dtype: 'float32', nativeWidth: 64, outDir: resolve(out) });
    expect(readdirSync(out).sort()).toEqual(['model_index.json', 'scheduler', 'text_encoder', 'tokenizer', 'unet', 'vae_decoder', 'vae_encoder']);

    // render: the reference Euler run from its initial latents.
    const cases = join(tinySd15Dir, 'cases');
    const run = readCase(cases, 'txt2img_euler.json');
    const png = join(dir, 'x.png');
    const saved = join(dir, 'final.bin');
    stdout.clear();
    expect(await main([
      'render', '--model', out, '--prompt', run.prompt, '--negative', '', '--steps', '10', '--scheduler', 'euler', '--guidance', '7.5',
      '--width', '64', '--height', '64', '--init-latents', join(cases, run.initial_latents.file), '--save-latents', saved, '--out', png, '--json',
    ])).toBe(0);
    const buf = readFileSync(saved);
    const latents = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const expected = item(f32(cases, run.latents_after_step), 9, 4096);
    expect(maxAbsDiff(latents, expected)).toBeLessThan(1e-4 + 2e-5 * absMax(expected));
    const ours = await sharp(png).removeAlpha().raw().toBuffer();
    const ref = await sharp(join(cases, run.image_png)).removeAlpha().raw().toBuffer();
    expect(maxAbsDiff(ours, ref)).toBeLessThanOrEqual(1);

    // style learn: one step on the imported folder and on the fixture's exported pipeline give the same loss. The
    // exported pipeline's vae_encoder samples inside the graph (unseeded); ours outputs latent_parameters like the
    // fixture's deterministic variant, so compare with the pipeline using that variant.
    const exported = join(dir, 'exported');
    cpSync(join(tinySd15Dir, 'pipeline'), exported, { recursive: true });
    copyFileSync(join(tinySd15Dir, 'variants/vae_encoder_latent_parameters/model.onnx'), join(exported, 'vae_encoder/model.onnx'));
    const images = join(dir, 'images');
    mkdirSync(images);
    for (const f of ['Cathedral0.jpg', 'TownSquare3.jpg']) copyFileSync(join(dreamframeFixtureDir, 'style', f), join(images, f));
    const learn = async (model: string, name: string) => {
      stdout.clear();
      const code = await main([
        'style', 'learn', '--model', model, '--keyword', 'noir', '--images', images, '--lr-schedule', '1e-2:1', '--accumulation', '1',
        '--seed', '3', '--steps', '1', '--threads', '1', '--cache-dir', join(dir, `cache-${name}`), '--out', join(dir, `${name}.safetensors`), '--json',
      ]);
      expect(code).toBe(0);
      return JSON.parse(stdout.text());
    };
    const imported = await learn(out, 'imported');
    const original = await learn(exported, 'original');
    expect(imported).toMatchObject({ family: 'sd1', steps: 1 });
    expect(Math.abs(imported.loss - original.loss)).toBeLessThan(1e-5 * Math.abs(original.loss) + 1e-7);
  }, 180_000);
});

describe('an import killed mid-way', () => {
  const tmp = useTempDir('dreamframe-model-kill-');
  captureStdout();

  it('leaves no output folder (only its temporary folder), and a re-run removes that and succeeds', async () => {
    const out = join(tmp(), 'model');
    const bin = resolve(__dirname, '../../../bin/dreamframe.js');
    // Each tensor is held 20 ms (test hook) so the kill lands while weights are being written.
    const child = spawn(process.execPath, [bin, ...importArgs(out)], { env: { ...process.env, DREAMFRAME_IMPORT_SLOWDOWN_MS: '20' }, stdio: ['ignore', 'ignore', 'pipe'] });
    const firstWriteLine = await new Promise<string>((resolveLine, reject) => {
      let text = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const line = text.split('\n').find((l) => /tensors\s+(text_encoder|unet|vae_)/.test(l));
        if (line) resolveLine(line);
      });
      child.on('exit', (code) => reject(new Error(`import exited (${code}) before writing started:\n${text}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(firstWriteLine).toMatch(/\d+\/\d+ tensors/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(tempFolderFor(out))).toBe(true); // what the kill left: only the temporary folder

    const code = await main([...importArgs(out), '--json']);
    expect(code).toBe(0);
    expect(existsSync(join(out, 'unet/model.onnx'))).toBe(true);
    expect(existsSync(tempFolderFor(out))).toBe(false);
  }, 120_000);
});
