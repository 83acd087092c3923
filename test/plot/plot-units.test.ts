import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../src/main/diffusion/tokenizer/clip-tokenizer';
import { extractJson } from '../../src/main/plot/extract-json';
import { Limiter } from '../../src/main/plot/limiter';
import { assembleFramePrompt, substituteLookalikes } from '../../src/main/story/lookalike';
import { retryAfterMs } from '../../src/main/plot/retry';
import { jsonSchemaOf, level1Schema, level3Schema, styleKeywordProblem, DEFAULT_BREADTH } from '../../src/main/plot/schemas';
import { prepareAnswer, reviewLevel1 } from '../../src/main/plot/answer-repair';
import { EncryptedFileSecretStore, type StringEncryptor } from '../../src/main/plot/secret-store';
import { readInstallationSettings, resolveProvider, writeInstallationSettings, writeProjectProvider } from '../../src/main/plot/settings';
import { BUILTIN_TEMPLATES, fillTemplate } from '../../src/main/plot/templates';
import OpenAI from 'openai';
import { tinySd15Dir } from '../support/paths';
import { validAnswer } from './fake-openai';
import { SMALL, newProject } from './helpers';

const cast = [
  { name: 'Darius', lookalike: 'a man looks like Gerard Butler in brown' },
  { name: 'Eleanor', lookalike: 'a woman looks like Natalie Portman in royal blue' },
  { name: 'Baron Rigby', lookalike: 'a man looks like Sean Bean in dark green' },
  { name: 'Rigby', lookalike: 'a man looks like Mark Strong in black' },
];

describe('lookalike substitution', () => {
  it('replaces whole names in any capitalisation, keeps possessives attached, prefers the longest name', () => {
    expect(substituteLookalikes("In the tavern, DARIUS hands Eleanor's letter to baron rigby; Rigby watches.", cast)).toBe(
      'In the tavern, a man looks like Gerard Butler in brown hands a woman looks like Natalie Portman in royal blue\'s letter to '
      + 'a man looks like Sean Bean in dark green; a man looks like Mark Strong in black watches.');
  });
  it('leaves names inside other words alone and never substitutes inside a descriptor', () => {
    const t = [{ name: 'Ann', lookalike: 'a woman looks like Anne Hathaway in red' }, { name: 'Anne', lookalike: 'a woman looks like Ann-Margret in gold' }];
    expect(substituteLookalikes('Annabel meets Ann and Joanne.', t)).toBe('Annabel meets a woman looks like Anne Hathaway in red and Joanne.');
  });
  it('assembles the render prompt with the keyword, replacing a template prefix', () => {
    expect(assembleFramePrompt('Dramatic', 'generate an image in enchanting style: In the forest, Darius is walking.', cast))
      .toBe('generate an image in Dramatic style: In the forest, a man looks like Gerard Butler in brown is walking.');
    expect(assembleFramePrompt('Gothic', 'At the gate, Eleanor smiles.', [])).toBe('generate an image in Gothic style: At the gate, Eleanor smiles.');
  });
});

describe('tolerant JSON extraction', () => {
  it('reads bare, fenced and prose-wrapped objects, with braces inside strings', () => {
    expect(extractJson('{"a":1}')).toEqual({ value: { a: 1 } });
    expect(extractJson('Here:\n```json\n{"a":"}"}\n```\nDone.')).toEqual({ value: { a: '}' } });
    expect(extractJson('Sure! {"a":{"b":"x{y"}} hope that helps {')).toEqual({ value: { a: { b: 'x{y' } } });
    expect(extractJson('no json here')).toHaveProperty('error');
    expect(extractJson('')).toEqual({ error: 'the answer is empty' });
  });
});

