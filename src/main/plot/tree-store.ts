import type Database from 'better-sqlite3';
import { stmt } from './stmt';
import { z } from 'zod';
import { AppError, type ApiErrorPayload } from '../../shared/errors';
import { classifyQuestion } from '../story/qa-kind';
import type { Usage } from './llm-client';
import { Breadth, type Level1Answer, type Level2Answer, type Level3Answer, type QaItem } from './schemas';
import { ProviderOverrides } from './settings';
import type { Level } from './templates';
import { redactJson, redactSecrets } from '../util/redact-secrets';
import { mutate } from '../db/mutation';

/**
 * Persistence of a generated film: plot_film (breadth, pinned provider fields, template ids),
 * plot_node (one row per request unit, with the warnings of what was repaired in its answer), and the commit of each node's answer into the ordinary
 * story tables in one transaction, so the storyboard fills in as answers arrive and a crash loses
 * at most the answers still in flight.
 */

export const DESCRIBE_QUESTION = 'Describe in detail the events that occur in this movie.';

export const PlotFilmConfig = z.object({
  breadth: Breadth,
  /** Fields pinned at creation (model, endpoint, temperature, ...); the rest follows current settings. */
  provider: ProviderOverrides,
  templates: z.object({ 1: z.number().int(), 2: z.number().int(), 3: z.number().int() }),
});
export type PlotFilmConfig = z.infer<typeof PlotFilmConfig>;

export interface PlotFilm {
  filmId: number;
  config: PlotFilmConfig;
  expandUntil: Level;
}

export interface NodeRow {
  id: number; film_id: number; level: Level; key: string; chapter_pos: number | null; subchapter_pos: number | null;
  status: 'pending' | 'done' | 'failed'; template_id: number | null; model: string | null; requests: number;
  prompt_tokens: number; completion_tokens: number; raw_answer: string | null; result_json: string | null;
  error_json: string | null; warnings_json: string; finished_at: string | null;
}

export const nodeKey = (level: Level, c?: number, s?: number): string =>
  level === 1 ? 'film' : level === 2 ? `c${c}` : `c${c}.s${s}`;

/** QA positions reproduce the release's order: describe, level-1, level-2, then level-3 pairs. */
const qaPos = {
  describe: 0,
  level1: (c: number) => 1_000 + c,
  level2: (c: number) => 2_000 + c,
  level3: (c: number, s: number, q: number) => 100_000 + c * 10_000 + s * 100 + q,
};

export function createPlotFilm(db: Database.Database, theme: string, config: PlotFilmConfig, expandUntil: Level): number {
  return mutate(db, () => {
    const filmId = Number(stmt(db, `INSERT INTO film (theme, source, generation_json) VALUES (?, 'llm', ?)`)
      .run(theme, JSON.stringify({ generator: 'dreamframe-plot', breadth: config.breadth })).lastInsertRowid);
    stmt(db, 'INSERT INTO plot_film (film_id, config_json, expand_until) VALUES (?, ?, ?)')
      .run(filmId, JSON.stringify(config), expandUntil);
    insertNodeIfMissing(db, filmId, 1);
    return filmId;
  });
}

export function readPlotFilm(db: Database.Database, filmId: number): PlotFilm {
  const row = stmt<{ config_json: string; expand_until: Level }>(db,
      'SELECT config_json, expand_until FROM plot_film WHERE film_id = ?').get(filmId);
  if (!row) throw new AppError('plot.not_generated', `Film ${filmId} was not made by plot generation`, { filmId });
  return { filmId, config: PlotFilmConfig.parse(JSON.parse(row.config_json)), expandUntil: row.expand_until };
}

export function updatePlotFilm(db: Database.Database, filmId: number, patch: { expandUntil?: Level; templates?: PlotFilmConfig['templates'] }): void {
  const current = readPlotFilm(db, filmId);
  const config = { ...current.config, ...(patch.templates ? { templates: patch.templates } : {}) };
  stmt(db, 'UPDATE plot_film SET config_json = ?, expand_until = ? WHERE film_id = ?')
    .run(JSON.stringify(config), patch.expandUntil ?? current.expandUntil, filmId);
}

