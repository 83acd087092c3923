import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { main } from '../../src/main/cli/main';
import { planFilmClips } from '../../src/main/export/clips';
import { runExport } from '../../src/main/export/exporter';
import { loadExportFilm } from '../../src/main/export/selection';
import { importStoryJsText } from '../../src/main/import/story-js';
import type { Project } from '../../src/main/project/project';
import { startServer, type RunningServer } from '../../src/main/transports/server';
import { approveAll } from '../export/helpers';
import { captureStdout } from '../support/capture-stdout';
import { useTempDir } from '../support/tmp';
import { TestWsClient } from '../support/ws-client';

describe('export never overwrites files it did not write and stays out of the project', () => {
  const tmp = useTempDir('df-export-own-');
  const stdout = captureStdout();
  let p: Project;
  let projectDir: string;
  let base: string;
  beforeAll(() => {
    base = join(tmpdir(), `df-export-own-p-${process.pid}`);
    projectDir = join(base, 'project');
    p = createProjectWithSample(projectDir, true);
    approveAll(p, 1);
  });
  afterAll(() => {
    p.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('refuses to replace a hand-written qa.jsonl and names it; the file is untouched', async () => {
    const out = tmp();
    writeFileSync(join(out, 'qa.jsonl'), 'my own notes\n');
    await expect(runExport(p, { format: 'jsonl', outDir: out, clips: false })).rejects.toMatchObject({
      code: 'export_file_not_ours', message: expect.stringContaining(join(out, 'qa.jsonl')),
    });
    expect(readFileSync(join(out, 'qa.jsonl'), 'utf8')).toBe('my own notes\n');
    expect(existsSync(join(out, 'manifest.jsonl.json'))).toBe(false);
  });

  it('re-exports over its own files, also after a crash between writing a data file and the manifest', async () => {
    const out = tmp();
    const first = await runExport(p, { format: 'jsonl', outDir: out, clips: false });
    expect(existsSync(join(out, 'qa.jsonl'))).toBe(true);
    // Our file, changed by a newer export of ours (the manifest was not written yet when it stopped).
    writeFileSync(join(out, 'qa.jsonl'), 'partial\n');
    writeFileSync(join(out, 'manifest.jsonl.json'), '{"broken": ');
    const again = await runExport(p, { format: 'jsonl', outDir: out, clips: false });
    expect(again.manifest.files).toEqual(first.manifest.files);
    // A manifest we did not write is not replaced either.
    const other = tmp();
    writeFileSync(join(other, 'manifest.jsonl.json'), '{"mine": true}\n');
    await expect(runExport(p, { format: 'jsonl', outDir: other, clips: false })).rejects.toMatchObject({ code: 'export_file_not_ours' });
    expect(readFileSync(join(other, 'manifest.jsonl.json'), 'utf8')).toBe('{"mine": true}\n');
  });

  it('a file the user puts where a pruned export file was is theirs again', async () => {
    const two = createProjectWithSample(join(base, 'two-films'), true);
    importStoryJsText(two, JSON.stringify({
      character: { Ann: 'a woman in red' },
      img_diag: [['frame', 'generate an image in ink style: a woman in red walks'], ['dialogue', 'Ann: hello']],
      QA: [{ Question: 'Describe in detail the events that occur in this movie.', Answer: 'She walks.' }],
      overview: "'Second Film' is short.",
    }), 'second.json');
    approveAll(two, 1);
    approveAll(two, 2);
    const out = tmp();
    const both = await runExport(two, { format: 'story-js', outDir: out, filmIds: [1, 2] });
    const second = both.manifest.files.map((f) => f.path).find((f) => f.startsWith('story_js/') && f.includes(both.manifest.films[1].dir))!;
    expect(second).toBeDefined();
    const onlyFirst = await runExport(two, { format: 'story-js', outDir: out, filmIds: [1] });
    expect(onlyFirst.pruned.removed).toEqual([second]);
    // The curator now keeps a file of their own at that path: a later export of both films must not replace it.
    writeFileSync(join(out, ...second.split('/')), 'my notes on the second film\n');
    await expect(runExport(two, { format: 'story-js', outDir: out, filmIds: [1, 2] })).rejects.toMatchObject({ code: 'export_file_not_ours' });
    expect(readFileSync(join(out, ...second.split('/')), 'utf8')).toBe('my notes on the second film\n');
    two.close();
  });

  it('refuses a clip path that holds a file of the user', async () => {
    // The sample has no renders: clips would be "not rendered yet" cards, which is fine here, since
    // the refusal comes before anything is encoded.
    const opts = (outDir: string) => ({ format: 'llama-vid', outDir, maxSize: 32, allowPlaceholders: true }) as Parameters<typeof runExport>[1];
    const film = loadExportFilm(p.db, 1, false);
    const clip = (await planFilmClips(p, film, { fps: 1, maxSize: 32, measure: false })).subchapters.values().next().value!.relPath;
    const fresh = tmp();
    mkdirSync(join(fresh, ...clip.split('/').slice(0, -1)), { recursive: true });
    writeFileSync(join(fresh, ...clip.split('/')), 'my video');
    await expect(runExport(p, opts(fresh))).rejects.toMatchObject({
      code: 'export_file_not_ours', message: expect.stringContaining(clip.split('/').pop()!),
    });
    expect(readFileSync(join(fresh, ...clip.split('/')), 'utf8')).toBe('my video');
  });

  it('refuses any folder inside the project, not only its root', async () => {
    for (const inside of [projectDir, join(projectDir, 'assets'), join(projectDir, 'assets', 'exports', 'x')]) {
      await expect(runExport(p, { format: 'jsonl', outDir: inside, clips: false })).rejects.toMatchObject({ code: 'export_inside_project' });
    }
    expect(existsSync(join(projectDir, 'assets', 'exports'))).toBe(false);
    expect(existsSync(join(projectDir, 'qa.jsonl'))).toBe(false);
  });

  it('refuses a relative outDir in the API and resolves it against the user\'s folder in the CLI', async () => {
    await expect(runExport(p, { format: 'jsonl', outDir: 'relative/out', clips: false })).rejects.toMatchObject({ code: 'export_relative_folder' });

    createProjectWithSample(join(base, 'served'), true).close();
    const server: RunningServer = await startServer({ projectDir: join(base, 'served'), port: 0 });
    const client = await TestWsClient.connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
    const res = await client.request('export.start', { filmIds: [1], format: 'jsonl', outDir: 'out-here', clips: false });
    expect(res.ok).toBe(false);
    expect(res.error.code).toBe('export_relative_folder');
    expect((await client.request('export.manifest', { outDir: 'out-here', format: 'jsonl' })).error.code).toBe('export_relative_folder');
    client.close();
    await server.close();
    expect(existsSync(join(process.cwd(), 'out-here'))).toBe(false);

    // The CLI resolves a relative --out against the folder it was started in.
    const userCwd = tmp();
    const before = process.cwd();
    process.chdir(userCwd);
    try {
      p.close();
      const code = await main(['export', '--project', relative(userCwd, projectDir), '--format', 'jsonl', '--out', 'cli-out', '--no-clips', '--json']);
      expect(code).toBe(0);
      expect(JSON.parse(stdout.text()).outDir).toBe(join(userCwd, 'cli-out'));
      expect(existsSync(join(userCwd, 'cli-out', 'qa.jsonl'))).toBe(true);
    } finally {
      process.chdir(before);
      p = (await import('../../src/main/project/project')).openProject(projectDir);
    }
  });
});
