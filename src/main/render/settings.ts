import type Database from 'better-sqlite3';
import { RenderSettings } from '../../shared/api/methods-render';
import { AppError } from '../../shared/errors';

/** Per-film render settings, stored as JSON in render_settings; missing fields take the release defaults. */

export function getRenderSettings(db: Database.Database, filmId: number): RenderSettings {
  if (!db.prepare('SELECT 1 FROM film WHERE id = ?').get(filmId)) {
    throw new AppError('not_found', `No film with id ${filmId}`, { filmId });
  }
  const row = db.prepare('SELECT settings_json FROM render_settings WHERE film_id = ?').get(filmId) as
    { settings_json: string } | undefined;
  const parsed = RenderSettings.safeParse(row ? JSON.parse(row.settings_json) : {});
  // Settings written by another build that no longer validate fall back to the defaults field by field.
  if (parsed.success) return parsed.data;
  const raw = JSON.parse(row!.settings_json) as Record<string, unknown>;
  const clean: Record<string, unknown> = {};
  const defaults = RenderSettings.parse({});
  for (const key of Object.keys(defaults)) {
    const one = RenderSettings.safeParse({ [key]: raw[key] });
    if (one.success) clean[key] = raw[key];
  }
  return RenderSettings.parse(clean);
}

export function setRenderSettings(db: Database.Database, filmId: number, patch: Partial<RenderSettings>): RenderSettings {
  const given = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  const next = RenderSettings.parse({ ...getRenderSettings(db, filmId), ...given });
  db.prepare(`INSERT INTO render_settings (film_id, settings_json) VALUES (?, ?)
    ON CONFLICT (film_id) DO UPDATE SET settings_json = excluded.settings_json,
      updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`).run(filmId, JSON.stringify(next));
  return next;
}
