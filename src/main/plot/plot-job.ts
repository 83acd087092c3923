import type Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Id } from '../../shared/api/entities';
import { toErrorPayload } from '../../shared/errors';
import type { EventBus } from '../app/event-bus';
import { mutate } from '../db/mutation';
import type { JobContext, JobKind } from '../jobs/runner';
import { InvalidAnswerError, LlmClient, LlmRequestError, emptyUsage } from './llm-client';
import { buildMessages, nodeVars } from './prompt-context';
import { prepareAnswer, reviewLevel1, reviewLevel2, reviewLevel3 } from './answer-repair';
import { jsonSchemaOf, level1Schema, level2Schema, level3Schema, type Level1Answer, type Level2Answer, type Level3Answer } from './schemas';
import { resolveApiKey } from './secret-store';
import { readProjectSetting, resolveProvider } from './settings';
import { ClipTokenizer } from '../diffusion/tokenizer/clip-tokenizer';
import { recentRenderModels } from '../render/settings';
import { getTemplate, type Level } from './templates';
import {
  commitLevel1, commitLevel2, commitLevel3, finishedNodeCount, listNodes, markNodeFailed, pendingNodes, readPlotFilm, requeueFailed,
  type NodeMeta, type NodeRow, type PlotFilm,
} from './tree-store';

/**
 * The plot generation job: brings one or more films' expansion trees to their target level. The
 * plot_node table is the resume state: a finished node is never requested again; nodes that were in
 * flight when the job was cancelled or the process died are still 'pending' and go out again. Every
 * node of every film in the job runs concurrently, bounded only by the endpoint's shared limiter;
 * a node's children become runnable the moment its answer is committed.
 */

export const PLOT_JOB = 'plot.generate';

export const PlotJobParams = z.object({
  filmIds: z.array(Id).min(1),
  /** Also retry nodes that failed in an earlier run. */
  retryFailed: z.boolean().default(false),
});
export type PlotJobParams = z.infer<typeof PlotJobParams>;

interface FilmRun { film: PlotFilm; client: LlmClient }

function expectedNodes(f: PlotFilm): number {
  const b = f.config.breadth;
  return 1 + (f.expandUntil >= 2 ? b.chapters : 0) + (f.expandUntil >= 3 ? b.chapters * b.subchapters : 0);
}

function finishedNodes(db: Database.Database, f: PlotFilm): number {
  return finishedNodeCount(db, f.filmId, f.expandUntil);
}

/**
 * When a CLIP tokenizer is known, the style keyword must also be exactly one token of it: the project
 * setting "keywordTokenizerDir" names one, otherwise the tokenizer/ of the model the project last chose
 * for rendering is used (the keyword's row is what style learning overwrites, so it must be one token).
 */
export function keywordTokenizerDir(db: Database.Database): string | null {
  const configured = readProjectSetting<string>(db, 'keywordTokenizerDir');
  if (configured) return configured;
  for (const model of recentRenderModels(db)) {
    if (existsSync(join(model, 'tokenizer', 'vocab.json'))) return join(model, 'tokenizer');
  }
  return null;
}

function keywordTokenizer(dir: string): (text: string) => string[] {
  const tok = ClipTokenizer.fromDir(dir);
  return (text) => tok.tokenize(text);
}

interface AnswerSpec {
  schema: z.ZodType<unknown>;
  jsonSchema: Record<string, unknown>;
  review: (value: unknown) => { value: unknown; warnings: string[]; issues: string[] };
}

const specCache = new Map<string, AnswerSpec>();

/** Schemas depend only on level and breadth; building them (and their JSON Schema) per node is wasted work. */
function specFor(level: Level, f: PlotFilm, tokenizerDir: string | null): AnswerSpec {
  const b = f.config.breadth;
  const key = `${level}:${JSON.stringify(b)}:${level === 1 ? tokenizerDir ?? '' : ''}`;
  let hit = specCache.get(key);
  if (!hit) {
    const tokenize = level === 1 && tokenizerDir ? keywordTokenizer(tokenizerDir) : undefined;
    const schema = (level === 1 ? level1Schema(b) : level === 2 ? level2Schema(b) : level3Schema(b)) as z.ZodType<unknown>;
    const review = (v: unknown) => (level === 1 ? reviewLevel1(v as Level1Answer, tokenize)
      : level === 2 ? reviewLevel2(v as Level2Answer) : reviewLevel3(v as Level3Answer));
    specCache.set(key, (hit = { schema, jsonSchema: jsonSchemaOf(schema), review }));
  }
  return hit;
}

