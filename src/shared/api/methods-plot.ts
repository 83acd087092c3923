import { z } from 'zod';
import { Id, Job } from './entities';

/**
 * Plot generation (issue 3): provider settings and the API key, prompt templates, creating films
 * from themes, the live expansion tree, regenerating nodes, and the final frame prompt preview.
 */

export const PlotStructuredMode = z.enum(['json_schema', 'json_object', 'none']);

export const PlotProviderSettings = z.object({
  baseUrl: z.string().url(),
  model: z.string().min(1),
  temperature: z.number().min(0).max(2),
  maxConcurrency: z.number().int().min(1).max(256),
  timeoutMs: z.number().int().min(100).max(3_600_000),
  /** Retries per request on 429, 5xx, timeouts and dropped connections. */
  retries: z.number().int().min(0).max(20),
  /** Re-asks per node when an answer fails validation (the errors are quoted back). */
  reasks: z.number().int().min(0).max(5),
  /** First backoff delay; doubles per retry (a Retry-After header wins). */
  retryBaseMs: z.number().int().min(1).max(60_000),
  structuredOutput: PlotStructuredMode,
  /** Environment variable holding the key in serve/CLI mode. */
  apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
});
export type PlotProviderSettings = z.infer<typeof PlotProviderSettings>;
export const PlotProviderOverrides = PlotProviderSettings.partial();

export const PlotBreadth = z.object({
  chapters: z.number().int().min(1).max(40).default(11),
  subchapters: z.number().int().min(1).max(40).default(11),
  frames: z.number().int().min(1).max(40).default(11),
  dialogueLines: z.number().int().min(0).max(40).default(6),
  qaPairs: z.number().int().min(0).max(10).default(2),
});
export type PlotBreadth = z.infer<typeof PlotBreadth>;

const Level = z.union([z.literal(1), z.literal(2), z.literal(3)]);

export const PlotSettingsView = z.object({
  installation: PlotProviderOverrides,
  project: PlotProviderOverrides.nullable(),
  effective: PlotProviderSettings,
  /** Never the key itself: only whether one is available and from where. */
  apiKey: z.object({ present: z.boolean(), source: z.enum(['store', 'env', 'none']) }),
});
export type PlotSettingsView = z.infer<typeof PlotSettingsView>;

export const PlotTemplate = z.object({
  id: Id, level: Level, version: z.string(), system: z.string(), user: z.string(), builtin: z.boolean(),
});
export type PlotTemplate = z.infer<typeof PlotTemplate>;

export const PlotUsage = z.object({ requests: z.number().int(), promptTokens: z.number().int(), completionTokens: z.number().int() });

export const PlotNode = z.object({
  key: z.string(),
  level: Level,
  chapter: z.number().int().nullable(),
  subchapter: z.number().int().nullable(),
  status: z.enum(['pending', 'done', 'failed']),
  model: z.string().nullable(),
  templateVersion: z.string().nullable(),
  usage: PlotUsage,
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  /** What was repaired in the node's accepted answer (keyword put in braces, extra items cut, ...). */
  warnings: z.array(z.string()),
  finishedAt: z.string().nullable(),
});
export type PlotNode = z.infer<typeof PlotNode>;

export const PlotTree = z.object({
  filmId: Id,
  expandUntil: Level,
  breadth: PlotBreadth,
  model: z.string(),
  usage: PlotUsage,
  nodes: z.array(PlotNode),
});
export type PlotTree = z.infer<typeof PlotTree>;

export const plotMethods = {
  'plot.settings.get': { input: z.object({}).strict(), output: PlotSettingsView },
  'plot.settings.set': {
    input: z.object({
      scope: z.enum(['installation', 'project']),
      /** Replaces that scope's overrides; omitted fields fall back to the scope below. */
      values: PlotProviderOverrides.optional(),
      /** A new API key (null removes it). Stored encrypted outside the project; never echoed back. */
      apiKey: z.string().max(4000).nullable().optional(),
    }).strict(),
    output: PlotSettingsView,
  },
  'plot.testConnection': {
    input: z.object({ values: PlotProviderOverrides.optional() }).strict(),
    output: z.object({ baseUrl: z.string(), models: z.array(z.string()) }),
  },
  'plot.templates.list': { input: z.object({}).strict(), output: z.array(PlotTemplate) },
  'plot.templates.save': {
    input: z.object({ level: Level, system: z.string().min(1).max(50_000), user: z.string().min(1).max(50_000) }).strict(),
    output: PlotTemplate,
  },
  'plot.templates.reset': { input: z.object({ level: Level }).strict(), output: PlotTemplate },
  'plot.create': {
    input: z.object({
      themes: z.array(z.string().min(1).max(2000)).min(1).max(1000),
      breadth: PlotBreadth.partial().optional(),
      expandUntil: Level.default(3),
      provider: PlotProviderOverrides.optional(),
    }).strict(),
    output: z.object({ filmIds: z.array(Id), job: Job }),
  },
  'plot.expand': {
    input: z.object({ filmId: Id, untilLevel: Level, retryFailed: z.boolean().default(false) }).strict(),
    output: Job,
  },
  'plot.tree': { input: z.object({ filmId: Id }).strict(), output: PlotTree },
  'plot.node': {
    input: z.object({ filmId: Id, key: z.string().min(1).max(40) }).strict(),
    output: PlotNode.extend({ rawAnswer: z.string().nullable(), result: z.unknown() }),
  },
  'plot.regenerate': {
    input: z.object({ filmId: Id, key: z.string().min(1).max(40), children: z.boolean().default(false) }).strict(),
    output: Job,
  },
  /** Edits a chapter or subchapter (what the next level expands) before expanding further. */
  'plot.outline.update': {
    input: z.object({
      type: z.enum(['chapter', 'subchapter']),
      id: Id,
      title: z.string().max(500).optional(),
      scene: z.string().max(1000).optional(),
      summary: z.string().max(10_000).optional(),
    }).strict(),
    output: z.object({ type: z.enum(['chapter', 'subchapter']), id: Id, title: z.string(), scene: z.string(), summary: z.string() }),
  },
  'plot.framePrompt': {
    input: z.object({ frameId: Id }).strict(),
    output: z.object({ frameId: Id, prompt: z.string() }),
  },
} as const;