describe('level-1 validation and repair', () => {
  const b3 = { ...DEFAULT_BREADTH, chapters: 3 };
  it('fails validation only on what makes the film unusable, naming each field', () => {
    const schema = level1Schema(b3);
    const good = validAnswer('film', b3) as any;
    expect(schema.safeParse(good).success).toBe(true);
    const bad = { ...good, styleKeyword: 'Dark Fantasy', overview: '  ', locations: good.locations.slice(0, 5),
      chapters: good.chapters.slice(0, 2), characters: [{ ...good.characters[0], role: 'hero' }] };
    const msgs = schema.safeParse(bad).error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(msgs).toEqual(expect.arrayContaining([
      expect.stringMatching(/^styleKeyword: must be one word/),
      expect.stringMatching(/^overview: /),
      expect.stringMatching(/^locations: .*>=12/),
      expect.stringMatching(/^chapters: .*>=3/),
      expect.stringMatching(/^characters\.0\.role: /),
    ]));
    expect(msgs).toHaveLength(5);
  });
  it('states counts, lengths, enums and the keyword pattern in the JSON Schema sent to the server', () => {
    const js = jsonSchemaOf(level1Schema(b3)) as any;
    expect(js.properties.chapters).toMatchObject({ minItems: 3, maxItems: 3 });
    expect(js.properties.locations).toMatchObject({ minItems: 12, items: { minLength: 1 } });
    expect(js.properties.characters).toMatchObject({ minItems: 1, maxItems: 3 });
    expect(js.properties.characters.items.properties.role.enum).toEqual(['main', 'supporting']);
    expect(js.properties.styleKeyword.pattern).toBe('^[A-Za-z]+$');
    const l3 = jsonSchemaOf(level3Schema({ ...b3, frames: 5, dialogueLines: 4, qaPairs: 2 })) as any;
    expect(l3.properties.frames).toMatchObject({ minItems: 5, maxItems: 5 });
    expect(l3.properties.dialogue.items.properties.afterFrame).toMatchObject({ type: 'integer', minimum: 1, maximum: 5 });
  });
  it('repairs the cosmetic rules and says what it did', () => {
    const good = validAnswer('film', b3) as any;
    const loose = {
      ...good, styleDescription: 'soft light, teal shadows', locations: ["Mary's house", 'a path by the old mill', ...good.locations, 'Forest'],
      chapters: good.chapters.map((c: any, i: number) => (i === 0 ? { ...c, scene: ['The Forest', 'moon'], qa: { question: 'Is it?', answer: 'yes' } } : c)),
      characters: [...good.characters, { ...good.characters[0] }].slice(1),
    };
    const parsed = level1Schema(b3).parse(loose);
    const { value, warnings, issues } = reviewLevel1(parsed);
    expect(issues).toEqual([]);
    expect(value.styleDescription).toBe('soft light, teal shadows, {Dramatic}');
    expect(value.locations).toEqual(["Mary's house", 'a path by the old mill', ...good.locations, 'moon']);
    expect(value.chapters[0].scene).toEqual(['forest', 'moon']);
    expect(warnings).toEqual([
      'styleDescription: had no {Dramatic}; appended it',
      'styleDescription: no key phrase in ((double parentheses)); kept without emphasis',
      'locations: "Forest" is listed twice; kept once',
      'locations: 1 with more than two words, kept as written: "a path by the old mill"',
      'locations: "Mary\'s house" name an owner; kept as written',
      'chapters.0.qa: a "other" question, not what/why/how/where; kept as written ("Is it?")',
      'chapters.0.scene: "moon" is not one of the locations; added it to them',
    ]);
    expect(reviewLevel1({ ...parsed, styleDescription: 'dramatic light, ((fog))' }).value.styleDescription).toBe('{Dramatic} light, ((fog))');
  });
  it('prepares raw JSON: whitespace, lists longer than asked, enum spellings, keyword in braces, afterFrame out of range', () => {
    const good = validAnswer('film', b3) as any;
    const raw = { ...good, title: ' The  Title\n', styleKeyword: '{Dramatic}', chapters: [...good.chapters.slice(0, 2), { ...good.chapters[2], scene: 'forest' }, good.chapters[0]],
      characters: good.characters.map((c: any, i: number) => (i === 0 ? { ...c, role: 'Main', gender: 'female' } : c)) };
    const { value, warnings } = prepareAnswer(1, raw, b3) as { value: any; warnings: string[] };
    expect(value).toMatchObject({ title: 'The Title', styleKeyword: 'Dramatic', characters: [{ role: 'main', gender: 'woman' }, {}, {}] });
    expect(value.chapters).toHaveLength(3);
    expect(value.chapters[2].scene).toEqual(['forest']);
    expect(level1Schema(b3).safeParse(value).success).toBe(true);
    expect(warnings).toEqual([
      'chapters: 4 given, 3 asked; kept the first 3',
      'chapters.2.scene: a single text where a list was asked; read as a list of one',
      'characters.0.gender: "female" read as "woman"',
      'styleKeyword: "{Dramatic}" read as "Dramatic"',
      'trimmed extra whitespace in 1 field(s)',
    ]);
    const l3 = validAnswer('c0.s0', SMALL) as any;
    l3.dialogue[0].afterFrame = 9;
    l3.dialogue[1].afterFrame = '2';
    l3.frames[1].who = 'Lila';
    const p3 = prepareAnswer(3, l3, SMALL) as { value: any; warnings: string[] };
    expect(p3.value.dialogue.map((d: any) => d.afterFrame)).toEqual([SMALL.frames, 2]);
    expect(p3.value.frames[1].who).toEqual(['Lila']);
    expect(p3.warnings).toEqual([
      'frames.1.who: a single text where a list was asked; read as a list of one',
      `dialogue.0.afterFrame: 9 is not a frame 1–${SMALL.frames}; placed after frame ${SMALL.frames}`,
    ]);
    expect(level3Schema(SMALL).safeParse(p3.value).success).toBe(true);
  });
  it('checks the keyword is a single CLIP token with the real tokenizer', () => {
    const tok = ClipTokenizer.fromDir(join(tinySd15Dir, 'pipeline/tokenizer'));
    const tokenize = (t: string) => tok.tokenize(t);
    expect(styleKeywordProblem('Dramatic', tokenize)).toBeNull();
    const problem = styleKeywordProblem('Lanternpunkish', tokenize);
    expect(problem).toMatch(/single CLIP token/);
    expect(tokenize('Lanternpunkish').length).toBeGreaterThan(1);
  });
});

