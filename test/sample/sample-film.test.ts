import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FilmDocument } from '../../src/shared/film-document';
import { repoRoot } from '../support/paths';

const samplePath = resolve(repoRoot, 'resources/sample/film.json');
const doc = FilmDocument.parse(JSON.parse(readFileSync(samplePath, 'utf8')));

const subchapters = doc.chapters.flatMap((c) => c.subchapters);
const items = subchapters.flatMap((s) => s.items);
const frames = items.filter((i) => i.type === 'frame');
const dialogue = items.filter((i) => i.type === 'dialogue');

describe('sample film (resources/sample/film.json)', () => {
  it('has 3 chapters × 2 subchapters × 4 frames, with dialogue interleaved', () => {
    expect(doc.chapters).toHaveLength(3);
    for (const chapter of doc.chapters) expect(chapter.subchapters).toHaveLength(2);
    for (const sub of subchapters) expect(sub.items.filter((i) => i.type === 'frame')).toHaveLength(4);
    expect(frames).toHaveLength(24);
    // Every subchapter interleaves at least one line between its frames, not only at the ends.
    for (const sub of subchapters) {
      const kinds = sub.items.map((i) => i.type);
      const firstFrame = kinds.indexOf('frame');
      const lastFrame = kinds.lastIndexOf('frame');
      expect(kinds.slice(firstFrame, lastFrame).includes('dialogue'), sub.title).toBe(true);
    }
  });

  it('gives every dialogue line a speaker who is a listed character', () => {
    const names = new Set(doc.characters.map((c) => c.name));
    expect(dialogue.length).toBeGreaterThan(0);
    for (const line of dialogue) expect(names.has(line.speaker ?? ''), line.text).toBe(true);
  });

  it('has QA at film, chapter and subchapter level, led by the overview question', () => {
    expect(doc.qa[0].question).toBe('Describe in detail the events that occur in this movie.');
    expect(doc.qa[0].answer).toBe(doc.overview);
    expect(doc.overview.length).toBeGreaterThan(200);
    for (const chapter of doc.chapters) expect(chapter.qa.length).toBeGreaterThan(0);
    for (const sub of subchapters) expect(sub.qa.length).toBeGreaterThan(0);
  });

  it('describes 2–3 characters as lookalikes with a colour', () => {
    expect(doc.characters.length).toBeGreaterThanOrEqual(2);
    expect(doc.characters.length).toBeLessThanOrEqual(3);
    for (const c of doc.characters) {
      expect(c.lookalike).toMatch(/^a (man|woman) looks like [A-Z][\w.' -]+ in [a-z]+$/);
      expect(c.lookalike.endsWith(` in ${c.color}`)).toBe(true);
    }
  });

  it('has a one-word style keyword, ((emphasis)) in the style description, ≥ 12 short locations', () => {
    expect(doc.styleKeyword).toMatch(/^[A-Za-z]+$/);
    expect(doc.styleDescription).toContain(`{${doc.styleKeyword}}`);
    expect(doc.styleDescription).toMatch(/\(\([^()]+\)\)/);
    expect(doc.locations.length).toBeGreaterThanOrEqual(12);
    for (const place of doc.locations) {
      expect(place.split(' ').length).toBeLessThanOrEqual(2);
      expect(place).not.toMatch(/'s\b/);
    }
  });

  it('writes frames in the level-3 form with character names, never lookalike descriptors', () => {
    const names = doc.characters.map((c) => c.name);
    for (const frame of frames) {
      expect(frame.description).toMatch(/^In the [a-z ]+, .+ (is|are) .+\.$/);
      expect(names.some((n) => frame.description.includes(n)), frame.description).toBe(true);
      expect(frame.description).not.toContain('looks like');
    }
  });
});
