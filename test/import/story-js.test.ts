import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importStoryJsFile, importStoryJsText } from '../../src/main/import/story-js';
import { createProject, type Project } from '../../src/main/project/project';
import { getStoryboard, listFilms } from '../../src/main/story/film-reader';
import { dreamframeFixtureDir } from '../support/paths';
import { useTempDir } from '../support/tmp';

const fixture = join(dreamframeFixtureDir, 'story_info_0.json');
const story = JSON.parse(readFileSync(fixture, 'utf8')) as {
  character: Record<string, string>; img_diag: [string, string][]; QA: { Question: string; Answer: string }[]; overview: string;
};

function rowCounts(p: Project): Record<string, number> {
  const n = (t: string) => (p.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
  return Object.fromEntries(['film', 'character', 'chapter', 'subchapter', 'frame', 'dialogue_line', 'qa_pair'].map((t) => [t, n(t)]));
}

describe('story_js import', () => {
  const tmp = useTempDir();

  it('imports the release film with exact counts and the 11 × 11 × 11 hierarchy', () => {
    const p = createProject(join(tmp(), 'p'));
    const report = importStoryJsFile(p, fixture);
    expect(report.structure).toBe('hierarchical');
    expect(report.counts).toEqual({ chapters: 11, subchapters: 121, frames: 1331, dialogueLines: 650, qaPairs: 144, characters: 3 });
    expect(report.unmapped).toEqual([]);

    const sb = getStoryboard(p.db, report.filmId);
    expect(sb.film.styleKeyword).toBe('Dramatic');
    expect(sb.film.title).toBe('The Crucible of Fate');
    // Frames keep story order; each subchapter holds 11 consecutive frames.
    const srcFrames = story.img_diag.filter(([k]) => k === 'frame').map(([, t]) => t);
    expect(sb.frames[0].description).toBe(srcFrames[0].replace(/^generate an image in Dramatic style: /, '').replace(/a man looks like Gerard Butler in brown/g, 'Darius'));
    const perSub = new Map<number, number>();
    for (const f of sb.frames) perSub.set(f.subchapterId, (perSub.get(f.subchapterId) ?? 0) + 1);
    expect([...perSub.values()].every((n) => n === 11)).toBe(true);
    // Descriptors are mapped back to names: none of the 1,331 frames still holds one.
    for (const descriptor of Object.values(story.character)) {
      expect(sb.frames.some((f) => f.description.includes(descriptor))).toBe(false);
    }
    expect(sb.frames.filter((f) => /\bDarius\b/.test(f.description)).length).toBeGreaterThan(500);
    // QA: 1 film + 2 per chapter + 1 per subchapter, in the release's order.
    expect(sb.qa.filter((q) => q.scope === 'film')).toHaveLength(1);
    expect(sb.qa.filter((q) => q.scope === 'chapter')).toHaveLength(22);
    expect(sb.qa.filter((q) => q.scope === 'subchapter')).toHaveLength(121);
    expect(sb.qa[0].answer).toBe(story.overview);
    expect(sb.qa.filter((q) => q.scope === 'subchapter')[0].question).toBe(story.QA[23].Question);
    p.close();
  });

  it('places each dialogue line after the frame it follows in img_diag', () => {
    const p = createProject(join(tmp(), 'p'));
    const { filmId } = importStoryJsFile(p, fixture);
    const sb = getStoryboard(p.db, filmId);
    // Rebuild the interleaved sequence from the database and compare with the source order.
    const subIndex = new Map(sb.subchapters.map((s, i) => [s.id, i]));
    const rebuilt: string[] = [];
    for (const sub of sb.subchapters) {
      const frames = sb.frames.filter((f) => f.subchapterId === sub.id);
      const lines = sb.dialogue.filter((d) => d.subchapterId === sub.id);
      for (let k = 0; k <= frames.length; k++) {
        if (k > 0) rebuilt.push('frame');
        for (const l of lines.filter((d) => d.afterFrame === k)) rebuilt.push(`dialogue:${l.text}`);
      }
    }
    expect(rebuilt).toEqual(story.img_diag.map(([k, t]) => (k === 'frame' ? 'frame' : `dialogue:${t}`)));
    expect(subIndex.size).toBe(121);
    p.close();
  });

  it('imports a film whose frame count is not a cube as one flat sequence and says so', () => {
    const p = createProject(join(tmp(), 'p'));
    const small = { ...story, img_diag: story.img_diag.slice(0, 10), QA: story.QA.slice(0, 3) };
    const report = importStoryJsText(p, JSON.stringify(small), 'small.json');
    expect(report.structure).toBe('flat');
    expect(report.counts.chapters).toBe(1);
    expect(report.counts.subchapters).toBe(1);
    expect(report.counts.frames).toBe(small.img_diag.filter(([k]) => k === 'frame').length);
    expect(report.counts.qaPairs).toBe(3);
    expect(report.unmapped.join('\n')).toMatch(/one flat sequence/);
    p.close();
  });

  it.each([
    ['malformed JSON', '{"character": {', /small\.json: invalid JSON at line 1/],
    ['a wrong kind', JSON.stringify({ ...story, img_diag: [['frame', 'x'], ['picture', 'y']] }), /\$\.img_diag\[1\]\[0\]/],
    ['a missing field', JSON.stringify({ character: {}, img_diag: [['frame', 'x']], QA: [] }), /\$\.overview/],
    ['a QA without answer', JSON.stringify({ ...story, QA: [{ Question: 'q' }] }), /\$\.QA\[0\]\.Answer/],
    ['a non-string descriptor', JSON.stringify({ ...story, character: { Darius: 3 } }), /\$\.character\.Darius/],
  ])('rejects %s with the JSON path and leaves the database unchanged', (_name, text, pattern) => {
    const p = createProject(join(tmp(), 'p'));
    importStoryJsFile(p, fixture);
    const before = rowCounts(p);
    expect(() => importStoryJsText(p, text, 'small.json')).toThrowError(pattern);
    expect(rowCounts(p)).toEqual(before);
    expect(listFilms(p.db)).toHaveLength(1);
    p.close();
  });
});
