import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithSample } from '../../src/main/app/context';
import { MAX_IMPORT_BYTES } from '../../src/main/import/input-file';
import { locateJsonError } from '../../src/main/import/json-error-position';
import { importStoryJsFile } from '../../src/main/import/story-js';
import { openProject, type Project } from '../../src/main/project/project';
import { repoRoot } from '../support/paths';

/**
 * `dreamframe import` and films.importStoryJs take only regular files up to MAX_IMPORT_BYTES, refused before
 * anything is read, and a file that is not JSON is quoted at most as a short escaped excerpt (issue #19 item 6).
 */

function importError(project: Project, file: string): { code: string; message: string } {
  try {
    importStoryJsFile(project, file);
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error(`importing ${file} did not fail`);
}

describe('import input limits', () => {
  let dir: string;
  let project: Project;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dreamframe-import-limits-'));
    createProjectWithSample(join(dir, 'project'), false).close();
    project = openProject(join(dir, 'project'));
  });

  afterAll(() => {
    project?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a device (/dev/zero) without reading it', () => {
    const err = importError(project, '/dev/zero');
    expect(err.code).toBe('import_not_a_file');
    expect(err.message).toMatch(/\/dev\/zero.*not a regular file/);
  });

  it('refuses a folder and a FIFO (which would block a plain read forever)', () => {
    const folder = join(dir, 'a-folder.json');
    mkdirSync(folder);
    expect(importError(project, folder).code).toBe('import_not_a_file');
    const fifo = join(dir, 'pipe.json');
    execFileSync('mkfifo', [fifo]);
    expect(importError(project, fifo).code).toBe('import_not_a_file');
  });

  it('refuses a regular file over the stated size, naming the limit', () => {
    const big = join(dir, 'big.json');
    const fd = openSync(big, 'w');
    ftruncateSync(fd, MAX_IMPORT_BYTES + 1); // sparse: costs no disk
    closeSync(fd);
    const err = importError(project, big);
    expect(err.code).toBe('import_too_large');
    expect(err.message).toContain(String(MAX_IMPORT_BYTES));
  });

  it('quotes a non-JSON file only as a short, escaped excerpt', () => {
    const passwd = join(dir, 'passwd.json');
    const secretTail = 'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin';
    writeFileSync(passwd, `root:x:0:0:root:/root:/bin/bash\n${secretTail}\n`);
    const err = importError(project, passwd);
    expect(err.code).toBe('import_invalid_json');
    expect(err.message).toMatch(/line 1, column 1/);
    expect(err.message).not.toContain(secretTail);
    expect(err.message).not.toContain('/bin/bash');

    const hostile = join(dir, 'hostile.json');
    writeFileSync(hostile, `\u001b[2J\u001b]0;owned\u0007\u202e${'A'.repeat(5000)}`);
    const bad = importError(project, hostile);
    expect(bad.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(bad.message).toContain('\\u001b');
    expect(bad.message.length).toBeLessThan(300 + hostile.length);
  });

  it('bounds and escapes what a shape error quotes from the file', () => {
    const file = join(dir, 'shape.json');
    const key = `\u001b]0;title\u0007${'k'.repeat(3000)}`;
    writeFileSync(file, JSON.stringify({ character: { [key]: 5 }, img_diag: [], QA: [], overview: '' }));
    const err = importError(project, file) as { code: string; message: string; details?: { issues: { path: string }[] } };
    expect(err.code).toBe('import_invalid_shape');
    expect(err.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(err.message.length).toBeLessThan(600 + file.length);
    for (const issue of err.details?.issues ?? []) expect(issue.path.length).toBeLessThan(200);
  });
});

describe('dreamframe import on a path that is not a regular file', () => {
  it('refuses /dev/zero and a FIFO at once, printing the --json error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dreamframe-import-cli-'));
    try {
      createProjectWithSample(join(dir, 'project'), false).close();
      const fifo = join(dir, 'pipe.json');
      execFileSync('mkfifo', [fifo]);
      for (const path of ['/dev/zero', fifo]) {
        const run = spawnSync(process.execPath, [join(repoRoot, 'bin', 'dreamframe.js'), 'import', path, '--project', join(dir, 'project'), '--json'],
          { encoding: 'utf8', timeout: 60_000 });
        expect(run.signal).toBeNull();
        expect(run.status).not.toBe(0);
        expect(JSON.parse(run.stdout).error).toMatchObject({ code: 'import_not_a_file' });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('locating a JSON syntax error without quoting the text', () => {
  it('agrees with V8 wherever V8 names a position, and finds the token V8 only quotes', () => {
    const withPosition = ['{"a": 1,}', '[1,2', '{"a":"b\nc"}', '[1 2]', '{"a" 1}', '{a:1}', '[01]', '[-]', '"\\x"', '[1]]', '{"a":1}x', '{"a":1,"b"}'];
    for (const text of withPosition) {
      let v8 = -2;
      try {
        JSON.parse(text);
      } catch (err) {
        v8 = Number(/at position (\d+)/.exec((err as Error).message)![1]);
      }
      expect(locateJsonError(text), text).toBe(v8);
    }
    // V8 says only "Unexpected token ']', "[1,]" is not valid JSON" here.
    expect(locateJsonError('[1,]')).toBe(3);
    expect(locateJsonError('{"a":[{"b":nul}]}')).toBe(11);
    expect(locateJsonError('')).toBe(0);
  });

  it('finds no error in valid JSON and copes with deep nesting', () => {
    for (const text of ['{"a":[1,2,{"b":null,"c":"\\u00e9"}],"d":-1.5e3}', '[]', '{}', '[[],[{}]]', ' 1 ', '"x"']) {
      expect(() => JSON.parse(text)).not.toThrow();
      expect(locateJsonError(text), text).toBe(-1);
    }
    expect(locateJsonError('['.repeat(1_000_000))).toBe(1_000_000);
  });
});