function insertNodeIfMissing(db: Database.Database, filmId: number, level: Level, c?: number, s?: number): void {
  stmt(db, `INSERT INTO plot_node (film_id, level, key, chapter_pos, subchapter_pos) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (film_id, key) DO NOTHING`).run(filmId, level, nodeKey(level, c, s), c ?? null, s ?? null);
}

export function listNodes(db: Database.Database, filmId: number): NodeRow[] {
  return stmt<NodeRow>(db, 'SELECT * FROM plot_node WHERE film_id = ? ORDER BY level, chapter_pos, subchapter_pos').all(filmId);
}

export function getNode(db: Database.Database, filmId: number, key: string): NodeRow {
  const row = stmt<NodeRow>(db, 'SELECT * FROM plot_node WHERE film_id = ? AND key = ?').get(filmId, key);
  if (!row) throw new AppError('not_found', `Film ${filmId} has no plot node "${key}"`, { filmId, key });
  return row;
}

export function pendingNodes(db: Database.Database, filmId: number, untilLevel: Level): NodeRow[] {
  return stmt<NodeRow>(db, `SELECT * FROM plot_node WHERE film_id = ? AND status = 'pending' AND level <= ?
    ORDER BY level, chapter_pos, subchapter_pos`).all(filmId, untilLevel);
}

/** Puts failed nodes back to pending (a resume that retries them). */
/** How many nodes of a film up to a level have been tried (done or failed). */
export function finishedNodeCount(db: Database.Database, filmId: number, untilLevel: Level): number {
  return stmt<{ n: number }>(db, `SELECT count(*) AS n FROM plot_node WHERE film_id = ? AND status != 'pending' AND level <= ?`)
    .get(filmId, untilLevel)!.n;
}

/** Films whose plot still has failed nodes, or pending ones within the level it should expand to. */
export function filmsWithUnfinishedNodes(db: Database.Database): number[] {
  return db.prepare<[], { id: number }>(`SELECT DISTINCT n.film_id AS id FROM plot_node n JOIN plot_film f ON f.film_id = n.film_id
      WHERE n.status = 'failed' OR (n.status = 'pending' AND n.level <= f.expand_until) ORDER BY n.film_id`).all().map((r) => r.id);
}

export function requeueFailed(db: Database.Database, filmId: number): number {
  return stmt(db, `UPDATE plot_node SET status = 'pending' WHERE film_id = ? AND status = 'failed'`).run(filmId).changes;
}

/** Marks a node (and, on request, every node below it) to be generated again. */
export function markForRegeneration(db: Database.Database, filmId: number, key: string, children: boolean): number {
  const node = getNode(db, filmId, key);
  return mutate(db, () => {
    let n = stmt(db, `UPDATE plot_node SET status = 'pending' WHERE id = ?`).run(node.id).changes;
    if (children) {
      const below = node.level === 1 ? `level > 1`
        : node.level === 2 ? `level = 3 AND chapter_pos = ${Number(node.chapter_pos)}` : null;
      if (below) n += stmt(db, `UPDATE plot_node SET status = 'pending' WHERE film_id = ? AND ${below}`).run(filmId).changes;
    }
    return n;
  });
}

export interface NodeMeta {
  templateId: number;
  model: string;
  usage: Usage;
  /** What was repaired in the accepted answer; shown to the curator on the node. */
  warnings?: string[];
}

function finishNode(db: Database.Database, nodeId: number, status: 'done' | 'failed', meta: NodeMeta, raw: string | null,
  result: unknown, error: ApiErrorPayload | null): void {
  stmt(db, `UPDATE plot_node SET status = ?, template_id = ?, model = ?, requests = requests + ?,
      prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?, raw_answer = ?,
      result_json = ?, error_json = ?, warnings_json = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?`)
    .run(status, meta.templateId, meta.model, meta.usage.requests, meta.usage.promptTokens, meta.usage.completionTokens,
      // Redacted again here, the last step before the database, whatever path the text came by.
      raw === null ? null : redactSecrets(raw), result === null ? null : redactJson(result), error ? redactJson(error) : null,
      JSON.stringify(status === 'done' ? meta.warnings ?? [] : []), nodeId);
}