async function runNode(db: Database.Database, events: EventBus, run: FilmRun, node: NodeRow, signal: AbortSignal,
  tokenizerDir: string | null): Promise<void> {
  const { film, client } = run;
  const level = node.level;
  const template = getTemplate(db, film.config.templates[level]);
  const { schema, jsonSchema, review } = specFor(level, film, tokenizerDir);
  const messages = buildMessages(template, level, nodeVars(db, film.filmId, node, film.config.breadth), jsonSchema);
  const meta: NodeMeta = { templateId: template.id, model: client.settings.model, usage: emptyUsage(), warnings: [] };
  try {
    const res = await client.completeJson({
      messages, schema, jsonSchema, name: `dreamframe_plot_level${level}`, signal,
      headers: { 'x-dreamframe-node': node.key, 'x-dreamframe-film': String(film.filmId) },
      prepare: (v) => prepareAnswer(level, v, film.config.breadth),
      review,
    });
    Object.assign(meta, { model: res.model, usage: res.usage, warnings: res.warnings });
    if (level === 1) {
      mutate({ db, events }, (m) => {
        commitLevel1(db, film.filmId, node.id, res.value as never, meta, res.raw);
        m.touch(film.filmId, { type: 'film', ids: [film.filmId] }, { type: 'character', ids: [] }, { type: 'chapter', ids: [] }, { type: 'qa', ids: [] });
      });
    } else if (level === 2) {
      mutate({ db, events }, (m) => {
        const ids = commitLevel2(db, film.filmId, node, res.value as never, meta, res.raw);
        m.touch(film.filmId, { type: 'subchapter', ids }, { type: 'qa', ids: [] });
      });
    } else {
      mutate({ db, events }, (m) => {
        const subId = commitLevel3(db, film.filmId, node, res.value as never, meta, res.raw);
        m.touch(film.filmId, { type: 'subchapter', ids: [subId] }, { type: 'frame', ids: [] }, { type: 'dialogue', ids: [] }, { type: 'qa', ids: [] });
      });
    }
  } catch (err) {
    if (signal.aborted) throw err;
    // The node fails, the film goes on: keep the raw answer and the usage it cost.
    mutate({ db, events }, (m) => {
      if (err instanceof InvalidAnswerError) {
        markNodeFailed(db, node.id, { ...meta, usage: err.usage }, err.raw, err.toPayload());
      } else if (err instanceof LlmRequestError) {
        markNodeFailed(db, node.id, { ...meta, usage: err.usage }, null, err.toPayload());
      } else {
        markNodeFailed(db, node.id, meta, null, toErrorPayload(err));
      }
      m.touch(film.filmId, { type: 'film', ids: [film.filmId] });
    });
  }
}

export async function runPlotJob(ctx: JobContext<PlotJobParams>): Promise<void> {
  const db = ctx.project.db;
  const runs = new Map<number, FilmRun>();
  const tokenizerDir = keywordTokenizerDir(db);
  for (const filmId of ctx.params.filmIds) {
    const film = readPlotFilm(db, filmId);
    if (ctx.params.retryFailed && !ctx.checkpoint) requeueFailed(db, filmId);
    const settings = resolveProvider(db, film.config.provider);
    runs.set(filmId, { film, client: new LlmClient(settings, resolveApiKey(settings.apiKeyEnv).key) });
  }
  const total = [...runs.values()].reduce((n, r) => n + expectedNodes(r.film), 0);
  // The node table is the real resume state; the checkpoint only marks "this job has started".
  let done = [...runs.values()].reduce((n, r) => n + finishedNodes(db, r.film), 0);
  ctx.saveCheckpoint({ startedWith: done, totalNodes: total });
  const report = () => {
    done++;
    ctx.progress(total ? Math.min(1, done / total) : 1, `${done}/${total} plot nodes`);
  };
  ctx.progress(total ? done / total : 1, `${done}/${total} plot nodes`);

  const started = new Set<number>();
  const inFlight = new Set<Promise<void>>();
  let firstError: unknown = null;
  const launchReady = () => {
    for (const run of runs.values()) {
      for (const node of pendingNodes(db, run.film.filmId, run.film.expandUntil)) {
        if (started.has(node.id)) continue;
        started.add(node.id);
        const p = runNode(db, ctx.events, run, node, ctx.signal, tokenizerDir)
          .then(report, (err) => { firstError ??= err; })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    }
  };

  launchReady();
  while (inFlight.size > 0) {
    await Promise.race(inFlight);
    if (!ctx.signal.aborted && firstError === null) launchReady();
  }
  if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('cancelled');
  if (firstError) throw firstError;
  const failed = [...runs.values()].reduce((n, r) => n + listNodes(db, r.film.filmId).filter((x) => x.status === 'failed').length, 0);
  ctx.progress(1, failed ? `finished; ${failed} node(s) failed (regenerate them to retry)` : 'finished');
}

export const plotJobKind: JobKind<PlotJobParams> = {
  kind: PLOT_JOB,
  lane: 'llm',
  params: PlotJobParams,
  run: runPlotJob,
};
