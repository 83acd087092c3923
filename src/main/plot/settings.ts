import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { z } from 'zod';
import { PlotProviderOverrides, PlotProviderSettings, PlotStructuredMode } from '../../shared/api/methods-plot';
import { AppError } from '../../shared/errors';
import { configDir } from '../util/app-dirs';
import { writeFileAtomic } from '../util/atomic-write';

/**
 * LLM provider settings: installation-wide in a JSON file in the user's config folder, overridable
 * per project (plot_setting row 'provider'), then per run (CLI flags, environment). The API key is
 * never part of these settings; see secret-store.ts.
 */

export const StructuredMode = PlotStructuredMode;
export type StructuredMode = z.infer<typeof StructuredMode>;
export const ProviderSettings = PlotProviderSettings;
export type ProviderSettings = z.infer<typeof ProviderSettings>;
export const ProviderOverrides = PlotProviderOverrides;
export type ProviderOverrides = z.infer<typeof ProviderOverrides>;

export const DEFAULT_PROVIDER: ProviderSettings = {
  baseUrl: 'http://127.0.0.1:11434/v1',
  model: 'llama3.1',
  temperature: 0.8,
  maxConcurrency: 4,
  timeoutMs: 300_000,
  retries: 4,
  reasks: 2,
  retryBaseMs: 1000,
  structuredOutput: 'json_schema',
  apiKeyEnv: 'OPENAI_API_KEY',
};

/** The per-user config folder lives in util/app-dirs.ts (DREAMFRAME_CONFIG_DIR overrides, e.g. in tests). */
export { configDir } from '../util/app-dirs';

export function installationSettingsFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'llm-provider.json');
}

function parseOverrides(value: unknown, where: string): ProviderOverrides {
  const parsed = ProviderOverrides.strip().safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('plot.settings_invalid',
      `${where}: ${issue.path.join('.') || '(root)'}: ${issue.message}`, { where, path: issue.path });
  }
  return parsed.data;
}

export function readInstallationSettings(env: NodeJS.ProcessEnv = process.env): ProviderOverrides {
  const file = installationSettingsFile(env);
  if (!existsSync(file)) return {};
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AppError('plot.settings_invalid', `${file}: not valid JSON (${(err as Error).message})`, { file });
  }
  return parseOverrides(json, file);
}

export function writeInstallationSettings(values: ProviderOverrides, env: NodeJS.ProcessEnv = process.env): void {
  const clean = parseOverrides(values, 'installation settings');
  writeFileAtomic(installationSettingsFile(env), `${JSON.stringify(clean, null, 2)}\n`);
}

export function readProjectSetting<T>(db: Database.Database, key: string): T | null {
  const row = db.prepare<unknown[], { value_json: string }>('SELECT value_json FROM plot_setting WHERE key = ?').get(key);
  return row ? (JSON.parse(row.value_json) as T) : null;
}

export function writeProjectSetting(db: Database.Database, key: string, value: unknown): void {
  if (value === null) db.prepare('DELETE FROM plot_setting WHERE key = ?').run(key);
  else db.prepare(`INSERT INTO plot_setting (key, value_json) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET value_json = excluded.value_json`).run(key, JSON.stringify(value));
}

export function readProjectProvider(db: Database.Database): ProviderOverrides {
  return parseOverrides(readProjectSetting(db, 'provider') ?? {}, 'project setting "provider"');
}

export function writeProjectProvider(db: Database.Database, values: ProviderOverrides): void {
  writeProjectSetting(db, 'provider', parseOverrides(values, 'project settings'));
}

/** Drops undefined entries so a partial layer never blanks a lower one. */
function defined(o: ProviderOverrides): ProviderOverrides {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as ProviderOverrides;
}

/** defaults < installation file < project < run overrides (flags, environment). */
export function resolveProvider(db: Database.Database | null, runOverrides: ProviderOverrides = {},
  env: NodeJS.ProcessEnv = process.env): ProviderSettings {
  const merged = {
    ...DEFAULT_PROVIDER,
    ...defined(readInstallationSettings(env)),
    ...(db ? defined(readProjectProvider(db)) : {}),
    ...defined(runOverrides),
  };
  return ProviderSettings.parse(merged);
}
