/**
 * A second process writing to a project, for test/hardening/busy-database.test.ts: imports the release film
 * once while holding the write transaction open for `holdMs` (a slow import on a slow disk), then imports
 * it `repeat` more times back to back (a CLI importing several films). Prints "holding" when it has the
 * lock and "done <films>" at the end.
 */
import { readFileSync } from 'node:fs';
import { importStoryJsText } from '../../../src/main/import/story-js';
import { openProject } from '../../../src/main/project/project';

const [projectDir, storyFile, holdMsText, repeatText] = process.argv.slice(2);
const holdMs = Number(holdMsText);
const repeat = Number(repeatText);
const project = openProject(projectDir);
const text = readFileSync(storyFile, 'utf8');

project.db.transaction(() => {
  importStoryJsText(project, text, storyFile, { asNew: true });
  process.stdout.write('holding\n');
  const until = Date.now() + holdMs;
  while (Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
}).immediate();
for (let i = 0; i < repeat; i++) importStoryJsText(project, text, storyFile, { asNew: true });
const films = project.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM film').get()!.n;
project.close();
process.stdout.write(`done ${films}\n`);
