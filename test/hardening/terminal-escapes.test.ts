import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/main/cli/main';
import { terminalSafe } from '../../src/main/cli/output';
import { importStoryJsText } from '../../src/main/import/story-js';
import { createProject } from '../../src/main/project/project';
import { captureStdout } from '../support/capture-stdout';
import { useTempDir } from '../support/tmp';

// Clear screen, an OSC window-title change ended by BEL, a bare BEL, right-to-left override, NUL, a C1 CSI.
const HOSTILE = 'A\x1b[2JB\x1b]0;pwned\x07C\x07D\u202eE\x00F\u009b31mG';

function storyJs(title: string): string {
  return JSON.stringify({
    character: { Ann: 'a woman in red' },
    img_diag: [['frame', 'generate an image in ink style: a woman in red walks'], ['dialogue', 'Ann: hello']],
    QA: [{ Question: 'Describe in detail the events that occur in this movie.', Answer: 'She walks.' }],
    overview: `'${title}' is a short film.`,
  });
}

describe('CLI output of project data carries no terminal control characters', () => {
  const stdout = captureStdout();
  const tmp = useTempDir('df-escapes-');

  it('terminalSafe shows every control character as a visible escape and keeps line breaks and tabs', () => {
    const out = terminalSafe(`${HOSTILE}\n\tok`);
    expect(out).toBe('A\\x1b[2JB\\x1b]0;pwned\\x07C\\x07D\\u202eE\\x00F\\x9b31mG\n\tok');
    // Other bidi controls and DEL too.
    expect(terminalSafe('\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u202a\x7f')).toBe('\\u2066\\u2067\\u2068\\u2069\\u200e\\u200f\\u061c\\u202a\\x7f');
    expect(terminalSafe('Café — “quoted” 映画')).toBe('Café — “quoted” 映画');
  });

  it('dreamframe info prints a hostile title escaped; --json keeps the exact title', async () => {
    const dir = join(tmp(), 'p');
    const project = createProject(dir);
    importStoryJsText(project, storyJs(HOSTILE), 'hostile.json');
    project.close();

    expect(await main(['info', '--project', dir])).toBe(0);
    const human = stdout.text();
    expect(human).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/);
    expect(human).toContain('A\\x1b[2JB\\x1b]0;pwned\\x07C');

    stdout.clear();
    expect(await main(['info', '--project', dir, '--json'])).toBe(0);
    const info = JSON.parse(stdout.text());
    expect(info.films[0].title).toBe(HOSTILE);
  });

  it('error messages naming user paths are escaped too', async () => {
    const bad = join(tmp(), 'no\x1b[2Jproject');
    const errors: string[] = [];
    const spy = (await import('vitest')).vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => {
      errors.push(String(c));
      return true;
    });
    expect(await main(['info', '--project', bad])).toBe(1);
    spy.mockRestore();
    expect(errors.join('')).toContain('no\\x1b[2Jproject');
    expect(errors.join('')).not.toContain('\x1b');
  });
});