export function markNodeFailed(db: Database.Database, nodeId: number, meta: NodeMeta, raw: string | null, error: ApiErrorPayload): void {
  finishNode(db, nodeId, 'failed', meta, raw, null, error);
}

function replaceQa(db: Database.Database, filmId: number, scope: 'film' | 'chapter' | 'subchapter', chapterId: number | null,
  subId: number | null, position: number, qa: QaItem, kind?: string): void {
  stmt(db, 'DELETE FROM qa_pair WHERE film_id = ? AND position = ?').run(filmId, position);
  stmt(db, `INSERT INTO qa_pair (film_id, scope, chapter_id, subchapter_id, position, question, answer, kind)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(filmId, scope, chapterId, subId, position, qa.question, qa.answer, kind ?? classifyQuestion(qa.question));
}

/** Updates rows at positions 0..n-1 in place (keeping ids and what hangs below), inserts missing ones, drops extras. */
function upsertByPosition(db: Database.Database, table: 'chapter' | 'subchapter', parentCol: 'film_id' | 'chapter_id', parentId: number,
  items: { title: string; scene: string; summary: string }[]): number[] {
  const existing = new Map(stmt<{ id: number; position: number }>(db,
      `SELECT id, position FROM ${table} WHERE ${parentCol} = ?`).all(parentId)
    .map((r) => [r.position, r.id]));
  const ids = items.map((it, i) => {
    const id = existing.get(i);
    if (id !== undefined) {
      stmt(db, `UPDATE ${table} SET title = ?, scene = ?, summary = ? WHERE id = ?`).run(it.title, it.scene, it.summary, id);
      return id;
    }
    return Number(stmt(db, `INSERT INTO ${table} (${parentCol}, position, title, scene, summary) VALUES (?, ?, ?, ?, ?)`)
      .run(parentId, i, it.title, it.scene, it.summary).lastInsertRowid);
  });
  stmt(db, `DELETE FROM ${table} WHERE ${parentCol} = ? AND position >= ?`).run(parentId, items.length);
  return ids;
}

export const lookalikeDescriptor = (c: { gender: string; lookalike: string; color: string }): string =>
  `a ${c.gender} looks like ${c.lookalike} in ${c.color}`;

export function commitLevel1(db: Database.Database, filmId: number, nodeId: number, a: Level1Answer, meta: NodeMeta, raw: string): void {
  mutate(db, () => {
    stmt(db, `UPDATE film SET title = ?, overview = ?, style_description = ?, style_keyword = ?, locations_json = ?,
        updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?`)
      .run(a.title, a.overview, a.styleDescription, a.styleKeyword, JSON.stringify(a.locations), filmId);
    stmt(db, 'DELETE FROM character WHERE film_id = ?').run(filmId);
    a.characters.forEach((c, i) => stmt(db, `INSERT INTO character (film_id, position, name, lookalike, role, color)
      VALUES (?, ?, ?, ?, ?, ?)`).run(filmId, i, c.name, lookalikeDescriptor(c), c.role, c.color));
    replaceQa(db, filmId, 'film', null, null, qaPos.describe, { question: DESCRIBE_QUESTION, answer: a.overview }, 'describe');
    const chapterIds = upsertByPosition(db, 'chapter', 'film_id', filmId,
      a.chapters.map((c) => ({ title: c.title, scene: c.scene.join(', '), summary: c.summary })));
    stmt(db, 'DELETE FROM qa_pair WHERE film_id = ? AND position >= ? AND position < ?')
      .run(filmId, qaPos.level1(a.chapters.length), qaPos.level1(1000));
    a.chapters.forEach((c, i) => {
      replaceQa(db, filmId, 'chapter', chapterIds[i], null, qaPos.level1(i), c.qa);
      insertNodeIfMissing(db, filmId, 2, i);
    });
    stmt(db, 'DELETE FROM plot_node WHERE film_id = ? AND level > 1 AND chapter_pos >= ?').run(filmId, a.chapters.length);
    finishNode(db, nodeId, 'done', meta, raw, a, null);
  });
}

function chapterId(db: Database.Database, filmId: number, c: number): number {
  const row = stmt<{ id: number }>(db, 'SELECT id FROM chapter WHERE film_id = ? AND position = ?').get(filmId, c);
  if (!row) throw new AppError('not_found', `Film ${filmId} has no chapter at position ${c}`, { filmId, chapter: c });
  return row.id;
}

function subchapterId(db: Database.Database, chId: number, s: number): number {
  const row = stmt<{ id: number }>(db, 'SELECT id FROM subchapter WHERE chapter_id = ? AND position = ?').get(chId, s);
  if (!row) throw new AppError('not_found', `Chapter ${chId} has no subchapter at position ${s}`, { chapterId: chId, subchapter: s });
  return row.id;
}

export function commitLevel2(db: Database.Database, filmId: number, node: NodeRow, a: Level2Answer, meta: NodeMeta, raw: string): number[] {
  const c = node.chapter_pos!;
  return mutate(db, () => {
    const chId = chapterId(db, filmId, c);
    const ids = upsertByPosition(db, 'subchapter', 'chapter_id', chId, a.subchapters);
    replaceQa(db, filmId, 'chapter', chId, null, qaPos.level2(c), a.qa);
    a.subchapters.forEach((_, s) => insertNodeIfMissing(db, filmId, 3, c, s));
    stmt(db, 'DELETE FROM plot_node WHERE film_id = ? AND level = 3 AND chapter_pos = ? AND subchapter_pos >= ?')
      .run(filmId, c, a.subchapters.length);
    finishNode(db, node.id, 'done', meta, raw, a, null);
    return ids;
  });
}

export function commitLevel3(db: Database.Database, filmId: number, node: NodeRow, a: Level3Answer, meta: NodeMeta, raw: string): number {
  const c = node.chapter_pos!;
  const s = node.subchapter_pos!;
  return mutate(db, () => {
    const chId = chapterId(db, filmId, c);
    const subId = subchapterId(db, chId, s);
    stmt(db, 'DELETE FROM frame WHERE subchapter_id = ?').run(subId);
    stmt(db, 'DELETE FROM dialogue_line WHERE subchapter_id = ?').run(subId);
    stmt(db, 'DELETE FROM qa_pair WHERE subchapter_id = ?').run(subId);
    a.frames.forEach((f, i) => stmt(db, 'INSERT INTO frame (subchapter_id, position, description, scene) VALUES (?, ?, ?, ?)')
      .run(subId, i, f.description, f.location));
    // Stable order: by the frame each line follows, then as the model listed them.
    const lines = a.dialogue.map((d, i) => ({ ...d, i })).sort((x, y) => x.afterFrame - y.afterFrame || x.i - y.i);
    let seq = 0;
    lines.forEach((d, k) => {
      seq = k > 0 && lines[k - 1].afterFrame === d.afterFrame ? seq + 1 : 0;
      stmt(db, 'INSERT INTO dialogue_line (subchapter_id, after_frame, seq, speaker, text) VALUES (?, ?, ?, ?, ?)')
        .run(subId, d.afterFrame, seq, d.speaker, d.text);
    });
    a.qa.forEach((qa, q) => replaceQa(db, filmId, 'subchapter', chId, subId, qaPos.level3(c, s, q), qa));
    finishNode(db, node.id, 'done', meta, raw, a, null);
    return subId;
  });
}

export interface FilmUsage { requests: number; promptTokens: number; completionTokens: number }

export function filmUsage(db: Database.Database, filmId: number): FilmUsage {
  const r = stmt<{ requests: number; p: number; c: number }>(db,
      `SELECT coalesce(sum(requests), 0) AS requests, coalesce(sum(prompt_tokens), 0) AS p,
      coalesce(sum(completion_tokens), 0) AS c FROM plot_node WHERE film_id = ?`).get(filmId)!;
  return { requests: r.requests, promptTokens: r.p, completionTokens: r.c };
}
