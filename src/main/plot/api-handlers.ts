import type { PlotNode, PlotSettingsView } from '../../shared/api/methods-plot';
import { AppError } from '../../shared/errors';
import type { HandlerMap } from '../api/handler-types';
import type { AppContext } from '../app/context';
import { mutate } from '../db/mutation';
import { editOutline } from '../story/edits';
import { getOutlineItem } from '../story/film-reader';
import { promptOfFrame } from '../story/frame-prompt';
import { LlmClient } from './llm-client';
import { expandFilm, regenerateNode, startFilms } from './plot-service';
import { API_KEY_SECRET, resolveApiKey, secretStore } from './secret-store';
import {
  readInstallationSettings, readProjectProvider, resolveProvider, writeInstallationSettings, writeProjectProvider,
  type ProviderOverrides,
} from './settings';
import { activeTemplate, resetTemplate, saveTemplate, templateVersion } from './templates';
import { filmUsage, getNode, listNodes, readPlotFilm, type NodeRow } from './tree-store';

/** Handlers of the plot.* methods (contract: src/shared/api/methods-plot.ts). */

function settingsView(ctx: AppContext): PlotSettingsView {
  const db = ctx.project?.db ?? null;
  const effective = resolveProvider(db);
  const { source } = resolveApiKey(effective.apiKeyEnv);
  return {
    installation: readInstallationSettings(),
    project: db ? readProjectProvider(db) : null,
    effective,
    apiKey: { present: source !== 'none', source },
  };
}

function nodeView(ctx: AppContext, r: NodeRow): PlotNode {
  const version = r.template_id === null ? null : templateVersion(ctx.requireProject().db, r.template_id);
  const error = r.error_json ? (JSON.parse(r.error_json) as { code: string; message: string }) : null;
  return {
    key: r.key, level: r.level, chapter: r.chapter_pos, subchapter: r.subchapter_pos, status: r.status, model: r.model,
    templateVersion: version,
    usage: { requests: r.requests, promptTokens: r.prompt_tokens, completionTokens: r.completion_tokens },
    error: error && { code: error.code, message: error.message },
    warnings: JSON.parse(r.warnings_json) as string[],
    finishedAt: r.finished_at,
  };
}

export const plotHandlers: Pick<HandlerMap,
  'plot.settings.get' | 'plot.settings.set' | 'plot.testConnection' | 'plot.templates.list' | 'plot.templates.save'
  | 'plot.templates.reset' | 'plot.create' | 'plot.expand' | 'plot.tree' | 'plot.node' | 'plot.regenerate' | 'plot.framePrompt'
  | 'plot.outline.update'> = {
  'plot.settings.get': (ctx) => settingsView(ctx),

  'plot.settings.set': (ctx, { scope, values, apiKey }) => {
    if (values !== undefined) {
      if (scope === 'installation') writeInstallationSettings(values);
      else writeProjectProvider(ctx.requireProject().db, values);
    }
    if (apiKey !== undefined) secretStore().set(API_KEY_SECRET, apiKey);
    return settingsView(ctx);
  },

  'plot.testConnection': async (ctx, { values }) => {
    const settings = resolveProvider(ctx.project?.db ?? null, values as ProviderOverrides | undefined);
    const client = new LlmClient({ ...settings, retries: Math.min(settings.retries, 1) }, resolveApiKey(settings.apiKeyEnv).key);
    try {
      return { baseUrl: settings.baseUrl, models: await client.listModels() };
    } catch (err) {
      throw new AppError('plot.connection_failed', `Cannot list models at ${settings.baseUrl}: ${(err as Error).message}`, { baseUrl: settings.baseUrl });
    }
  },

  'plot.templates.list': (ctx) => {
    const db = ctx.requireProject().db;
    return ([1, 2, 3] as const).map((l) => activeTemplate(db, l));
  },
  'plot.templates.save': (ctx, { level, system, user }) => saveTemplate(ctx.requireProject().db, level, { system, user }),
  'plot.templates.reset': (ctx, { level }) => resetTemplate(ctx.requireProject().db, level),

  'plot.create': (ctx, { themes, breadth, expandUntil, provider }) => mutate(ctx.writer(), (m) => {
    const result = startFilms(m.db, ctx.jobs, { themes, breadth, expandUntil, provider });
    for (const filmId of result.filmIds) m.touch(filmId, { type: 'film', ids: [filmId] });
    return result;
  }),
  'plot.expand': (ctx, { filmId, untilLevel, retryFailed }) => expandFilm(ctx.requireProject().db, ctx.jobs, filmId, untilLevel, retryFailed),
  'plot.regenerate': (ctx, { filmId, key, children }) => regenerateNode(ctx.requireProject().db, ctx.jobs, filmId, key, children),

  'plot.tree': (ctx, { filmId }) => {
    const db = ctx.requireProject().db;
    const film = readPlotFilm(db, filmId);
    return {
      filmId, expandUntil: film.expandUntil, breadth: film.config.breadth, model: film.config.provider.model ?? '',
      usage: filmUsage(db, filmId), nodes: listNodes(db, filmId).map((r) => nodeView(ctx, r)),
    };
  },
  'plot.node': (ctx, { filmId, key }) => {
    const r = getNode(ctx.requireProject().db, filmId, key);
    return { ...nodeView(ctx, r), rawAnswer: r.raw_answer, result: r.result_json ? JSON.parse(r.result_json) : null };
  },

  'plot.outline.update': (ctx, { type, id, ...fields }) => mutate(ctx.writer(), ({ db }) => {
    const values = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Record<string, string>;
    editOutline(db, type, id, values);
    return { type, ...getOutlineItem(db, type, id) };
  }),

  'plot.framePrompt': (ctx, { frameId }) => ({ frameId, prompt: promptOfFrame(ctx.requireProject().db, frameId) }),
};
