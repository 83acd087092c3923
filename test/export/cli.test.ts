import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { LlamaVidRecord } from '../../src/main/export/formats/llama-vid';
import { repoRoot } from '../support/paths';
import { useTempDir } from '../support/tmp';
import { approveAll, itemIds, review } from './helpers';

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'dreamframe.js'), ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('dreamframe export (CLI)', () => {
  const tmp = useTempDir();

  it('exports the sample film as LLaMA-VID with clips, printing progress on stderr and JSON on stdout', () => {
    const dir = tmp();
    const project = join(dir, 'project');
    const p = createProjectWithSample(project, true);
    approveAll(p, 1);
    const frames = itemIds(p, 1, 'frame');
    review(p, 'frame', frames.slice(8), 'draft'); // chapter 1 only, to keep the clips few
    p.close();
    const out = join(dir, 'out');
    const r = cli(['export', '--project', project, '--film', '1', '--format', 'llama-vid', '--out', out, '--max-size', '32', '--allow-placeholders', '--json']);
    expect(r.stderr).toMatch(/\d+%\s+Clip 1\//);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.clips).toEqual({ total: 4, encoded: 4, reused: 0 });
    const records = LlamaVidRecord.array().parse(JSON.parse(readFileSync(join(out, 'llama_vid.json'), 'utf8')));
    for (const rec of records) expect(existsSync(join(out, rec.video))).toBe(true);

    // --include-drafts brings the other chapters in; chapter 1's two subchapter clips and its chapter clip are reused
    const again = cli(['export', '--project', project, '--format', 'llama-vid', '--out', out, '--max-size', '32', '--allow-placeholders', '--include-drafts', '--json']);
    expect(again.code, again.stderr).toBe(0);
    const res2 = JSON.parse(again.stdout);
    expect(res2.stats.frames).toBe(24);
    expect(res2.clips).toEqual({ total: 10, encoded: 7, reused: 3 });
  }, 120_000);

  it('exits non-zero with the reason when nothing would be exported, and when frames are unrendered', () => {
    const dir = tmp();
    const project = join(dir, 'project');
    createProjectWithSample(project, true).close(); // everything still in draft, nothing rendered
    const out = join(dir, 'out');
    const empty = cli(['export', '--project', project, '--format', 'llama-vid', '--out', out]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('export_empty');
    expect(empty.stderr).toContain('--include-drafts');
    expect(existsSync(join(out, 'manifest.llama-vid.json'))).toBe(false);
    const cards = cli(['export', '--project', project, '--format', 'llama-vid', '--out', out, '--include-drafts', '--json']);
    expect(cards.code).toBe(1);
    expect(JSON.parse(cards.stdout).error.code).toBe('export_placeholders');
    expect(JSON.parse(cards.stdout).error.message).toContain('--allow-placeholders');
  }, 60_000);

  it('rejects an unknown format and a missing project with a clear error', () => {
    const dir = tmp();
    const bad = cli(['export', '--project', dir, '--format', 'mp4', '--out', join(dir, 'o')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--format must be one of llama-vid, video-chatgpt, story-js, jsonl');
    const missing = cli(['export', '--project', join(dir, 'nope'), '--format', 'jsonl', '--out', join(dir, 'o'), '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).error.code).toBe('project_missing');
  }, 60_000);
});
