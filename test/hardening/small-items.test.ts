import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEDULER_CONFIG } from '../../src/main/diffusion/schedulers/index';
import { scanOnnxFile } from '../../src/main/diffusion/loader/onnx-scan';
import { importStoryJsFile } from '../../src/main/import/story-js';
import { createProject, openProject } from '../../src/main/project/project';
import { TrainingNoiser } from '../../src/main/style/noising';
import { trainStyleEmbedding, type TrainerSetup } from '../../src/main/style/trainer';
import { useTempDir } from '../support/tmp';

const STORY = {
  character: { Ann: 'a woman in red' },
  img_diag: [['frame', 'generate an image in ink style: a woman in red walks'], ['dialogue', 'Ann: hello']],
  QA: [{ Question: 'Describe in detail the events that occur in this movie.', Answer: 'She walks.' }],
  overview: "'Café Nights' is a short film.",
};

function utf16be(text: string): Buffer {
  const le = Buffer.from(text, 'utf16le');
  for (let i = 0; i + 1 < le.length; i += 2) [le[i], le[i + 1]] = [le[i + 1], le[i]];
  return le;
}

describe('small hardening items', () => {
  const tmp = useTempDir('df-small-');

  it('removes stale atomic-write temp files under assets/ when a project opens, and keeps fresh ones', () => {
    const dir = join(tmp(), 'p');
    createProject(dir).close();
    const images = join(dir, 'assets', 'images', 'ab');
    mkdirSync(images, { recursive: true });
    const sha = 'ab'.padEnd(64, '0');
    const stale = join(images, `.${sha}.png.0a1b2c3d4e5f.tmp`);
    const fresh = join(images, `.${sha}.png.ffeeddccbbaa.tmp`);
    const image = join(images, `${sha}.png`);
    const userDotFile = join(dir, 'assets', '.keep.tmp');
    for (const f of [stale, fresh, image, userDotFile]) writeFileSync(f, 'x');
    const hourAgo = new Date(Date.now() - 3600_000);
    for (const f of [stale, image, userDotFile]) utimesSync(f, hourAgo, hourAgo);
    openProject(dir).close();
    expect(existsSync(stale)).toBe(false);
    // A write in progress (another process may be rendering), an image and a name that is not ours stay.
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(image)).toBe(true);
    expect(existsSync(userDotFile)).toBe(true);
  });

  it('says an empty model file is empty instead of "needs at least 0"', () => {
    const file = join(tmp(), 'unet.onnx');
    writeFileSync(file, '');
    expect(() => scanOnnxFile(file)).toThrow(expect.objectContaining({ message: expect.stringMatching(/is empty \(0 bytes\)/) }));
    expect(() => scanOnnxFile(file)).not.toThrow(/needs at least 0/);
    // A file cut inside a field names a size larger than the file.
    writeFileSync(file, Buffer.from([0x3a, 0x40, 0x0a]));
    expect(() => scanOnnxFile(file)).toThrow(/truncated \(3 bytes; .* at least (\d+) bytes\)/);
    const needed = Number(/at least (\d+) bytes/.exec((() => { try { scanOnnxFile(file); } catch (e) { return (e as Error).message; } return ''; })())![1]);
    expect(needed).toBeGreaterThan(3);
  });

  it('keeps only the last three step snapshots of a style training run', async () => {
    const dir = tmp();
    const width = 4;
    const setup: TrainerSetup = {
      modelName: 'stand-in',
      family: 'sd1',
      encoders: [{
        width,
        tokenTable: Float32Array.from({ length: 32 * width }, (_, i) => Math.cos(i)),
        tokenizer: {
          encodeRaw: (text: string) => text.split(/\s+/).filter(Boolean).map((w) => 2 + (w.length % 20)),
          encode(text: string) { return [0, ...this.encodeRaw(text), 1, 1, 1, 1, 1, 1, 1, 1].slice(0, 8); },
        },
      }],
      latents: [Float32Array.from({ length: 16 }, (_, i) => i / 16)],
      noiser: new TrainingNoiser(DEFAULT_SCHEDULER_CONFIG),
      gradient: {
        async run(inputs) {
          // loss = mean(embeds²): any smooth loss will do, the test is about files.
          const grads = inputs.embeds.map((e) => Float32Array.from(e, (x) => (2 * x) / e.length));
          return { loss: inputs.embeds[0].reduce((s, x) => s + x * x, 0) / inputs.embeds[0].length, grads };
        },
      },
    };
    await trainStyleEmbedding(setup, { keyword: 'dramatic', steps: 11, lrSchedule: '0.01', seed: 3, checkpointEvery: 2, checkpointDir: dir });
    expect(readdirSync(dir).filter((f) => f.startsWith('step-')).sort()).toEqual([
      'step-000008.safetensors', 'step-000010.safetensors', 'step-000011.safetensors',
    ]);
    expect(existsSync(join(dir, 'checkpoint.json'))).toBe(true);
  });

  it('imports a story_js saved with a UTF-8 BOM, and names UTF-16 (with or without BOM) instead of a garbled error', () => {
    const dir = tmp();
    const project = createProject(join(dir, 'p'));
    const text = JSON.stringify(STORY);
    const bom = join(dir, 'bom.json');
    writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]));
    const report = importStoryJsFile(project, bom);
    expect(report.counts.frames).toBe(1);
    const cases: [string, Buffer, RegExp][] = [
      ['le-bom.json', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), /UTF-16 LE/],
      ['be-bom.json', Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(text)]), /UTF-16 BE/],
      ['le.json', Buffer.from(text, 'utf16le'), /UTF-16 LE/],
      ['be.json', utf16be(text), /UTF-16 BE/],
    ];
    for (const [name, bytes, encoding] of cases) {
      const file = join(dir, name);
      writeFileSync(file, bytes);
      let message = '';
      try {
        importStoryJsFile(project, file);
      } catch (err) {
        expect((err as { code: string }).code).toBe('import_encoding');
        message = (err as Error).message;
      }
      expect(message).toMatch(encoding);
      expect(message).toContain(file);
      expect(message).toMatch(/save it as UTF-8/);
      expect(message).not.toMatch(/[\x00\ufffd]/);
    }
    project.close();
  });
});