describe('templates', () => {
  it('fills every placeholder of the built-in templates and rejects unknown ones', () => {
    const vars = { theme: 't', title: 'T', overview: 'o', styleDescription: 's', locations: 'l', characters: 'c', chapterList: 'x',
      chapterNumber: 1, chapterTitle: 'ct', chapterScene: 'cs', chapterSummary: 'csu', subchapterNumber: '1-1', subchapterTitle: 'st',
      subchapterScene: 'ss', subchapterSummary: 'ssu', chapters: 11, subchapters: 11, frames: 11, dialogueLines: 6, qaPairs: 2, minLocations: 12 };
    for (const level of [1, 2, 3] as const) {
      for (const part of ['system', 'user'] as const) expect(fillTemplate(BUILTIN_TEMPLATES[level][part], vars, level)).not.toMatch(/\{\{/);
    }
    expect(() => fillTemplate('{{nope}}', {}, 2)).toThrow(/Level 2 template uses \{\{nope\}\}/);
  });
});

describe('settings and the key store', () => {
  it('layers defaults < installation file < project < run overrides', () => {
    const env = { DREAMFRAME_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'df-cfg-')) };
    expect(resolveProvider(null, {}, env).baseUrl).toBe('http://127.0.0.1:11434/v1');
    writeInstallationSettings({ model: 'm-install', maxConcurrency: 2 }, env);
    expect(readInstallationSettings(env)).toEqual({ model: 'm-install', maxConcurrency: 2 });
    const p = newProject();
    writeProjectProvider(p.db, { maxConcurrency: 5, temperature: 0.1 });
    expect(resolveProvider(p.db, { temperature: 0.9 }, env)).toMatchObject({ model: 'm-install', maxConcurrency: 5, temperature: 0.9 });
    expect(() => writeProjectProvider(p.db, { maxConcurrency: 0 })).toThrow(/maxConcurrency/);
    p.close();
  });
  it('stores the key only encrypted (safeStorage-style encryptor) in the config folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'df-secrets-'));
    const xor: StringEncryptor = {
      isEncryptionAvailable: () => true,
      encryptString: (s) => Buffer.from([...Buffer.from(s)].map((b) => b ^ 0x5a)),
      decryptString: (b) => Buffer.from([...b].map((x) => x ^ 0x5a)).toString(),
    };
    const store = new EncryptedFileSecretStore(xor, dir);
    store.set('llm-api-key', 'sk-plain-secret');
    expect(store.get('llm-api-key')).toBe('sk-plain-secret');
    const files = readdirSync(dir);
    expect(files).toEqual(['llm-api-key.bin']);
    expect(readFileSync(join(dir, files[0])).includes(Buffer.from('sk-plain-secret'))).toBe(false);
    store.set('llm-api-key', null);
    expect(store.get('llm-api-key')).toBeNull();
  });
});

describe('retry and concurrency helpers', () => {
  it('reads Retry-After as seconds, HTTP date, or retry-after-ms', () => {
    const err = (h: Record<string, string>) => new OpenAI.APIError(429, {}, 'x', new Headers(h));
    expect(retryAfterMs(err({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(err({ 'retry-after-ms': '150' }))).toBe(150);
    expect(retryAfterMs(err({ 'retry-after': new Date(10_000).toUTCString() }), 4_000)).toBe(6000);
    expect(retryAfterMs(err({}))).toBeNull();
  });
  it('never runs more than max tasks and keeps FIFO order', async () => {
    const l = new Limiter(2);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(Array.from({ length: 7 }, (_, i) => l.run(async () => {
      active++;
      peak = Math.max(peak, active);
      order.push(i);
      await new Promise((r) => setTimeout(r, 3));
      active--;
    })));
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});

describe('key redaction', () => {
  it('removes the key and key-like tokens from error texts', async () => {
    const { redactKey } = await import('../../src/main/plot/llm-client');
    expect(redactKey('401: Incorrect API key provided: sk-abc123secretxyz. Also sk-ab***wxyz', 'sk-abc123secretxyz'))
      .toBe('401: Incorrect API key provided: [redacted]. Also sk-[redacted]');
  });
});
