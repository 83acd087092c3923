import type Database from 'better-sqlite3';
import { RenderSettings, type RenderSettingsPatch, type RenderSettingsView } from '../../shared/api/methods-render';
import { AppError } from '../../shared/errors';
import { mutate } from '../db/mutation';
import { resolveRenderSize } from './render-size';

/**
 * Per-film render settings, stored as JSON in render_settings; missing fields take the defaults. Rows carry
 * `format: 2` since width/height may be unset (= the model's native size). Older rows always held a size:
 * 1024×1024 there was the release's SDXL default written for every film, so it reads as unset; any other
 * stored size was chosen and stays.
 */

const FORMAT = 2;
const LEGACY_DEFAULT_SIZE = 1024;

function storedFields(json: string): Record<string, unknown> {
  const { format, ...fields } = JSON.parse(json) as Record<string, unknown>;
  if (format === undefined && fields.width === LEGACY_DEFAULT_SIZE && fields.height === LEGACY_DEFAULT_SIZE) {
    fields.width = null;
    fields.height = null;
  }
  return fields;
}

export function getRenderSettings(db: Database.Database, filmId: number): RenderSettings {
  if (!db.prepare('SELECT 1 FROM film WHERE id = ?').get(filmId)) {
    throw new AppError('not_found', `No film with id ${filmId}`, { filmId });
  }
  const row = db.prepare<unknown[], { settings_json: string }>('SELECT settings_json FROM render_settings WHERE film_id = ?').get(filmId);
  const raw = row ? storedFields(row.settings_json) : {};
  const parsed = RenderSettings.safeParse(raw);
  // Settings written by another build that no longer validate fall back to the defaults field by field.
  if (parsed.success) return parsed.data;
  const clean: Record<string, unknown> = {};
  const defaults = RenderSettings.parse({});
  for (const key of Object.keys(defaults)) {
    const one = RenderSettings.safeParse({ [key]: raw[key] });
    if (one.success) clean[key] = raw[key];
  }
  return RenderSettings.parse(clean);
}

/** Applies the fields the patch names (null width/height: back to the model's size). */
export function setRenderSettings(db: Database.Database, filmId: number, patch: RenderSettingsPatch): RenderSettings {
  const given = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  const next = RenderSettings.parse({ ...getRenderSettings(db, filmId), ...given });
  return mutate(db, (m) => {
    db.prepare(`INSERT INTO render_settings (film_id, settings_json) VALUES (?, ?)
      ON CONFLICT (film_id) DO UPDATE SET settings_json = excluded.settings_json,
        updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`).run(filmId, JSON.stringify({ format: FORMAT, ...next }));
    m.touch(filmId, { type: 'film', ids: [filmId] });
    return next;
  });
}

/** The model folders films render with, the most recently chosen first (films without one left out). */
export function recentRenderModels(db: Database.Database): string[] {
  return db.prepare<unknown[], { model: string | null }>(`SELECT json_extract(settings_json, '$.model') AS model FROM render_settings
    ORDER BY updated_at DESC`).all().flatMap((r) => (r.model ? [r.model] : []));
}

/** The settings with the size a render would use now and where each value comes from (render.getSettings). */
export function renderSettingsView(settings: RenderSettings): RenderSettingsView {
  return { ...settings, resolved: resolveRenderSize(settings) };
}
