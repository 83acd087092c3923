import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/main/cli/main';
import { readEmbeddingFile } from '../../src/main/style/formats/index';
import { readSafetensors } from '../../src/main/style/formats/safetensors';
import { readFileSync } from 'node:fs';
import { dreamframeFixtureDir } from '../support/paths';
import { captureStdout } from '../support/capture-stdout';
import { useTempDir } from '../support/tmp';

const releasePt = join(dreamframeFixtureDir, 'story_0_Dramatic.pt');

describe('dreamframe style convert', () => {
  const tmp = useTempDir();
  const stdout = captureStdout();

  it('converts the release .pt to ours, then to sdxl-comfy and back to ours, keeping every value', async () => {
    const dir = tmp();
    const ours = join(dir, 'dramatic.safetensors');
    const comfy = join(dir, 'dramatic-comfy.safetensors');
    const again = join(dir, 'again.safetensors');
    expect(await main(['style', 'convert', releasePt, ours, '--to', 'ours', '--keyword', 'Dramatic', '--json'])).toBe(0);
    const result = JSON.parse(stdout.text());
    expect(result).toMatchObject({ from: 'dreamframe-pt', to: 'ours', family: 'sdxl', keyword: 'Dramatic', widths: [768, 1280] });

    expect(await main(['style', 'convert', ours, comfy, '--to', 'sdxl-comfy'])).toBe(0);
    expect([...readSafetensors(readFileSync(comfy)).tensors.keys()].sort()).toEqual(['clip_g', 'clip_l']);
    // The comfy file has no keyword: converting back to ours needs --keyword.
    stdout.clear();
    expect(await main(['style', 'convert', comfy, again, '--to', 'ours', '--json'])).toBe(1);
    expect(JSON.parse(stdout.text()).error.code).toBe('style.keyword_required');
    expect(await main(['style', 'convert', comfy, again, '--to', 'ours', '--keyword', 'Dramatic'])).toBe(0);

    const original = readEmbeddingFile(releasePt, { keyword: 'Dramatic' }).embedding;
    expect(readEmbeddingFile(again).embedding).toEqual(original);
  });

  it('rejects an unknown --to and a two-encoder embedding as diffusers, with a reason', async () => {
    const dir = tmp();
    stdout.clear();
    expect(await main(['style', 'convert', releasePt, join(dir, 'x'), '--to', 'kohya', '--json'])).toBe(1);
    expect(JSON.parse(stdout.text()).error.message).toMatch(/--to kohya is not a format/);
    stdout.clear();
    expect(await main(['style', 'convert', releasePt, join(dir, 'x'), '--to', 'diffusers', '--keyword', 'Dramatic', '--json'])).toBe(1);
    expect(JSON.parse(stdout.text()).error.code).toBe('style.format_unsuitable');
  });
});
